"""Running the docker CLI: one place for every docker process."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)


def docker(
    args: Sequence[str],
    *,
    timeout: float,
    binary: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """Run `docker ARGS` directly: (exit code, stdout + stderr); 127 when docker is missing.
    `env` is added to the docker client's environment (never to its argv)."""
    cmd = ["docker", *args]
    log.debug("%s", shlex.join(cmd))
    full_env = {**os.environ, **env} if env else None
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, env=full_env)
    except FileNotFoundError:
        return 127, b"" if binary else "the docker command is not installed"
    except subprocess.TimeoutExpired:
        return 124, b"" if binary else f"timed out after {timeout:.0f}s"
    if binary:
        return done.returncode, done.stdout
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace").strip()
