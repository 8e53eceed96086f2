"""A project's named volumes and their labels: which checkout created them (stack.py)."""

from __future__ import annotations

import json

from devstack.engine import api, runner
from devstack.engine.command import CLI, Cli
from devstack.engine.translate import translated


def labels(project: str, *, cli: Cli = CLI) -> dict[str, dict[str, str]]:
    """The volumes compose labelled with `project`, each with all its labels: from the
    engine's API on a local socket, else two docker calls."""
    label = f"com.docker.compose.project={project}"
    with api.local() as client:
        if client:
            return client.volume_labels([label])
    with translated("volume ls"):
        names = runner.output(cli.docker("volume", "ls", "-q", "--filter", f"label={label}"))
        if not names.split():
            return {}
        found = json.loads(runner.output(cli.docker("volume", "inspect", *names.split())))
    return {str(v["Name"]): dict(v.get("Labels") or {}) for v in found}


def create(
    name: str,
    *,
    labels: dict[str, str],
    driver: str | None,
    options: dict[str, str],
    cli: Cli = CLI,
) -> None:
    """`docker volume create` (a volume of that name that exists already is left as it is)."""
    args = ["volume", "create", *(["--driver", driver] if driver else [])]
    args += [a for k, v in labels.items() for a in ("--label", f"{k}={v}")]
    args += [a for k, v in options.items() for a in ("--opt", f"{k}={v}")]
    with translated("volume create"):
        runner.output(cli.docker(*args, name), timeout=60)
