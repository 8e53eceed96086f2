"""Known causes behind a failure's evidence, named with the ways out (a table, one place).

A database initialises its users and passwords once, into its data volume; when the
password in `.env` changes afterwards, the server keeps the old one and refuses the new.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.errors import ComposeError, DevstackError, ImageUnavailable

if TYPE_CHECKING:
    from devstack.stack import Stack


@dataclass(frozen=True)
class Cause:
    markers: tuple[str, ...]  # any of these, case-insensitive, in the evidence
    what: str
    hint: str


_STALE_PASSWORD_HINT = (
    "the data volume keeps the password it was created with: either restore the old "
    "password in .env, or run `devstack down -v` then `devstack up`, which DELETES the "
    "database's data (its volumes) and initialises it again with the new password"
)

CAUSES = (
    Cause(
        ("password authentication failed for user",),
        "PostgreSQL refused the password (password authentication failed): its data volume "
        "was initialised with another password (.env changed since?)",
        _STALE_PASSWORD_HINT,
    ),
    Cause(
        ("access denied for user",),
        "MySQL/MariaDB refused the password (access denied): its data volume was "
        "initialised with another password (.env changed since?)",
        _STALE_PASSWORD_HINT,
    ),
    Cause(
        ("authentication failed", "mongo"),
        "MongoDB refused the credentials (authentication failed): its data volume was "
        "initialised with another root password (.env changed since?)",
        _STALE_PASSWORD_HINT,
    ),
)


def cause_of(evidence: str) -> Cause | None:
    low = evidence.lower()
    for cause in CAUSES:
        if cause.markers[0] in low and all(m in low for m in cause.markers[1:]):
            return cause
    return None


def build_hint(exc: ComposeError) -> str | None:
    """For a failed build: an untrusted certificate (ca_bundle), or the installer's own
    message about the app's dependencies; None for other failures."""
    # Imported only when a build failed: keeps every command's start-up light.
    from devstack import certs
    from devstack.init import dependencies

    text = f"{exc.stderr}\n{exc.output}"
    return certs.build_hint(text, exc.command) or dependencies.build_hint(text)


def explained(exc: DevstackError, more_evidence: str = "") -> DevstackError:
    """`exc` with a known cause named in its message and its ways out as the hint."""
    if isinstance(exc, ComposeError) and not exc.hint:
        exc.hint = build_hint(exc)
    cause = cause_of("\n".join((exc.message, exc.details, more_evidence)))
    if cause and cause.what not in exc.message:
        exc.message = f"{exc.message}: {cause.what}"
        exc.hint = cause.hint
        exc.args = (exc.message,)
    return exc


def named_builds(exc: DevstackError, stack: Stack) -> DevstackError:
    """A build's base image that cannot be pulled, named with the Dockerfile that needs it
    and every service built from that Dockerfile (compose says only "a build's base image")."""
    if not isinstance(exc, ImageUnavailable) or "(a build's base image)" not in exc.message:
        return exc
    # Imported only on this failure: the Dockerfile reader and the resolved model.
    from devstack.engine.pulls import normalized
    from devstack.runtime import dockerfile
    from devstack.runtime.placement import Build

    try:
        services = stack.engine.config().get("services") or {}
    except DevstackError:
        return exc
    users: dict[Path, list[str]] = {}
    for name, spec in services.items():
        build = Build.of(spec, stack.settings.project_dir)
        if build.dockerfile is None:
            continue
        args = (spec.get("build") or {}).get("args") or {}
        parsed = dockerfile.parse(build.dockerfile, {k: str(v) for k, v in dict(args).items()})
        if parsed and any(normalized(b) == normalized(exc.image) for b in parsed.bases):
            users.setdefault(build.dockerfile, []).append(name)
    if not users:
        return exc
    where = "; ".join(
        f"{_rel(path, stack.settings.project_dir)}, built for {', '.join(sorted(names))}"
        for path, names in users.items()
    )
    exc.message = exc.message.replace("a build's base image", f"the base image of {where}")
    exc.args = (exc.message,)
    return exc


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
