"""An image that cannot be pulled: which one, from which registry, why, and what to do (pure).

Told apart from an engine that does not answer: a pull failure comes back from the daemon
("Error response from daemon", or a build's "failed to resolve source metadata"), and names
the registry it tried to reach.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from devstack.errors import ImageUnavailable

# Why a registry could not be reached, as Go's resolver and dialer say it.
_UNREACHABLE = {
    "no such host": "its name does not resolve (DNS; offline?)",
    "server misbehaving": "its name does not resolve (DNS; offline?)",
    "temporary failure in name resolution": "its name does not resolve (DNS; offline?)",
    "i/o timeout": "it does not answer (timeout; offline or a firewall?)",
    "tls handshake timeout": "it does not answer (TLS handshake timeout)",
    "network is unreachable": "the network is unreachable (offline?)",
    "connection refused": "it refused the connection",
    "proxyconnect": "the HTTP(S) proxy refused or failed",
}
_FROM_DAEMON = ("error response from daemon", " error ", "failed to solve")
_MISSING = (
    "pull access denied",
    "manifest unknown",
    "not found: manifest unknown",
    "repository does not exist",
)
_REGISTRY = re.compile(r"https?://(?P<host>[^/\"\s]+)/v2/")
_RESOLVE = re.compile(
    r"(?:failed to resolve source metadata|load metadata) for (?P<image>[^\s:]+(?::[\w.-]+)?)"
)
_MANIFEST = re.compile(
    r"https?://(?P<host>[^/\"\s]+)/v2/(?P<repo>[^\"\s]+)/manifests/(?P<tag>[^\"\s/]+)"
)
_PULL_FOR = re.compile(r"(?:pull access denied for|manifest for) (?P<image>[^\s,]+)")
_SERVICE_LINE = re.compile(r"^\s*(?P<service>[\w.-]+) (?:Error|Pulling)\b")
DOCKER_HUB = "registry-1.docker.io"


@dataclass(frozen=True)
class PullFailure:
    registry: str
    reason: str
    image: str  # "" when the error does not name it (compose names the service instead)
    service: str
    in_build: bool  # a build's base image (FROM), not a service's image


def parse(text: str) -> PullFailure | None:
    """The pull failure `text` (stderr plus streamed output) reports, if any."""
    low = text.lower()
    from_daemon = any(s in low for s in _FROM_DAEMON)
    resolve = _RESOLVE.search(text)
    if not (from_daemon or resolve):
        return None
    if "error during connect" in low or "cannot connect to the docker daemon" in low:
        return None  # the engine itself does not answer
    reason = next((why for s, why in _UNREACHABLE.items() if s in low), "")
    if not reason and any(s in low for s in _MISSING):
        reason = "it has no such image, or it needs a `docker login`"
    if not reason:
        return None
    registry = _REGISTRY.search(text)
    named = resolve or _PULL_FOR.search(text)
    image = named["image"] if named else ""
    manifest = _MANIFEST.search(text)
    if not image and manifest:
        repo = manifest["repo"].removeprefix("library/")
        prefix = "" if manifest["host"] == DOCKER_HUB else manifest["host"] + "/"
        image = f"{prefix}{repo}:{manifest['tag']}"
    image = image.removeprefix("docker.io/library/").removeprefix("docker.io/")
    service = ""
    for line in text.splitlines():
        m = _SERVICE_LINE.match(line)
        if m and " Error" in line:
            service = m["service"]
    return PullFailure(
        registry=registry["host"] if registry else registry_of(image) if image else "",
        reason=reason,
        image=image,
        service=service,
        in_build=bool(resolve) or "failed to solve" in low,
    )


def registry_of(image: str) -> str:
    """The registry host of an image reference (Docker Hub for a bare name)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def error(
    failure: PullFailure,
    *,
    image: str = "",
    variable: str = "",
    local: Sequence[str] = (),
    details: str = "",
) -> ImageUnavailable:
    """The user-facing error: the image, the registry, why, and the ways out."""
    image = image or failure.image or "an image"
    registry = failure.registry or registry_of(image)
    where = "Docker Hub" if registry == DOCKER_HUB else registry
    of = f" (service {failure.service})" if failure.service else ""
    of = " (a build's base image)" if failure.in_build else of
    ways = []
    if variable:
        ways.append(f"set {variable} to an image this machine has (`docker image ls`)")
    elif failure.in_build:
        ways.append("point the Dockerfile's FROM (or its build argument) at a local image")
    else:
        ways.append("build or load the image locally (`docker image ls` lists what is here)")
    if local:
        ways.append("local images of that name: " + ", ".join(sorted(local)))
    ways.append(f"or restore the network path to {where} (DNS, proxy, `docker login`)")
    return ImageUnavailable(
        f"cannot pull {image}{of} from {where}: {failure.reason}",
        image=image,
        registry=registry,
        service=failure.service,
        hint="; ".join(ways),
        details=details,
    )


_VARIABLE = re.compile(r"\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


def normalized(image: str) -> str:
    """`docker.io/library/postgres` and `postgres:latest` are the same image."""
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if image.startswith(prefix):
            image = image[len(prefix) :]
            break
    return image if ":" in image.rsplit("/", 1)[-1] or "@" in image else f"{image}:latest"


def image_variable(
    raw_files: Sequence[Mapping[str, object]], resolved: Mapping[str, object], failure: PullFailure
) -> tuple[str, str]:
    """(image, variable): the failing image as compose resolved it and the environment
    variable that sets it in the user's compose files ("" when a literal picks it)."""
    services = resolved.get("services")
    services = services if isinstance(services, Mapping) else {}
    if failure.service and not failure.in_build:
        spec = services.get(failure.service)
        image = str(spec.get("image", "")) if isinstance(spec, Mapping) else ""
        for raw in _raw_services(raw_files, failure.service):
            m = _VARIABLE.search(str(raw.get("image", "")))
            if m:
                return image, m["name"]
        return image, ""
    if failure.in_build and failure.image:
        want = normalized(failure.image)
        for name, spec in services.items():
            args = (spec.get("build") or {}) if isinstance(spec, Mapping) else {}
            args = args.get("args") or {} if isinstance(args, Mapping) else {}
            for key, value in args.items() if isinstance(args, Mapping) else ():
                if isinstance(value, str) and value and normalized(value) == want:
                    for raw in _raw_services(raw_files, str(name)):
                        build = raw.get("build")
                        raw_args = build.get("args") if isinstance(build, Mapping) else None
                        text = _arg_text(raw_args, str(key))
                        m = _VARIABLE.search(text)
                        if m:
                            return failure.image, m["name"]
    return failure.image, ""


def _raw_services(
    raw_files: Sequence[Mapping[str, object]], name: str
) -> list[Mapping[str, object]]:
    out = []
    for data in raw_files:
        services = data.get("services")
        spec = services.get(name) if isinstance(services, Mapping) else None
        if isinstance(spec, Mapping):
            out.append(spec)
    return out


def _arg_text(args: object, key: str) -> str:
    if isinstance(args, Mapping):
        return str(args.get(key, ""))
    if isinstance(args, list):
        return next((str(a) for a in args if str(a).startswith(f"{key}=")), "")
    return ""
