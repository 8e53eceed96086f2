"""Keeping secrets out of everything devstack prints."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # the read commands print through this module: no typing, no pathlib
if TYPE_CHECKING:
    from os import PathLike

SECRET_KEY = re.compile(r"PASS|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_KEY|_KEY$", re.IGNORECASE)
MASK = "********"


def read_env_file(path: str | PathLike[str]) -> dict[str, str]:
    """KEY=VALUE lines of a compose .env file (comments and blanks skipped)."""
    values: dict[str, str] = {}
    try:
        with open(path) as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def secret_values(
    project_dir: str | PathLike[str], environ: Mapping[str, str] | None = None
) -> set[str]:
    """Values of secret-looking variables in the environment and the project's .env."""
    env = dict(read_env_file(os.path.join(project_dir, ".env")))
    env.update(environ if environ is not None else os.environ)
    return {v for k, v in env.items() if SECRET_KEY.search(k) and len(v) >= 4}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
