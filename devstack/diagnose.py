"""Known causes behind a failure's evidence, named with the ways out (a table, one place).

A database initialises its users and passwords once, into its data volume; when the
password in `.env` changes afterwards, the server keeps the old one and refuses the new.
"""

from __future__ import annotations

from dataclasses import dataclass

from devstack.errors import ComposeError, DevstackError


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
