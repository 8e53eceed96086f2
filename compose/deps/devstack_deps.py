"""The app's dependencies: which manager declares them, and the arguments installing them.

Standard library only. devstack loads this file on the host so that `devstack init` says
what the build will use (`detect`); devstack_install.py runs the strategies at build time.
One small strategy per manager, first match wins (`STRATEGIES`): a lock beats a declaration.

A lock is exported by its own tool (installed from PyPI into a throwaway venv outside
/opt/venv, kept in the build cache) to a requirements file with exact versions and hashes,
then installed with `uv pip install --no-deps --require-hashes`: nothing is resolved anew.
Workspace members and path dependencies in an export (`-e ./backend`, `app @ file:///...`)
are not installed from there: their locked dependencies are, and the members inside the
app's directory are put on sys.path where the image keeps their code (`MEMBERS`).
Dev groups: INSTALL_DEV=true (all of them, as the seed's template did) or DEPENDENCY_GROUPS
(a comma-separated list of group names).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack_export import exported, with_hashes

try:
    import tomllib
except ImportError:  # Python < 3.11: pip vendors the same parser
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

POETRY_REQUIREMENTS = """
import sys
from pathlib import Path
from poetry.core.factory import Factory

package = Factory().create_poetry(Path(sys.argv[1])).package
groups = set(sys.argv[2].split(",")) if sys.argv[2] else package.dependency_group_names()
for dep in package.all_requires:
    if dep.groups & groups and not dep.is_optional():
        print(dep.to_pep_508())
"""
DEV_REQUIREMENTS = ("requirements-dev.txt", "requirements_dev.txt", "dev-requirements.txt")
DECLARATIONS = (
    "requirements.txt, pyproject.toml ([project].dependencies or [tool.poetry]), "
    "uv.lock, poetry.lock, pdm.lock, Pipfile.lock or Pipfile"
)


Tool = Callable[..., str]  # runs a manager's command: tool(name, *args, cwd=, env=) -> stdout


class Unreadable(Exception):
    """The project's dependencies cannot be read; message and hint are shown to the user."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NoDeclaration(Unreadable):
    """No dependency file at all: as on tiangolo's image, the app gets FastAPI beside the
    runtime's server; the build says so rather than failing."""


@dataclass(frozen=True)
class Options:
    dev: bool = False  # every dev group
    groups: tuple[str, ...] = ()  # named groups besides the main dependencies

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Options:
        groups = tuple(g.strip() for g in env.get("DEPENDENCY_GROUPS", "").split(",") if g.strip())
        return cls(dev=env.get("INSTALL_DEV", "").lower() in ("1", "true", "yes"), groups=groups)


@dataclass
class Project:
    """The dependency files of a project directory; pyproject.toml parsed once, on demand."""

    dir: Path
    _pyproject: dict[str, Any] | None = field(default=None, repr=False)

    def has(self, name: str) -> bool:
        return (self.dir / name).is_file()

    def toml(self, name: str) -> dict[str, Any]:
        try:
            with (self.dir / name).open("rb") as fh:
                return tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            hint = f"fix or regenerate {name}"
            raise Unreadable(f"cannot read {name}: {exc}", hint=hint) from exc

    @property
    def pyproject(self) -> dict[str, Any]:
        if self._pyproject is None:
            self._pyproject = self.toml("pyproject.toml") if self.has("pyproject.toml") else {}
        return self._pyproject


@dataclass(frozen=True)
class Found:
    manager: str  # poetry, uv, pdm, pipenv, pip
    source: str  # the file (and table) it was read from
    locked: bool

    def describe(self) -> str:
        return f"{self.manager} ({self.source})"


class Strategy:
    """Detect a manager's files; produce the `uv pip install` arguments that install them."""

    name = ""

    def detect(self, p: Project) -> Found | None:
        raise NotImplementedError

    def install_args(
        self, p: Project, found: Found, opts: Options, work: Path, tool: Tool
    ) -> list[str]:
        raise NotImplementedError


def _lock_check(p: Project, lock: str, manager: str) -> None:
    """A lock file must parse, and its tool needs pyproject.toml (or a Pipfile) beside it."""
    if lock.endswith(".json") or lock == "Pipfile.lock":
        try:
            json.loads((p.dir / lock).read_text())
        except (OSError, ValueError) as exc:
            hint = f"regenerate it: `{manager} lock`"
            raise Unreadable(f"cannot read {lock}: {exc}", hint=hint) from exc
        return
    p.toml(lock)
    if not p.has("pyproject.toml"):
        raise Unreadable(
            f"{lock} is there but pyproject.toml is not",
            hint=f"{manager} reads both: commit pyproject.toml beside {lock}",
        )


