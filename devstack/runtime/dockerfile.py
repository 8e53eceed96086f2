"""What a Dockerfile says about where the code goes: the final stage's WORKDIR, its COPY
lines, its CMD/ENTRYPOINT and its base image(s). Read as text; no build, no engine."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$")


@dataclass(frozen=True)
class Dockerfile:
    path: Path
    workdir: str = ""  # the final stage's last WORKDIR ("" when none)
    copies: tuple[tuple[tuple[str, ...], str, str], ...] = ()  # (sources, dest, WORKDIR then)
    entrypoint: tuple[str, ...] = ()  # the final stage's ENTRYPOINT
    cmd: tuple[str, ...] = ()  # and its CMD
    bases: tuple[str, ...] = ()  # every FROM image, ARG defaults substituted

    @property
    def command(self) -> tuple[str, ...]:
        return self.entrypoint + self.cmd

    @property
    def text_has_reload_script(self) -> bool:
        return "/start-reload.sh" in _text(self.path)


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#") and current:
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        out.append(current + stripped)
        current = ""
    if current:
        out.append(current)
    return out


def _words(value: str) -> tuple[str, ...]:
    value = value.strip()
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return tuple(str(v) for v in parsed)
    return ("/bin/sh", "-c", value) if value else ()


def _substitute(value: str, args: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        default = m.group(2) or ""
        return args.get(name) or default.lstrip(":-")

    return re.sub(r"\$\{(\w+)(:?-[^}]*)?\}|\$(\w+)", one, value)


def parse(path: Path, build_args: Mapping[str, str] | None = None) -> Dockerfile | None:
    """The facts of `path` (`build_args` win over ARG defaults); None when unreadable."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    args: dict[str, str] = dict(build_args or {})
    workdir = ""
    copies: list[tuple[tuple[str, ...], str, str]] = []
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    bases: list[str] = []
    for line in _logical_lines(text):
        m = _LINE.match(line)
        if not m:
            continue
        op, rest = m.group(1).upper(), m.group(2)
        if op == "ARG":
            name, _, default = rest.partition("=")
            args.setdefault(name.strip(), default.strip().strip("\"'"))
        elif op == "FROM":
            image = next(w for w in rest.split() if not w.startswith("--"))
            bases.append(_substitute(image, args))
            workdir, copies, entrypoint, cmd = "", [], (), ()  # a new stage
        elif op == "WORKDIR":
            where = _substitute(rest.strip().strip("\"'"), args)
            workdir = posixpath.normpath(posixpath.join(workdir or "/", where))
        elif op in ("COPY", "ADD"):
            try:
                words = shlex.split(rest)
            except ValueError:
                continue
            if any(w.startswith("--from") for w in words):
                continue
            words = [w for w in words if not w.startswith("--")]
            if len(words) >= 2:
                copies.append((tuple(words[:-1]), words[-1], workdir or "/"))
        elif op == "ENTRYPOINT":
            entrypoint = _words(rest)
            cmd = ()
        elif op == "CMD":
            cmd = _words(rest)
    return Dockerfile(
        path, workdir, tuple(copies), entrypoint=entrypoint, cmd=cmd, bases=tuple(bases)
    )


def copied_tree(df: Dockerfile, context: Path) -> tuple[Path, str] | None:
    """The folder of the build context that the final stage copies, and where it lands:
    `COPY . /app` gives (context, /app); `COPY ./backend/app /app/backend/app` with
    `COPY ./backend/pyproject.toml /app/backend/` gives (context/backend, /app/backend)."""
    pairs: list[tuple[list[str], str]] = []  # (source folder's parts, where it lands)
    for sources, dest, workdir in df.copies:
        into = dest.endswith("/") or len(sources) > 1
        dest = posixpath.normpath(posixpath.join(workdir, dest))
        for source in sources:
            src = posixpath.normpath(source.lstrip("/"))
            parts = [] if src == "." else src.split("/")
            if (context / src).is_dir():
                pairs.append((parts, dest))
            elif parts:  # a file: its folder lands where the file does
                pairs.append((parts[:-1], dest if into else posixpath.dirname(dest)))
    if not pairs:
        return None
    common = _common([parts for parts, _ in pairs])
    dests = set()
    for parts, dest in pairs:
        extra = "/".join(parts[len(common) :])
        if extra and not dest.endswith("/" + extra):
            return None  # not one tree copied in place
        dests.add(dest[: len(dest) - len(extra) - 1] if extra else dest)
    if len(dests) != 1:
        return None
    return context.joinpath(*common), dests.pop() or "/"


def _common(lists: list[list[str]]) -> list[str]:
    out: list[str] = []
    for items in zip(*lists, strict=False):
        if len(set(items)) != 1:
            break
        out.append(items[0])
    return out
