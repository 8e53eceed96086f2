"""Shell completion of service names, read straight from the compose files (no engine).

Fast enough to feel instant: PyYAML on the files devstack would use (their `include:`d
files too), not `docker compose config`. Any problem completes nothing rather than failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import yaml

MAX_INCLUDE_DEPTH = 10


@cache
def _loader() -> type[yaml.SafeLoader]:
    """A safe loader that reads compose's own tags (`!reset`, `!override`) as plain values
    (made on first use: importing yaml is not free, and most commands never complete)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)  # type: ignore[arg-type]

    loader: type[yaml.SafeLoader] = type("ComposeLoader", (base,), {})
    loader.add_multi_constructor("!", any_tag)
    return loader


def services_in(files: Iterable[Path]) -> list[str]:
    """The service names the compose files define (with their includes), sorted."""
    names: set[str] = set()
    seen: set[Path] = set()

    def read(path: Path, depth: int) -> None:
        path = path.resolve()
        if path in seen or depth > MAX_INCLUDE_DEPTH:
            return
        seen.add(path)
        import yaml

        try:
            data = yaml.load(path.read_text(), Loader=_loader())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return
        if not isinstance(data, dict):
            return
        services = data.get("services")
        if isinstance(services, dict):
            names.update(str(name) for name in services)
        for included in _includes(data.get("include")):
            read(path.parent / included, depth + 1)

    for f in files:
        read(Path(f), 0)
    return sorted(names)


def _includes(value: Any) -> list[str]:
    """Paths of compose's `include:` entries: "file" or {path: "file" | ["file", ...]}."""
    out: list[str] = []
    for entry in value if isinstance(value, list) else []:
        path = entry.get("path") if isinstance(entry, dict) else entry
        for p in path if isinstance(path, list) else [path]:
            if isinstance(p, str) and p:
                out.append(p)
    return out


def project_services(ctx: typer.Context) -> list[str]:
    """The services of the project the command line points at (-C, -f, environment)."""
    from devstack import config
    from devstack.errors import DevstackError

    params = ctx.find_root().params
    overrides = {"compose_files": [str(f) for f in params.get("file") or []] or None}
    try:
        settings = config.load(
            params.get("project_dir"), overrides={k: v for k, v in overrides.items() if v}
        )
    except DevstackError:
        return []
    return services_in(settings.compose_files)


def complete_services(ctx: typer.Context, incomplete: str) -> list[str]:
    """Service names for a list argument: those not already on the line."""
    given = set(ctx.params.get("services") or [])
    return [s for s in project_services(ctx) if s.startswith(incomplete) and s not in given]


def complete_service(ctx: typer.Context, incomplete: str) -> list[str]:
    """Service names for a single service argument."""
    return [s for s in project_services(ctx) if s.startswith(incomplete)]
