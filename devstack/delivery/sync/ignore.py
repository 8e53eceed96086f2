"""What is never synced: .git, .devstack/, virtual environments, caches, what .dockerignore
excludes (its `!` allow-list lines honoured, the last matching line wins) and `sync_ignore`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ALWAYS = (".git", ".devstack", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache",
          ".ruff_cache", ".hypothesis", "node_modules")  # fmt: skip
VENV_MARKER = "pyvenv.cfg"


def _regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regex on a relative path."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    allow: bool


def parse(lines: Iterable[str]) -> tuple[Rule, ...]:
    rules = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        allow = line.startswith("!")
        line = line[1:].strip() if allow else line
        line = "/".join(p for p in line.split("/") if p not in ("", ".")).lstrip("/")
        if line:
            rules.append(Rule(_regex(line), allow))
    return tuple(rules)


@dataclass(frozen=True)
class Ignore:
    """Decides, for a path relative to the synced directory, whether it stays off the engine."""

    rules: tuple[Rule, ...] = ()
    always: tuple[str, ...] = ALWAYS
    venvs: set[str] = field(default_factory=set, compare=False)

    def ignored(self, rel: str) -> bool:
        if not rel or rel == ".":
            return False
        parts = rel.split("/")
        if any(p in self.always for p in parts):
            return True
        if any("/".join(parts[:n]) in self.venvs for n in range(1, len(parts) + 1)):
            return True
        return _excluded(self.rules, rel)

    def in_venv(self, root: Path, rel: str) -> bool:
        """Whether `rel` is (in) a virtual environment: a directory with pyvenv.cfg."""
        parts = rel.split("/")
        for n in range(1, len(parts) + 1):
            prefix = "/".join(parts[:n])
            if prefix in self.venvs:
                return True
            if (root / prefix / VENV_MARKER).is_file():
                self.venvs.add(prefix)
                return True
        return False


def _excluded(rules: tuple[Rule, ...], rel: str) -> bool:
    """Docker's rule: the last line matching the path or one of its parents decides."""
    parts = rel.split("/")
    excluded = False
    for rule in rules:
        if any(rule.regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = not rule.allow
    return excluded


@lru_cache(maxsize=32)
def _read(path: Path, stamp: float) -> tuple[Rule, ...]:
    try:
        return parse(path.read_text(errors="replace").splitlines())
    except OSError:
        return ()


def load(code_dir: Path, extra: Iterable[str] = ()) -> Ignore:
    """The rules for `code_dir`: its .dockerignore, then `sync_ignore` patterns."""
    path = code_dir / ".dockerignore"
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = -1.0
    rules = _read(path, stamp) if stamp >= 0 else ()
    return Ignore(rules=rules + parse(extra))
