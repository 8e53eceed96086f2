"""A project's named volumes and their labels: which checkout created them (stack.py)."""

from __future__ import annotations

import json
import logging

from devstack.engine import api
from devstack.engine.runner import docker
from devstack.errors import ComposeError

log = logging.getLogger(__name__)


def labels(project: str) -> dict[str, dict[str, str]]:
    """The volumes compose labelled with `project`, each with all its labels: from the
    engine's API on a local socket, else two docker calls."""
    label = f"com.docker.compose.project={project}"
    path = api.socket_path()
    if path is not None:
        try:
            return api.Api(path).volume_labels([label])
        except api.Unusable as exc:
            log.debug("engine socket unusable (%s): running docker", exc)
    code, out = docker(["volume", "ls", "-q", "--filter", f"label={label}"], timeout=30)
    _check(code, out, "volume ls")
    if not out.split():
        return {}
    code, out = docker(["volume", "inspect", *out.split()], timeout=30)
    _check(code, out, "volume inspect")
    return {str(v["Name"]): dict(v.get("Labels") or {}) for v in json.loads(out)}


def create(
    name: str, *, labels: dict[str, str], driver: str | None, options: dict[str, str]
) -> None:
    """`docker volume create` (a volume of that name that exists already is left as it is)."""
    args = ["volume", "create", *(["--driver", driver] if driver else [])]
    args += [a for k, v in labels.items() for a in ("--label", f"{k}={v}")]
    args += [a for k, v in options.items() for a in ("--opt", f"{k}={v}")]
    code, out = docker([*args, name], timeout=60)
    _check(code, out, "volume create")


def _check(code: int, out: str, what: str) -> None:
    if code != 0:
        raise ComposeError(f"docker {what} failed (exit {code})", stderr=out, return_code=code)