class Uv(Strategy):
    name = "uv"

    def detect(self, p: Project) -> Found | None:
        if not p.has("uv.lock"):
            return None
        _lock_check(p, "uv.lock", "uv")
        return Found("uv", "uv.lock", locked=True)

    def install_args(
        self, p: Project, found: Found, opts: Options, work: Path, tool: Tool
    ) -> list[str]:
        cmd = ["export", "--frozen", "--no-emit-project", "--no-header", "--no-annotate"]
        cmd += ["--all-groups"] if opts.dev else ["--no-default-groups"]
        for group in opts.groups:
            cmd += ["--group", group]
        tool(self.name, *cmd, "-o", str(work / "requirements.txt"), cwd=p.dir)
        return exported(work, p.dir)


class Poetry(Strategy):
    name = "poetry"

    def detect(self, p: Project) -> Found | None:
        if p.has("poetry.lock"):
            _lock_check(p, "poetry.lock", "poetry")
            return Found("poetry", "poetry.lock", locked=True)
        if "poetry" in p.pyproject.get("tool", {}):
            return Found("poetry", "pyproject.toml [tool.poetry]", locked=False)
        return None

    def install_args(
        self, p: Project, found: Found, opts: Options, work: Path, tool: Tool
    ) -> list[str]:
        if not found.locked:  # poetry-core reads the constraints; uv resolves them, as with
            # [project].dependencies (a lock would come from `poetry lock`, on the host)
            groups = "" if opts.dev else ",".join(("main", *opts.groups))
            text = tool("poetry-core", "-c", POETRY_REQUIREMENTS, str(p.dir), groups, cwd=p.dir)
            (work / "requirements.txt").write_text(text)
            return ["-r", str(work / "requirements.txt")] if text.strip() else []
        cmd = ["export", "--no-interaction", "--format", "requirements.txt"]
        cmd += ["--all-groups"] if opts.dev else ["--only", ",".join(("main", *opts.groups))]
        tool(self.name, *cmd, "--output", str(work / "requirements.txt"), cwd=p.dir)
        return exported(work, p.dir)


class Pdm(Strategy):
    name = "pdm"

    def detect(self, p: Project) -> Found | None:
        if not p.has("pdm.lock"):
            return None
        _lock_check(p, "pdm.lock", "pdm")
        return Found("pdm", "pdm.lock", locked=True)

    def install_args(
        self, p: Project, found: Found, opts: Options, work: Path, tool: Tool
    ) -> list[str]:
        cmd = ["export", "--format", "requirements", "--no-extras"]
        if opts.dev:
            cmd += ["--group", ":all"]
        else:
            cmd += ["--prod", *[arg for g in opts.groups for arg in ("--group", g)]]
        # PDM exports no hashes beside a path dependency (a monorepo's member): it exports
        # without, and the hashes come from pdm.lock itself.
        paths = any("path" in pkg for pkg in p.toml("pdm.lock").get("package", []))
        tool(self.name, *cmd, *(["--no-hashes"] if paths else []), "--output",
             str(work / "requirements.txt"), cwd=p.dir)  # fmt: skip
        if paths:
            with_hashes(work / "requirements.txt", p.toml("pdm.lock").get("package", []))
        return exported(work, p.dir)


class Pipenv(Strategy):
    name = "pipenv"

    def detect(self, p: Project) -> Found | None:
        if p.has("Pipfile.lock"):
            _lock_check(p, "Pipfile.lock", "pipenv")
            if not p.has("Pipfile"):
                raise Unreadable(
                    "Pipfile.lock is there but Pipfile is not",
                    hint="pipenv reads both: commit the Pipfile beside Pipfile.lock",
                )
            return Found("pipenv", "Pipfile.lock", locked=True)
        if p.has("Pipfile"):
            return Found("pipenv", "Pipfile", locked=False)
        return None

    def install_args(
        self, p: Project, found: Found, opts: Options, work: Path, tool: Tool
    ) -> list[str]:
        env = {"PIPENV_PIPFILE": str(p.dir / "Pipfile"), "PIPENV_YES": "1"}
        if not found.locked:
            print("devstack: no Pipfile.lock: `pipenv lock` resolves versions now", flush=True)
            tool(self.name, "lock", cwd=p.dir, env=env)
        cmd = ["requirements", "--hash"]
        if opts.dev:
            cmd.append("--dev")
        if opts.groups:
            cmd += ["--categories", " ".join(("packages", *opts.groups))]
        text = tool(self.name, *cmd, cwd=p.dir, env=env)
        (work / "requirements.txt").write_text(text)
        return exported(work, p.dir)


