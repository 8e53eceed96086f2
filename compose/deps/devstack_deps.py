"""The app's dependencies: which manager declares them, and installing them into /opt/venv.

Standard library only. The recipe runs it at build time (`install`); devstack loads the same
file on the host so that `devstack init` says what it detected (`detect`). One small strategy
per manager, first match wins (`STRATEGIES`): a lock file beats a bare declaration.

A lock is exported by its own tool (installed from PyPI into a throwaway venv outside
/opt/venv, kept in the build cache) to a requirements file with exact versions and hashes,
then installed with `pip install --no-deps --require-hashes`: nothing is resolved anew.
Dev groups: INSTALL_DEV=true (all of them, as the seed's template did) or DEPENDENCY_GROUPS
(a comma-separated list of group names).
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    import tomllib
except ImportError:  # Python < 3.11: pip vendors the same parser
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

# Pinned installer versions (a build argument of the same name overrides each): the name of
# the version variable, its default, the executable, what pip installs ({v}: the version).
EXPORT_PLUGIN = "poetry-plugin-export==1.10.1"
TOOLS = {
    "poetry": ("POETRY_VERSION", "2.5.1", "poetry", ("poetry=={v}", EXPORT_PLUGIN)),
    "poetry-core": ("POETRY_CORE_VERSION", "2.5.0", "python", ("poetry-core=={v}",)),
    "uv": ("UV_VERSION", "0.13.9", "uv", ("uv=={v}",)),
    "pdm": ("PDM_VERSION", "2.29.4", "pdm", ("pdm=={v}", "hishel==1.4.0")),  # 2.x breaks it
    "pipenv": ("PIPENV_VERSION", "2026.10.3", "pipenv", ("pipenv=={v}",)),
}
INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "--trusted-host")
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
TOOLS_DIR = Path("/root/.cache/devstack-tools")
DEV_REQUIREMENTS = ("requirements-dev.txt", "requirements_dev.txt", "dev-requirements.txt")
DECLARATIONS = (
    "requirements.txt, pyproject.toml ([project].dependencies or [tool.poetry]), "
    "uv.lock, poetry.lock, pdm.lock, Pipfile.lock or Pipfile"
)


class Unreadable(Exception):
    """The project's dependencies cannot be read; message and hint are shown to the user."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


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
    """Detect a manager's files; produce the pip arguments that install them."""

    name = ""

    def detect(self, p: Project) -> Found | None:
        raise NotImplementedError

    def pip_args(self, p: Project, found: Found, opts: Options, work: Path) -> list[str]:
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


def _unreachable(value: str) -> bool:
    """An index on the host's loopback or file system: a build container never reaches it."""
    value = value.strip()
    if value.startswith("file:"):
        return True
    host = urlsplit(value if "://" in value else f"//{value}").hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _exported(work: Path) -> list[str]:
    """pip arguments for an exported lock: exact files, checked by hash, nothing resolved anew.
    Index lines a build cannot reach are dropped (pip's configured index serves the files)."""
    out = work / "requirements.txt"
    kept = []
    for line in out.read_text().splitlines():
        option, _, value = line.strip().partition(" ")
        if option in INDEX_OPTIONS and _unreachable(value):
            print(f"devstack: not using the lock's `{line.strip()}`: unreachable from a build")
            continue
        kept.append(line)
    out.write_text("\n".join(kept) + "\n")
    args = ["--no-deps", "-r", str(out)]
    return ["--require-hashes", *args] if "--hash" in out.read_text() else args


class Uv(Strategy):
    name = "uv"

    def detect(self, p: Project) -> Found | None:
        if not p.has("uv.lock"):
            return None
        _lock_check(p, "uv.lock", "uv")
        return Found("uv", "uv.lock", locked=True)

    def pip_args(self, p: Project, found: Found, opts: Options, work: Path) -> list[str]:
        cmd = ["export", "--frozen", "--no-emit-project", "--no-header", "--no-annotate"]
        cmd += ["--all-groups"] if opts.dev else ["--no-default-groups"]
        for group in opts.groups:
            cmd += ["--group", group]
        tool(self.name, *cmd, "-o", str(work / "requirements.txt"), cwd=p.dir)
        return _exported(work)


class Poetry(Strategy):
    name = "poetry"

    def detect(self, p: Project) -> Found | None:
        if p.has("poetry.lock"):
            _lock_check(p, "poetry.lock", "poetry")
            return Found("poetry", "poetry.lock", locked=True)
        if "poetry" in p.pyproject.get("tool", {}):
            return Found("poetry", "pyproject.toml [tool.poetry]", locked=False)
        return None

    def pip_args(self, p: Project, found: Found, opts: Options, work: Path) -> list[str]:
        if not found.locked:  # poetry-core reads the constraints; pip resolves them, as with
            # [project].dependencies (a lock would come from `poetry lock`, on the host)
            groups = "" if opts.dev else ",".join(("main", *opts.groups))
            text = tool("poetry-core", "-c", POETRY_REQUIREMENTS, str(p.dir), groups, cwd=p.dir)
            (work / "requirements.txt").write_text(text)
            return ["-r", str(work / "requirements.txt")] if text.strip() else []
        cmd = ["export", "--no-interaction", "--format", "requirements.txt"]
        cmd += ["--all-groups"] if opts.dev else ["--only", ",".join(("main", *opts.groups))]
        tool(self.name, *cmd, "--output", str(work / "requirements.txt"), cwd=p.dir)
        return _exported(work)


