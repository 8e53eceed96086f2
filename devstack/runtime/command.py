"""The app's own server command, read: which app, on which address, and what devstack's
reloader cannot take. `fastapi run|dev [PATH]`, `uvicorn MODULE:APP`, `python -m
uvicorn|fastapi`, and a `sh -c` of one of those; anything else is not read."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.runtime.placement import Placement, container_to_host

# Options whose value devstack's reloader replaces or does without; the rest stop it.
_DROPPED_FLAGS = {"--reload", "--no-reload", "--proxy-headers", "--no-proxy-headers"}
_DROPPED_VALUES = {"--workers", "--reload-dir", "--reload-include", "--reload-exclude",
                   "--forwarded-allow-ips", "--timeout-keep-alive", "--timeout-graceful-shutdown",
                   "--log-config", "--root-path", "--env-file"}  # fmt: skip
_FASTAPI_CANDIDATES = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py")
_ASSIGN = re.compile(r"^(\w+)\s*(?::[^=\n]+)?=\s*(?:fastapi\.)?FastAPI\(", re.MULTILINE)


@dataclass(frozen=True)
class AppCommand:
    app: str  # "app.main:app"
    host: str
    port: int
    app_dir: str  # the container folder the app is imported from
    dropped: tuple[str, ...] = ()  # options the reloader does without (--workers 4)
    log_level: str = ""


@dataclass(frozen=True)
class Unreadable:
    reason: str


def read(words: Sequence[str], placement: Placement) -> AppCommand | Unreadable:
    """The app command in `words` (entrypoint + command), run in placement.workdir."""
    words = list(words)
    if not words:
        return Unreadable("the app's image sets the command and the compose file does not")
    if len(words) == 3 and words[0] in ("sh", "/bin/sh", "bash", "/bin/bash") and words[1] == "-c":
        if any(ch in words[2] for ch in ";&|<>`$"):
            return Unreadable(f"its command is a shell script ({words[2]!r})")
        words = shlex.split(words[2].removeprefix("exec "))
    program = posixpath.basename(words[0])
    rest = words[1:]
    if re.fullmatch(r"python[\d.]*", program) and rest[:1] == ["-m"] and len(rest) > 1:
        program, rest = rest[1], rest[2:]
    if program == "uvicorn":
        return _uvicorn(rest, placement)
    if program == "fastapi" and rest[:1] in (["run"], ["dev"]):
        return _fastapi(rest[0], rest[1:], placement)
    return Unreadable(f"devstack reads fastapi and uvicorn commands, not {shlex.join(words)!r}")


def _options(args: Sequence[str]) -> tuple[dict[str, str], list[str], list[str]] | Unreadable:
    """(--option: value, positional arguments, dropped options)."""
    values: dict[str, str] = {}
    positional: list[str] = []
    dropped: list[str] = []
    it = iter(args)
    for arg in it:
        name, eq, inline = arg.partition("=")
        if not arg.startswith("-"):
            positional.append(arg)
        elif name in _DROPPED_FLAGS:
            dropped.append(name)
        elif name in _DROPPED_VALUES or name in ("--host", "--port", "--log-level", "--app",
                                                 "--app-dir", "--entrypoint", "-e"):  # fmt: skip
            value = inline if eq else next(it, "")
            if name in _DROPPED_VALUES:
                dropped.append(f"{name} {value}")
            else:
                values[name] = value
        else:
            return Unreadable(f"devstack's reloader does not take {arg}")
    return values, positional, dropped


def _address(values: dict[str, str], default_host: str) -> tuple[str, int] | Unreadable:
    port = values.get("--port", "8000")
    if not port.isdigit():
        return Unreadable(f"its port is not a number ({port!r})")
    return values.get("--host", default_host), int(port)


def _uvicorn(args: Sequence[str], placement: Placement) -> AppCommand | Unreadable:
    parsed = _options(args)
    if isinstance(parsed, Unreadable):
        return parsed
    values, positional, dropped = parsed
    if len(positional) != 1 or ":" not in positional[0]:
        return Unreadable("its uvicorn command names no MODULE:APP")
    address = _address(values, "127.0.0.1")
    if isinstance(address, Unreadable):
        return address
    app_dir = posixpath.join(placement.workdir, values.get("--app-dir", "."))
    return AppCommand(positional[0], *address, posixpath.normpath(app_dir), tuple(dropped),
                      values.get("--log-level", ""))  # fmt: skip


def _fastapi(mode: str, args: Sequence[str], placement: Placement) -> AppCommand | Unreadable:
    parsed = _options(args)
    if isinstance(parsed, Unreadable):
        return parsed
    values, positional, dropped = parsed
    address = _address(values, "0.0.0.0" if mode == "run" else "127.0.0.1")
    if isinstance(address, Unreadable):
        return address
    if mode == "dev":
        dropped.append("fastapi dev's own reloader")
    entry = values.get("--entrypoint") or values.get("-e")
    if entry:
        return AppCommand(entry, *address, placement.workdir, tuple(dropped))
    target = _fastapi_file(positional, placement)
    if isinstance(target, Unreadable):
        return target
    module, app_dir, host_file = target
    variable = values.get("--app") or _variable(host_file)
    if variable is None:
        return Unreadable(f"no FastAPI app found in {host_file}")
    return AppCommand(f"{module}:{variable}", *address, app_dir, tuple(dropped))


def _fastapi_file(
    positional: Sequence[str], placement: Placement
) -> tuple[str, str, Path] | Unreadable:
    """(module, the folder it is imported from, its file on the host), as fastapi-cli
    finds them: the path given (a file, or a folder's main.py/app.py/api.py) or the first of
    its default candidates, then up through the packages (__init__.py)."""
    given = positional[0] if positional else ""
    base = posixpath.join(placement.workdir, given) if given else placement.workdir
    names = _FASTAPI_CANDIDATES[:3] if given else _FASTAPI_CANDIDATES
    candidates = [base] if given.endswith(".py") else [posixpath.join(base, n) for n in names]
    for path in candidates:
        host = container_to_host(path, placement)
        if host is not None and host.is_file():
            break
    else:
        where = given or f"{placement.workdir} (fastapi's default names)"
        return Unreadable(f"cannot find the app file {where} in the code mount")
    parts = [host.stem]
    folder, container = host.parent, posixpath.dirname(posixpath.normpath(path))
    while (folder / "__init__.py").is_file() and container != placement.target:
        parts.insert(0, folder.name)
        folder, container = folder.parent, posixpath.dirname(container)
    if (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        container = posixpath.dirname(container)
    return ".".join(parts), container, host


def _variable(path: Path) -> str | None:
    """fastapi-cli's choice: `app`, then `api`, then any other FastAPI() assignment."""
    try:
        names = _ASSIGN.findall(path.read_text(errors="replace"))
    except OSError:
        return None
    for name in ("app", "api"):
        if name in names:
            return name
    return names[0] if names else None