class Requirements(Strategy):
    name = "pip"

    def detect(self, p: Project) -> Found | None:
        return Found("pip", "requirements.txt", locked=False) if p.has("requirements.txt") else None

    def install_args(
        self, p: Project, found: Found, opts: Options, work: Path, tool: Tool
    ) -> list[str]:
        names = ["requirements.txt"]
        if opts.dev:
            names += [n for n in DEV_REQUIREMENTS if p.has(n)]
        for group in opts.groups:
            name = f"requirements-{group}.txt"
            if not p.has(name):
                raise Unreadable(
                    f"DEPENDENCY_GROUPS names {group!r} but there is no {name}",
                    hint=f"add {name} or remove {group!r} from DEPENDENCY_GROUPS",
                )
            names.append(name)
        return [arg for n in names for arg in ("-r", str(p.dir / n))]


class Pep621(Strategy):
    name = "pip"

    def detect(self, p: Project) -> Found | None:
        project = p.pyproject.get("project")
        if not isinstance(project, dict):
            return None
        if "dependencies" in project.get("dynamic", []):
            raise Unreadable(
                "pyproject.toml declares its dependencies as dynamic: devstack cannot read them",
                hint="list them in [project].dependencies, or add a requirements.txt or a lock",
            )
        if "dependencies" not in project:
            return None
        return Found("pip", "pyproject.toml [project].dependencies", locked=False)

    def install_args(
        self, p: Project, found: Found, opts: Options, work: Path, tool: Tool
    ) -> list[str]:
        reqs = list(p.pyproject["project"]["dependencies"])
        optional = p.pyproject["project"].get("optional-dependencies", {})
        groups = p.pyproject.get("dependency-groups", {})
        for name in opts.groups:
            if name not in optional and name not in groups:
                raise Unreadable(
                    f"DEPENDENCY_GROUPS names {name!r}, which is neither in "
                    "[project.optional-dependencies] nor in [dependency-groups] of pyproject.toml",
                    hint=f"add the group or remove {name!r} from DEPENDENCY_GROUPS",
                )
        wanted = [*opts.groups, *(["dev", *groups] if opts.dev else [])]
        for name in dict.fromkeys(wanted):
            reqs += optional.get(name, []) + _group(groups, name, ())
        reqs = list(dict.fromkeys(reqs))
        if not reqs:
            return []
        (work / "requirements.txt").write_text("\n".join(reqs) + "\n")
        return ["-r", str(work / "requirements.txt")]


def _group(groups: dict[str, Any], name: str, seen: tuple[str, ...]) -> list[str]:
    """A PEP 735 dependency group with its `include-group`s expanded."""
    if name in seen:
        raise Unreadable(f"[dependency-groups] includes {name!r} in a cycle", hint="fix the cycle")
    out: list[str] = []
    for item in groups.get(name, []):
        if isinstance(item, dict) and "include-group" in item:
            out += _group(groups, item["include-group"], (*seen, name))
        elif isinstance(item, str):
            out.append(item)
    return out


STRATEGIES: tuple[Strategy, ...] = (Uv(), Poetry(), Pdm(), Pipenv(), Requirements(), Pep621())


def detect(directory: Path, where: str = "") -> tuple[Found, Strategy]:
    """The project's dependency manager and the file it is read from; Unreadable if none."""
    p = Project(Path(directory))
    where = where or str(directory)
    for strategy in STRATEGIES:
        found = strategy.detect(p)
        if found:
            return found, strategy
    if p.has("pyproject.toml"):
        raise Unreadable(
            f"{where}/pyproject.toml declares no dependencies devstack can read "
            "(neither [project].dependencies nor [tool.poetry])",
            hint=f"declare them in one of: {DECLARATIONS}",
        )
    raise NoDeclaration(
        f"no dependency declaration found in {where}",
        hint=f"add one of: {DECLARATIONS} (list fastapi and what your app imports)",
    )
