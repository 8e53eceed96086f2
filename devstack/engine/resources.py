"""Containers, networks and volumes found by label across compose projects, and removed.

`devstack test` labels everything of a throw-away copy of a stack (devstack.testrun) and
finds a copy left by a killed devstack through these labels. The list reads the engine's
API on a local socket (no process started: `devstack down` pays for it on every run), else
the docker CLI; removal runs the docker CLI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from devstack.engine import api, runner
from devstack.engine.command import CLI, Cli
from devstack.engine.translate import translated

KINDS = ("container", "network", "volume")  # the order they are removed in
PROJECT = "com.docker.compose.project"


@dataclass(frozen=True)
class Resource:
    kind: str  # "container", "network" or "volume"
    id: str  # a volume's name
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return self.labels.get(PROJECT, "")


def labelled(label: str, *, cli: Cli = CLI) -> list[Resource]:
    """Every container, network and volume carrying `label` ("key" or "key=value")."""
    with api.local() as client:
        if client:
            return _from_socket(client, label)
    return _from_cli(label, cli)


def _from_socket(client: api.Api, label: str) -> list[Resource]:
    filters = json.dumps({"label": [label]})
    found: list[Resource] = []
    containers = json.loads(client.get("ps", "/containers/json", {"all": "1", "filters": filters}))
    found += [Resource("container", str(c["Id"]), _labels(c)) for c in containers]
    networks = json.loads(client.get("network ls", "/networks", {"filters": filters}))
    found += [Resource("network", str(n["Id"]), _labels(n)) for n in networks]
    volumes = json.loads(client.get("volume ls", "/volumes", {"filters": filters}))
    found += [Resource("volume", str(v["Name"]), _labels(v)) for v in volumes.get("Volumes") or []]
    return found


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    raw = obj.get("Labels") or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _from_cli(label: str, cli: Cli) -> list[Resource]:
    """The same through the docker CLI: the three lists side by side (each a round trip
    to a remote engine), then one inspect per kind found."""
    found: list[Resource] = []
    lists = [cli.docker(k, "ls", "-q", *_LIST_ALL[k], "--filter", f"label={label}") for k in KINDS]
    with translated("ls"):
        listed = runner.run_all(lists)
        for kind, done in zip(KINDS, listed, strict=True):
            if not done.out.split():
                continue
            raw = json.loads(runner.output(cli.docker(kind, "inspect", *done.out.split())))
            for obj in raw:
                labels = obj.get("Labels") if kind != "container" else obj["Config"].get("Labels")
                ident = obj["Name"] if kind == "volume" else obj["Id"]
                found.append(Resource(kind, str(ident), _labels({"Labels": labels})))
    return found


_LIST_ALL = {"container": ["-a", "--no-trunc"], "network": ["--no-trunc"], "volume": []}


def remove(resources: Sequence[Resource], *, cli: Cli = CLI) -> list[str]:
    """Remove `resources` (containers first, with their anonymous volumes; then networks,
    then volumes); what could not be removed, as "kind id: reason". One already gone is
    not a failure."""
    problems: list[str] = []
    for kind in KINDS:
        ids = [r.id for r in resources if r.kind == kind]
        if not ids:
            continue
        args = {"container": ["rm", "-f", "-v"], "network": ["rm"], "volume": ["rm", "-f"]}[kind]
        done = runner.run(cli.docker(kind, *args, *ids))
        for line in done.stderr.decode(errors="replace").splitlines():
            if line.strip() and "no such" not in line.lower() and "not found" not in line.lower():
                problems.append(f"{kind}: {line.strip()}")
    return problems