class Pdm(Strategy):
    name = "pdm"

    def detect(self, p: Project) -> Found | None:
        if not p.has("pdm.lock"):
            return None
        _lock_check(p, "pdm.lock", "pdm")
        return Found("pdm", "pdm.lock", locked=True)

    def pip_args(self, p: Project, found: Found, opts: Options, work: Path) -> list[str]:
        cmd = ["export", "--format", "requirements", "--no-extras"]
        if opts.dev:
            cmd += ["--group", ":all"]
        else:
            cmd += ["--prod", *[arg for g in opts.groups for arg in ("--group", g)]]
        tool(self.name, *cmd, "--output", str(work / "requirements.txt"), cwd=p.dir)
        return _exported(work)


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

    def pip_args(self, p: Project, found: Found, opts: Options, work: Path) -> list[str]:
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
        return _exported(work)


class Requirements(Strategy):
    name = "pip"

    def detect(self, p: Project) -> Found | None:
        return Found("pip", "requirements.txt", locked=False) if p.has("requirements.txt") else None

    def pip_args(self, p: Project, found: Found, opts: Options, work: Path) -> list[str]:
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

    def pip_args(self, p: Project, found: Found, opts: Options, work: Path) -> list[str]:
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
    raise Unreadable(
        f"no dependency declaration found in {where}",
        hint=f"add one of: {DECLARATIONS} (list fastapi and what your app imports)",
    )


# ---- build time ---------------------------------------------------------------------------


def _tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The tools run outside /opt/venv, trusting the image's CAs (plus ca_bundle's if set)."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = ":".join(d for d in env.get("PATH", "").split(":") if not d.startswith("/opt/"))
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    if "SSL_CERT_FILE" not in env and system.is_file():
        env.update(SSL_CERT_FILE=str(system), REQUESTS_CA_BUNDLE=str(system))
    env.update(POETRY_NO_INTERACTION="1", PDM_CHECK_UPDATE="false", PIPENV_VERBOSITY="-1")
    # Their caches and scratch venvs stay in the build cache, out of the image's layers.
    env.update(XDG_CACHE_HOME=str(TOOLS_DIR / "cache"), WORKON_HOME=str(TOOLS_DIR / "venvs"))
    env.update(PDM_HOME=str(TOOLS_DIR / "pdm-home"), XDG_DATA_HOME=str(TOOLS_DIR / "data"))
    return {**env, **(extra or {})}


def tool_bin(name: str) -> Path:
    """The manager's executable from a venv of its own in the build cache (made once)."""
    variable, default, executable, specs = TOOLS[name]
    version = os.environ.get(variable) or default
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = TOOLS_DIR / f"{name}-{version}-py{py}"
    exe = venv / "bin" / executable
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    with (TOOLS_DIR / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # builds running side by side share the cache
        if not exe.is_file():
            print(f"devstack: installing {name} {version} (outside /opt/venv)", flush=True)
            run([sys.executable, "-m", "venv", "--clear", str(venv)], env=_tool_env())
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
            run([*pip, *(spec.format(v=version) for spec in specs)], env=_tool_env())
    return exe


def tool(name: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    return run([str(tool_bin(name)), *args], cwd=cwd, env=_tool_env(env))


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout)
        raise Unreadable(
            f"`{' '.join(Path(cmd[0]).name if i == 0 else a for i, a in enumerate(cmd))}` "
            f"exited {done.returncode}",
            hint="the lines above say why; fix the dependency files, then build again",
        )
    return done.stdout


def install(directory: Path, opts: Options, python: str) -> str:
    """Install the project's dependencies (or a requirements file) into `python`'s venv."""
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
    if directory.is_file():  # a plain requirements file (the runtime's own)
        run([*pip, "-r", str(directory)])
        return str(directory)
    found, strategy = detect(directory, f"the build context's {os.environ.get('DEPS_DIR', '.')}")
    wanted = "all dev groups" if opts.dev else ", ".join(("main", *opts.groups))
    print(f"devstack: dependencies from {found.describe()}; groups: {wanted}", flush=True)
    with tempfile.TemporaryDirectory(prefix="devstack-deps-") as work:
        scratch = Path(work) / "tmp"  # the tools' temporary files go with it, not into /tmp
        scratch.mkdir()
        os.environ["TMPDIR"] = str(scratch)
        args = strategy.pip_args(Project(directory), found, opts, Path(work))
        if args:
            sys.stdout.write(run([*pip, *args]))
    return found.describe()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("install", "detect"):
        print("usage: devstack_deps.py install DIR|requirements.txt | detect DIR", file=sys.stderr)
        return 2
    try:
        if argv[0] == "detect":
            print(detect(Path(argv[1]))[0].describe())
        else:
            install(Path(argv[1]), Options.from_env(dict(os.environ)), sys.executable)
    except Unreadable as exc:
        print(f"devstack: {exc.message}\ndevstack: hint: {exc.hint}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
