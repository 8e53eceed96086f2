"""Build step: install the app's dependencies (devstack_deps.py says how) into /opt/venv.

    devstack_install.py install DIR|requirements.txt

uv installs everything: the exported lock of any manager (`uv pip install --require-hashes
--no-deps`, nothing resolved anew), or resolves a declaration without a lock. uv and the
managers (Poetry, PDM, pipenv, poetry-core) come from PyPI into venvs of their own in
BuildKit's cache, never into /opt/venv; uv's package cache is a cache mount (UV_CACHE_DIR);
their temporary files stay out of the image's layers. First of all the image's Python is
checked against the project's requires-python (devstack_python.py). A failure prints
`devstack: MESSAGE` and `devstack: hint: HINT` (devstack shows both when the build fails)
and exits 1.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import devstack_python
from devstack_deps import NoDeclaration, Options, Project, Unreadable, detect
from devstack_export import MEMBERS

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
TOOLS_DIR = Path("/root/.cache/devstack-tools")
UV_CACHE = "/root/.cache/uv"  # the Dockerfile's cache mount
# pip's settings that uv reads under its own names (the image's or the build's index).
PIP_TO_UV = {
    "PIP_INDEX_URL": "UV_INDEX_URL",
    "PIP_EXTRA_INDEX_URL": "UV_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS": "UV_FIND_LINKS",
    "PIP_TRUSTED_HOST": "UV_INSECURE_HOST",
}


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


def _uv_env() -> dict[str, str]:
    """uv's settings: its cache in the cache mount, copies (the mount is another file
    system), no Python downloads, pip's index settings, the CAs of _tool_env."""
    env = {"UV_CACHE_DIR": UV_CACHE, "UV_LINK_MODE": "copy", "UV_PYTHON_DOWNLOADS": "never"}
    env.update({"UV_NO_PROGRESS": "1", "UV_SYSTEM_CERTS": "1"})
    for pip, uv in PIP_TO_UV.items():
        if os.environ.get(pip) and not os.environ.get(uv):
            env[uv] = os.environ[pip]
    return env


def check_python(directory: Path) -> None:
    """Stop before any download when the image's Python is not one the project allows."""
    wrong = devstack_python.check(directory, tuple(sys.version_info[:3]))
    if wrong:
        raise Unreadable(*wrong)


def _put_members(work: Path, python: str) -> None:
    """Workspace members and path dependencies of the export: those inside the app's
    directory go on sys.path where the image keeps their code (/app/...), by a .pth file;
    the others are not in the image, which the build says."""
    listed = work / MEMBERS
    members = [m for m in listed.read_text().splitlines() if m] if listed.is_file() else []
    if not members:
        return
    deps_dir = os.path.normpath(os.environ.get("DEPS_DIR", "."))
    app_dir = os.path.normpath(os.environ.get("APP_DIR", "."))
    paths = []
    for member in members:
        rel = os.path.relpath(os.path.normpath(os.path.join(deps_dir, member)), app_dir)
        if rel.startswith(".."):
            print(
                f"devstack: {member} (a workspace member or path dependency of the lock) is "
                f"outside APP_DIR ({app_dir}), so not in the image: its dependencies are "
                "installed, its code is not",
                flush=True,
            )
            continue
        where = os.path.normpath(os.path.join("/app", rel))
        paths += [where, f"{where}/src"]  # its package: at its root or in a src/ layout
        print(f"devstack: {member}: its locked dependencies installed, its code is {where}")
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    Path(site.strip(), "devstack-members.pth").write_text("".join(f"{p}\n" for p in paths))


def install(directory: Path, opts: Options, python: str) -> str:
    """Install the project's dependencies (or a requirements file) into `python`'s venv."""
    pip = [str(tool_bin("uv")), "pip", "install", "--python", python]
    env = _tool_env(_uv_env())
    if directory.is_file():  # a plain requirements file (the runtime's own)
        run([*pip, "-r", str(directory)], env=env)
        return str(directory)
    check_python(directory)
    try:
        found, strategy = detect(
            directory, f"the build context's {os.environ.get('DEPS_DIR', '.')}"
        )
    except NoDeclaration as exc:  # tiangolo's image: a main.py alone runs, FastAPI included
        print(
            f"devstack: {exc.message}: installing FastAPI alone, as "
            f"tiangolo/uvicorn-gunicorn-fastapi shipped it ({exc.hint})",
            flush=True,
        )
        sys.stdout.write(run([*pip, "fastapi"], env=env))
        return "none"
    wanted = "all dev groups" if opts.dev else ", ".join(("main", *opts.groups))
    print(f"devstack: dependencies from {found.describe()}; groups: {wanted}", flush=True)
    with tempfile.TemporaryDirectory(prefix="devstack-deps-") as work:
        scratch = Path(work) / "tmp"  # the tools' temporary files go with it, not into /tmp
        scratch.mkdir()
        os.environ["TMPDIR"] = str(scratch)
        args = strategy.install_args(Project(directory), found, opts, Path(work), tool)
        if args:
            sys.stdout.write(run([*pip, *args], env=env))
        _put_members(Path(work), python)
    return found.describe()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("install", "detect"):
        print(
            "usage: devstack_install.py install DIR|requirements.txt | detect DIR", file=sys.stderr
        )
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
