"""The generated development overlay, passed to compose after the user's files.

It bind-mounts the code, runs the reloading server as the host user (as root: as the code
directory's owner, without capabilities when that is root) and binds every published port
to 127.0.0.1 unless the user chose a host address. Nothing else changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from devstack.config import Settings
from devstack.project import Project
from devstack.runtime import Runtime
from devstack.runtime.recipe import Recipe

OVERLAY_NAME = "compose.dev.yaml"
LOOPBACK = "127.0.0.1"


class _Override(list[Any]):
    """A list that replaces, rather than merges with, the user's list (compose `!override`)."""


def _represent_override(dumper: yaml.SafeDumper, data: _Override) -> yaml.Node:
    return dumper.represent_sequence("!override", list(data))


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Override, _represent_override)


def app_user(settings: Settings) -> str:
    """The uid:gid the app runs as: the configured one; else the host user; as root, the
    code directory's owner (so the app can read a tree only its owner can, and what it
    writes there belongs to that owner), which for a root-owned tree is 0:0."""
    if settings.app_user:
        return settings.app_user
    uid = os.getuid()
    if uid != 0:
        return f"{uid}:{os.getgid()}"
    st = settings.code_dir.stat()
    return f"{st.st_uid}:{st.st_gid}"


def is_root(user: str) -> bool:
    return user.split(":", 1)[0] == "0"


def loopback_ports(ports: tuple[Any, ...]) -> list[dict[str, Any]] | None:
    """The ports with 127.0.0.1 as host address where none was set; None when nothing changes."""
    changed = False
    out = []
    for port in ports:
        port = dict(port)
        if not port.get("host_ip"):  # "8000" alone publishes too, on a port the engine picks
            port["host_ip"] = LOOPBACK
            changed = True
        out.append(port)
    return out if changed else None


# On a remote engine the app's command waits until the first sync put the code in place.
SYNC_WAIT = 'while [ ! -e /tmp/.devstack-synced ]; do sleep 0.05; done; exec "$@"'


def render(
    project: Project, settings: Settings, *, runtime: Runtime | None = None, remote: bool = False
) -> dict[str, Any]:
    runtime = runtime or Recipe(settings)
    services: dict[str, Any] = {}
    for name, service in project.services.items():
        ports = loopback_ports(service.ports)
        if ports is not None:
            services.setdefault(name, {})["ports"] = _Override(ports)
    data: dict[str, Any] = {"services": services}
    for name in sorted(project.oneshots):  # waited on until it exits: no health check
        services.setdefault(name, {})["healthcheck"] = {"disable": True}
    if project.app:
        _app(services.setdefault(project.app, {}), settings, runtime, remote=remote)
    if settings.ca_bundle:
        from devstack import certs

        certs.apply(data, project, settings)
    return data


def _app(app: dict[str, Any], settings: Settings, runtime: Runtime, *, remote: bool) -> None:
    """The app's part: the code mounted (or synced) where the runtime keeps it, the
    runtime's command, the host user."""
    entrypoint, command = runtime.entrypoint(), runtime.command()
    if remote:  # the engine's host lacks the code: it is synced (devstack.sync), never mounted
        wait = ["/bin/sh", "-c", SYNC_WAIT, "devstack-sync"]
        if entrypoint is not None:
            app["entrypoint"], app["command"] = [*wait, *entrypoint], command or []
        elif command is not None:
            app["command"] = [*wait, *command]
    else:
        where = runtime.placement
        code = {"type": "bind", "source": str(where.source), "target": where.target}
        mounts = [code, *(m.as_volume() for m in runtime.mounts())]
        kept = runtime.kept_volumes()
        app["volumes"] = mounts if kept is None else _Override([*kept, *mounts])
        if entrypoint is not None:
            app["entrypoint"] = entrypoint
        if command is not None:
            app["command"] = command
    user = app_user(settings)
    app["user"] = user
    if is_root(user):  # uid 0 for file ownership only: no capability, no way to gain one
        app["cap_drop"] = ["ALL"]
        app["security_opt"] = ["no-new-privileges:true"]


def write(
    project: Project, settings: Settings, *, runtime: Runtime | None = None, remote: bool = False
) -> Path:
    """Write the overlay under .devstack/ (kept out of git) and return its path."""
    state = settings.state_dir
    if not state.exists():
        state.mkdir(mode=0o700)  # private whatever the umask: it caches resolved secrets
        if os.getuid() == 0:  # as root in someone's project: theirs, like the project
            st = settings.project_dir.stat()
            os.chown(state, st.st_uid, st.st_gid)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# devstack's generated files\n*\n")
    path = state / OVERLAY_NAME
    text = "# Generated by devstack: the development layer over your compose files.\n"
    text += yaml.dump(
        render(project, settings, runtime=runtime, remote=remote), Dumper=_Dumper, sort_keys=False
    )
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
