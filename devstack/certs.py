"""Extra CA certificates (`ca_bundle`): a secret for builds, appended to every container's CAs.

How the CAs are appended, not substituted:

- Builds. Every service devstack builds gets the BuildKit secret `ca_bundle`
  (`services.X.build.secrets` plus the top-level `secrets.ca_bundle.file`). A secret is
  mounted only into the RUN step that asks for it (`RUN --mount=type=secret,id=ca_bundle`,
  at /run/secrets/ca_bundle) and never lands in a layer; the recipe concatenates it with
  the image's CAs for that step. Compose cannot set a RUN step's environment without the
  Dockerfile's help, so the secret is the whole build-time contract.
- Running services. Every service gets two read-only files under /run/devstack/:
  `extra-ca.pem`, the bundle as given, and `ca-bundle.pem`, the service image's own CA
  bundle followed by the extra CAs. The variables that pip, uv, requests, httpx, curl and
  OpenSSL read point at the combined file (Node appends by itself, so NODE_EXTRA_CA_CERTS
  points at the extra one). No entrypoint or shell is needed in the image.
- The image's own bundle is copied out of the image once (`docker create` + `docker cp`,
  nothing runs) and cached by image id in .devstack/ca/. The combined file of a service,
  .devstack/ca/SERVICE.pem, is rewritten in place when it changes, so a running container
  sees the update through its bind mount. When the image is not there yet (`up --build`
  writes the overlay before building), the host's system bundle stands in for the image's:
  both hold the public roots; the next devstack command puts the image's own in.
  Resolving the images costs one `docker compose config` per command, only with ca_bundle.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devstack import engine
from devstack.config import Settings
from devstack.project import Project

SECRET_ID = "ca_bundle"
EXTRA_PATH = "/run/devstack/extra-ca.pem"
COMBINED_PATH = "/run/devstack/ca-bundle.pem"
ENVIRONMENT = {
    "SSL_CERT_FILE": COMBINED_PATH,  # OpenSSL, Python's ssl, httpx, uv (native TLS)
    "REQUESTS_CA_BUNDLE": COMBINED_PATH,
    "CURL_CA_BUNDLE": COMBINED_PATH,
    "PIP_CERT": COMBINED_PATH,
    "GIT_SSL_CAINFO": COMBINED_PATH,
    "UV_NATIVE_TLS": "true",
    "NODE_EXTRA_CA_CERTS": EXTRA_PATH,
}
# Where images and hosts keep their CA bundle: Debian/Ubuntu/Alpine, RHEL/Fedora, others.
IMAGE_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
)
HOST_BUNDLES = IMAGE_BUNDLES[:3]
_CERT_ERRORS = (
    "certificate_verify_failed",
    "certificate verify failed",
    "ssl: certificate",
    "x509: certificate signed by unknown authority",
)


def host_bundle(environ: Mapping[str, str] | None = None) -> Path | None:
    """The host's CA bundle: SSL_CERT_FILE when set, else the first system bundle found."""
    environ = os.environ if environ is None else environ
    candidates = [environ["SSL_CERT_FILE"]] if environ.get("SSL_CERT_FILE") else []
    for candidate in (*candidates, *HOST_BUNDLES):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


# ---- the overlay -----------------------------------------------------------------------


def apply(data: dict[str, Any], project: Project, settings: Settings) -> None:
    """Add the build secret, the mounts and the environment for `settings.ca_bundle`."""
    extra = settings.ca_bundle
    if extra is None:
        return
    combined = combined_bundles(project, settings)
    services = data.setdefault("services", {})
    for name, service in project.services.items():
        spec = services.setdefault(name, {})
        if service.builds:
            spec.setdefault("build", {})["secrets"] = [SECRET_ID]
        spec.setdefault("volumes", []).extend(
            [
                {"type": "bind", "source": str(extra), "target": EXTRA_PATH, "read_only": True},
                {
                    "type": "bind",
                    "source": str(combined[name]),
                    "target": COMBINED_PATH,
                    "read_only": True,
                },
            ]
        )
        spec.setdefault("environment", {}).update(ENVIRONMENT)
    if any(s.builds for s in project.services.values()):
        data.setdefault("secrets", {})[SECRET_ID] = {"file": str(extra)}


def combined_bundles(project: Project, settings: Settings) -> dict[str, Path]:
    """.devstack/ca/SERVICE.pem for every service: its image's CAs, then the extra ones."""
    assert settings.ca_bundle is not None
    extra = settings.ca_bundle.read_bytes()
    folder = settings.state_dir / "ca"
    folder.mkdir(parents=True, exist_ok=True)
    images = service_images(project)
    ids = engine.image_ids(sorted(set(images.values())))
    fallback = host_bundle()
    out: dict[str, Path] = {}
    for name in project.services:
        own = image_bundle(ids.get(images.get(name, "")), images.get(name, ""), folder)
        if own is None:
            own = fallback.read_bytes() if fallback else b""
        text = own.rstrip(b"\n") + b"\n# extra CAs from devstack's ca_bundle\n" + extra
        path = folder / f"{name}.pem"
        if not path.exists() or path.read_bytes() != text:
            with path.open("r+b" if path.exists() else "wb") as fh:  # same inode: mounts see it
                fh.write(text)
                fh.truncate()
        out[name] = path
    return out


def service_images(project: Project) -> dict[str, str]:
    """The image each service runs: its `image:`, else the name compose gives a build."""
    return {name: svc.image or f"{project.name}-{name}" for name, svc in project.services.items()}


def image_bundle(image_id: str | None, image: str, folder: Path) -> bytes | None:
    """The image's own CA bundle, cached by image id; None when the image is not local."""
    if not image_id:
        return None
    cache = folder / f"image-{hashlib.sha256(image_id.encode()).hexdigest()[:16]}.pem"
    if cache.exists():
        return cache.read_bytes()
    found = engine.read_image_file(image, IMAGE_BUNDLES)
    data = found[1] if found else b""  # an image without CAs trusts only the extra ones
    cache.write_bytes(data)
    return data


# ---- build errors ------------------------------------------------------------------------


def is_certificate_error(text: str) -> bool:
    low = text.lower()
    return any(marker in low for marker in _CERT_ERRORS)


def build_hint(stderr: str, command: Sequence[str]) -> str | None:
    """A hint for a build that failed on an untrusted certificate; None for other failures."""
    if not is_certificate_error(stderr):
        return None
    if _passes_secret(command):
        return (
            f"a TLS certificate was not trusted although ca_bundle is set: the Dockerfile's "
            f"download step must use `RUN --mount=type=secret,id={SECRET_ID}` and append "
            f"/run/secrets/{SECRET_ID} to the image's CAs (e.g. PIP_CERT to the combined file)"
        )
    found = host_bundle()
    where = f' = "{found}"' if found else ' = "/path/to/ca-bundle.pem"'
    return (
        "a TLS certificate was not trusted during the build (a TLS-intercepting proxy?): "
        f"set ca_bundle{where} in [tool.devstack] (or DEVSTACK_CA_BUNDLE) to pass your "
        "CAs to builds and containers" + (f"; {found} is this host's CA bundle" if found else "")
    )


def _passes_secret(command: Sequence[str]) -> bool:
    """Whether one of the compose files in `command` passes the ca_bundle build secret."""
    for arg in command:
        if arg.endswith((".yaml", ".yml")) and Path(arg).is_file():
            try:
                text = Path(arg).read_text()
            except OSError:
                continue
            if f"- {SECRET_ID}" in text and "secrets:" in text:
                return True
    return False
