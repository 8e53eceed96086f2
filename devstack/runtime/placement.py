"""Where the app's code is on the host and where the app's image keeps it, read from the
compose model (first found wins, as the table says) and the Dockerfile."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.config import Settings
from devstack.runtime import dockerfile
from devstack.runtime.dockerfile import Dockerfile

DEFAULT_TARGET = "/app"


@dataclass(frozen=True)
class Placement:
    source: Path  # the code on the host
    target: str  # where the image keeps it
    found_by: str  # what said so: "develop.watch sync rule", "code_path", ...
    workdir: str  # where the app's command runs in the container
    ignore: tuple[str, ...] = ()  # the sync rule's `ignore` patterns (for a code sync)


@dataclass(frozen=True)
class Build:
    """The app service's build, as compose resolved it (absolute context)."""

    context: Path | None
    dockerfile: Path | None
    parsed: Dockerfile | None

    @classmethod
    def of(cls, spec: Mapping[str, Any], project_dir: Path) -> Build:
        build = spec.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if not isinstance(build, Mapping):
            return cls(None, None, None)
        context = Path(str(build.get("context") or "."))
        context = context if context.is_absolute() else project_dir / context
        name = str(build.get("dockerfile") or "Dockerfile")
        path = Path(name) if Path(name).is_absolute() else context / name
        return cls(context, path, dockerfile.parse(path))


def watch_rules(spec: Mapping[str, Any], action: str) -> list[Mapping[str, Any]]:
    develop = spec.get("develop")
    rules = develop.get("watch") if isinstance(develop, Mapping) else None
    if not isinstance(rules, list):
        return []
    return [r for r in rules if isinstance(r, Mapping) and str(r.get("action", "")) == action]


def _abs(path: str, project_dir: Path) -> Path:
    p = Path(path)
    return (p if p.is_absolute() else project_dir / p).resolve()


def bind_mounts(spec: Mapping[str, Any], project_dir: Path) -> list[tuple[Path, str]]:
    """The service's bind mounts of host folders, (source, target), long or short form."""
    out = []
    for volume in spec.get("volumes") or ():
        if isinstance(volume, Mapping):
            if volume.get("type", "bind") != "bind":
                continue
            source, target = str(volume.get("source", "")), str(volume.get("target", ""))
        else:
            source, _, rest = str(volume).partition(":")
            target = rest.split(":")[0]
            if not source.startswith((".", "/", "~", "$")):
                continue  # a named volume
        source = re.sub(r"^\$\{?PWD\}?/?", "./", source)  # as compose's own ${PWD}
        if source and target:
            out.append((_abs(source, project_dir), posixpath.normpath(target)))
    return out


def _has_code(folder: Path) -> bool:
    """Python code at the top of `folder` or one level down (htmlcov/ or data/ has none)."""
    try:
        return any(folder.glob("*.py")) or any(folder.glob("*/*.py"))
    except OSError:
        return False


def find(spec: Mapping[str, Any], settings: Settings, build: Build) -> Placement:
    """Where the code goes, first found: code_path (with mount_path when set), a
    develop.watch sync rule, a bind mount of a folder with Python code, the Dockerfile's
    COPY of one tree, the build context at working_dir, the build context at /app."""
    project_dir = settings.project_dir
    parsed = build.parsed
    workdir = str(spec.get("working_dir") or "") or (parsed.workdir if parsed else "")
    found: list[tuple[Path, str, str]] = []
    for rule in watch_rules(spec, "sync") + watch_rules(spec, "sync+restart"):
        path, target = rule.get("path"), rule.get("target")
        if isinstance(path, str) and isinstance(target, str) and _abs(path, project_dir).is_dir():
            found.append((_abs(path, project_dir), target, "develop.watch sync rule"))
    for source, target in bind_mounts(spec, project_dir):
        if source.is_dir() and _has_code(source):
            found.append((source, target, "code mount in the compose file"))
    if parsed and build.context:
        tree = dockerfile.copied_tree(parsed, build.context)
        if tree:
            found.append((tree[0], tree[1], f"COPY in {_rel(parsed.path, project_dir)}"))
    if build.context and workdir:
        found.append((build.context, workdir, "build context and working directory"))
    if build.context:
        found.append((build.context, DEFAULT_TARGET, "build context"))
    found.append((project_dir, DEFAULT_TARGET, "project directory"))
    if settings.code_path is not None:  # the user's word: the target from what matches
        source = settings.code_path.resolve()
        target = settings.mount_path
        if target == DEFAULT_TARGET:
            target = next((t for s, t, _ in found if s == source), target)
        found.insert(0, (source, target, "code_path"))
    elif settings.mount_path != DEFAULT_TARGET:
        found.insert(0, (found[0][0], settings.mount_path, "mount_path"))
    source, target, why = found[0]
    ignore: tuple[str, ...] = ()
    for rule in watch_rules(spec, "sync") + watch_rules(spec, "sync+restart"):
        path = rule.get("path")
        if isinstance(path, str) and _abs(path, project_dir) == source:
            ignore = tuple(str(i) for i in rule.get("ignore") or ())
    return Placement(source, posixpath.normpath(target), why, workdir or target, ignore)


def container_to_host(path: str, placement: Placement) -> Path | None:
    """The host file behind container `path`, when it lies in the code mount."""
    rel = posixpath.relpath(posixpath.normpath(path), placement.target)
    if rel == ".." or rel.startswith("../"):
        return None
    return placement.source / rel


def nested_mounts(
    spec: Mapping[str, Any], placement: Placement, project_dir: Path
) -> list[tuple[Path, str, bool]]:
    """The service's bind mounts inside the code mount: (source, target, redundant), where
    redundant means the code mount already shows that source at that target."""
    out = []
    for source, target in bind_mounts(spec, project_dir):
        host = container_to_host(target, placement)
        if host is None or target == placement.target:
            continue
        out.append((source, target, host.resolve() == source))
    return out


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
