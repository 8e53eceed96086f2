"""Compose files read as YAML, without compose: the service names completion offers and the
files a model includes. Compose's own tags (`!reset`, `!override`) read as plain values."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

MAX_INCLUDE_DEPTH = 10


@cache
def loader() -> type[yaml.SafeLoader]:
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

    made: type[yaml.SafeLoader] = type("ComposeLoader", (base,), {})
    made.add_multi_constructor("!", any_tag)
    return made


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
            data = yaml.load(path.read_text(), Loader=loader())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return
        if not isinstance(data, dict):
            return
        services = data.get("services")
        if isinstance(services, dict):
            names.update(str(name) for name in services)
        for included in includes(data):
            read(path.parent / included, depth + 1)

    for f in files:
        read(Path(f), 0)
    return sorted(names)


def includes(data: Any) -> list[str]:
    """Paths of compose's `include:` entries: "file" or {path: "file" | ["file", ...]}."""
    value = data.get("include") if isinstance(data, dict) else None
    out: list[str] = []
    for entry in value if isinstance(value, list) else []:
        path = entry.get("path") if isinstance(entry, dict) else entry
        for p in path if isinstance(path, list) else [path]:
            if isinstance(p, str) and p:
                out.append(p)
    return out
