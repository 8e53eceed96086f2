"""The Python a project needs (`requires-python` and its kin) against the Python an image has.

Standard library only. devstack loads this file on the host so that `devstack init` suggests
an image the project can run on (`image`); the build step checks the image's own Python
against the project's constraint first (`check`), before any download.

Read from, first found: pyproject.toml [project].requires-python, [tool.poetry.dependencies]
python, uv.lock's or pdm.lock's requires-python, Pipfile's [requires] python_(full_)version.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python < 3.11: pip vendors the same parser
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

DEFAULT_MINOR = (3, 12)  # the recipe's default image, python:3.12-slim
KNOWN_MINORS = tuple((3, m) for m in range(8, 16))  # the python images init may suggest
_CLAUSE = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>|\^|~|=)?\s*([0-9][0-9.*]*)\s*$")

Version = tuple[int, ...]


def _toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def requirement(directory: Path) -> tuple[str, str] | None:
    """(constraint, where it was read) for the project in `directory`, or None."""
    d = Path(directory)
    pyproject = _toml(d / "pyproject.toml")
    project = pyproject.get("project")
    if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
        return project["requires-python"], "pyproject.toml [project].requires-python"
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    if isinstance(poetry, dict) and isinstance(poetry.get("python"), str):
        return poetry["python"], "pyproject.toml [tool.poetry.dependencies].python"
    for lock in ("uv.lock", "pdm.lock"):
        data = _toml(d / lock) if (d / lock).is_file() else {}
        found = data.get("requires-python") or data.get("metadata", {}).get("requires_python")
        if isinstance(found, str) and found.strip():
            return found, f"{lock} requires-python"
    pipfile = _toml(d / "Pipfile").get("requires", {}) if (d / "Pipfile").is_file() else {}
    for key in ("python_full_version", "python_version"):
        if isinstance(pipfile.get(key), str):
            return f"=={pipfile[key]}.*" if key == "python_version" else pipfile[key], (
                f"Pipfile [requires].{key}"
            )
    return None


def _parts(text: str) -> Version:
    return tuple(int(x) for x in text.split(".") if x.isdigit())


def _clause_allows(op: str, text: str, have: Version) -> bool:
    full = (*have, 0, 0, 0)[:3]
    if text.endswith(".*"):  # ==3.11.* / !=3.11.*: a prefix match
        prefix = _parts(text[:-2])
        same = full[: len(prefix)] == prefix
        return not same if op == "!=" else same
    given = _parts(text)
    want = (*given, 0, 0, 0)[:3]
    if op in ("", "=", "==", "==="):  # `3.11` or `==3.11` (Poetry's way): any 3.11.x
        return full[: len(given)] == given if len(given) < 3 else full == want
    if op == "!=":
        return full != want
    if op in ("^", "~", "~="):  # Poetry's caret and tilde; PEP 440's compatible release
        keep = {
            "^": next((i + 1 for i, v in enumerate(given) if v), len(given)),
            "~": min(len(given), 2),
            "~=": max(len(given) - 1, 1),
        }[op]
        return full >= want and full[:keep] == want[:keep]
    return {">=": full >= want, ">": full > want, "<=": full <= want, "<": full < want}[op]


def allows(constraint: str, have: Version) -> bool:
    """Whether Python `have` (major, minor[, micro]) meets `constraint` (PEP 440 or Poetry:
    clauses joined by commas or spaces, alternatives by `||`); an unreadable one allows all."""
    for alternative in re.split(r"\|\|?", constraint):
        alternative = re.sub(r"(~=|===|==|!=|<=|>=|<|>|\^|~|=)\s+", r"\1", alternative)
        ok = True
        for clause in (c for c in re.split(r"[,\s]+", alternative) if c):
            m = _CLAUSE.match(clause)
            if not m:
                if clause != "*":
                    return True  # not a constraint this reader knows: do not block the build
                continue
            ok = ok and _clause_allows(m.group(1) or "", m.group(2), have)
        if ok:
            return True
    return False


def suggested_minor(constraint: str | None) -> Version:
    """The Python image minor for a constraint: the recipe's default when it is allowed,
    else the newest known minor that is, else the default."""
    if not constraint or allows(constraint, (*DEFAULT_MINOR, 0)):
        return DEFAULT_MINOR
    for minor in reversed(KNOWN_MINORS):
        if allows(constraint, (*minor, 99)) or allows(constraint, (*minor, 0)):
            return minor
    return DEFAULT_MINOR


def image(directory: Path) -> str:
    """The python image `devstack init` suggests for the project in `directory`."""
    found = requirement(directory)
    major, minor = suggested_minor(found[0] if found else None)
    return f"python:{major}.{minor}-slim"


def check(directory: Path, have: Version) -> tuple[str, str] | None:
    """(message, hint) when the image's Python `have` does not meet the project's constraint."""
    found = requirement(directory)
    if not found or allows(found[0], have):
        return None
    constraint, where = found
    need = ".".join(map(str, suggested_minor(constraint)))
    version = ".".join(map(str, have))
    return (
        f"the image's Python is {version}, but the project needs Python {constraint} ({where})",
        f"build on an image with Python {need}: set the build argument PYTHON_IMAGE "
        f"(for example python:{need}-slim), or change requires-python",
    )
