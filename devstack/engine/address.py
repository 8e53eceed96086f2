"""The engine's address as the docker CLI resolves it: the one answer to "which engine?".

`DOCKER_HOST` when set, else the current context's endpoint (`DOCKER_CONTEXT`, else
`currentContext` in the CLI's config.json; `docker context inspect` for one other than
the default). `delivery.location` decides from it whether the engine sees this machine's
files; `api` reads the engine's socket when it is a unix one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from devstack.errors import DevstackError

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Address:
    host: str  # e.g. unix:///var/run/docker.sock, ssh://user@box, tcp://10.0.0.5:2376
    source: str  # where it came from: "DOCKER_HOST", "context NAME" or "default"

    @property
    def socket(self) -> str | None:
        """The unix socket's path, for a unix:// address; None otherwise."""
        parts = urlsplit(self.host)
        return parts.path if parts.scheme == "unix" and parts.path else None


def current_context(environ: Mapping[str, str]) -> str:
    """The docker CLI's current context: DOCKER_CONTEXT, else config.json's currentContext."""
    if environ.get("DOCKER_CONTEXT"):
        return environ["DOCKER_CONTEXT"]
    config_dir = Path(environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        data = json.loads((config_dir / "config.json").read_text())
    except (OSError, ValueError):
        return "default"
    name = data.get("currentContext") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else "default"


@lru_cache(maxsize=8)
def _context_host(name: str, config_dir: str) -> str:
    """A context's engine address ("" when it cannot be read); one docker call per context
    and process (`config_dir` keys the cache: the CLI reads contexts from there)."""
    from devstack.engine import runner  # here: only a context other than the default runs one
    from devstack.engine.command import CLI

    cmd = CLI.docker("context", "inspect", name, "--format", "{{.Endpoints.docker.Host}}")
    try:
        done = runner.run(
            cmd, timeout=10, env={"DOCKER_CONFIG": config_dir} if config_dir else None
        )
    except DevstackError:
        return ""
    return done.out.strip() if done.code == 0 else ""


def resolve(environ: Mapping[str, str] | None = None) -> Address:
    """The engine's address, as the docker CLI would pick it (no engine call)."""
    env = os.environ if environ is None else environ
    if env.get("DOCKER_HOST"):
        return Address(env["DOCKER_HOST"], "DOCKER_HOST")
    name = current_context(env)
    if name == "default":
        return Address(DEFAULT_HOST, "default")
    # a context that cannot be read: "" (the docker CLI reports it when it runs)
    return Address(_context_host(name, env.get("DOCKER_CONFIG", "")), f"context {name}")
