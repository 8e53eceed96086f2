"""devstack's app runtime: the tiangolo/uvicorn-gunicorn-fastapi contract, with its known
complaints fixed. Stdlib only; every function takes the environment as a mapping.

    python devstack_runtime.py start          # gunicorn + uvicorn workers (production)
    python devstack_runtime.py start-reload   # reload: warm (devstack_warm.py) or uvicorn
    python devstack_runtime.py health         # HTTP GET on HEALTH_PATH; exit 0 when up
    python devstack_runtime.py wait           # wait for WAIT_FOR only
    python devstack_runtime.py settings       # the gunicorn settings, with devstack's facts
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # loaded by path (tests, bench): its sibling modules
    sys.path.insert(0, str(HERE))

from devstack_cpus import cores  # noqa: E402
from devstack_health import health as probe_health  # noqa: E402
from devstack_wait import RuntimeFailure, wait  # noqa: E402

Env = Mapping[str, str]
BUILTIN_GUNICORN_CONF = HERE / "gunicorn_conf.py"
DEFAULT_WORKER_CLASS = "uvicorn_worker.UvicornWorker"
RELOAD_MODES = ("uvicorn", "warm")
# Never watched in reload mode: noisy, or written by the server itself or by devstack.
RELOAD_EXCLUDES = (".venv", "__pycache__", "node_modules", ".git", ".devstack")
CLUSTER_HINT = (
    "KUBERNETES_SERVICE_HOST is set: on a cluster the orchestrator replicates containers, "
    "one server process each; set WEB_CONCURRENCY or MAX_WORKERS to change it"
)
__all__ = ["RuntimeFailure", "cores", "wait"]


# --- app discovery and config search -------------------------------------------------------


def app_module(env: Env, app_dir: Path = Path("/app")) -> str:
    """APP_MODULE, else MODULE_NAME:VARIABLE_NAME with tiangolo's defaults."""
    if env.get("APP_MODULE"):
        return env["APP_MODULE"]
    module = env.get("MODULE_NAME") or ""
    if not module:
        if (app_dir / "app" / "main.py").is_file():
            module = "app.main"
        elif (app_dir / "main.py").is_file():
            module = "main"
        else:
            module = "app.main"  # tiangolo's fallback; the import error then names it
    return f"{module}:{env.get('VARIABLE_NAME') or 'app'}"


def gunicorn_conf(env: Env, app_dir: Path = Path("/app")) -> str:
    """GUNICORN_CONF, else the app's gunicorn_conf.py (/app, then /app/app), else ours."""
    if env.get("GUNICORN_CONF"):
        return env["GUNICORN_CONF"]
    for candidate in (app_dir / "gunicorn_conf.py", app_dir / "app" / "gunicorn_conf.py"):
        if candidate.is_file():
            return str(candidate)
    return str(BUILTIN_GUNICORN_CONF)


# --- workers and settings -----------------------------------------------------------------


def worker_plan(env: Env, n_cores: int) -> tuple[int, str]:
    """How many gunicorn workers, and why: WEB_CONCURRENCY; else one on a cluster
    (KUBERNETES_SERVICE_HOST) unless WORKERS_PER_CORE or MAX_WORKERS is set; else
    max(int(WORKERS_PER_CORE * cores), 2) capped by MAX_WORKERS."""
    if env.get("WEB_CONCURRENCY"):
        count = int(env["WEB_CONCURRENCY"])
        if count <= 0:
            raise RuntimeFailure(f"WEB_CONCURRENCY must be positive, got {count}")
        return count, "WEB_CONCURRENCY"
    explicit = env.get("WORKERS_PER_CORE") or env.get("MAX_WORKERS")
    if env.get("KUBERNETES_SERVICE_HOST") and not explicit:
        return 1, CLUSTER_HINT
    per_core = float(env.get("WORKERS_PER_CORE") or "1")
    count = max(int(per_core * n_cores), 2)
    why = f"WORKERS_PER_CORE {per_core:g} x {n_cores} CPU{'s' if n_cores != 1 else ''}, at least 2"
    if env.get("MAX_WORKERS"):
        count = min(count, int(env["MAX_WORKERS"]))
        why += f", at most MAX_WORKERS {int(env['MAX_WORKERS'])}"
    return count, why


def workers(env: Env, n_cores: int) -> int:
    return worker_plan(env, n_cores)[0]


def worker_class(env: Env) -> str:
    return env.get("WORKER_CLASS") or DEFAULT_WORKER_CLASS


def bind(env: Env) -> str:
    return env.get("BIND") or f"{env.get('HOST') or '0.0.0.0'}:{env.get('PORT') or '80'}"


def gunicorn_settings(env: Env, n_cores: int) -> dict[str, object]:
    """The built-in gunicorn config, as tiangolo's gunicorn_conf.py prints it: the same keys in
    the same order, "host" and "port" as HOST and PORT give them (strings), even under BIND."""
    max_workers = env.get("MAX_WORKERS")
    return {
        "loglevel": env.get("LOG_LEVEL") or "info",
        "workers": workers(env, n_cores),
        "bind": bind(env),
        "graceful_timeout": int(env.get("GRACEFUL_TIMEOUT") or "120"),
        "timeout": int(env.get("TIMEOUT") or "120"),
        "keepalive": int(env.get("KEEP_ALIVE") or "5"),
        "errorlog": env.get("ERROR_LOG", "-") or None,
        "accesslog": env.get("ACCESS_LOG", "-") or None,
        "workers_per_core": float(env.get("WORKERS_PER_CORE") or "1"),
        "use_max_workers": int(max_workers) if max_workers else None,
        "host": env.get("HOST") or "0.0.0.0",
        "port": env.get("PORT") or "80",
    }


def facts(env: Env, n_cores: int) -> dict[str, object]:
    """What devstack adds to tiangolo's settings: CPUs, worker class, why that many workers."""
    return {
        "cores": n_cores,
        "worker_class": worker_class(env),
        "workers_reason": worker_plan(env, n_cores)[1],
    }


def start_line(env: Env, n_cores: int) -> str:
    count, why = worker_plan(env, n_cores)
    return (
        f"devstack: {count} worker{'s' if count != 1 else ''} ({why}); "
        f"worker class {worker_class(env)}; {n_cores} usable CPU{'s' if n_cores != 1 else ''}"
    )


def reload_address(env: Env) -> tuple[str, int]:
    """Where /start-reload.sh listens: HOST and PORT, as tiangolo's did (BIND is gunicorn's)."""
    host, port = env.get("HOST") or "0.0.0.0", env.get("PORT") or "80"
    if not port.isdigit():
        raise RuntimeFailure(f"PORT must be a TCP port number, got {port!r}")
    return host.strip("[]"), int(port)


# --- start ---------------------------------------------------------------------------------


def prestart(env: Env) -> dict[str, str]:
    """Source PRE_START_PATH (as tiangolo's image did, with its log lines) and return the
    environment it leaves."""
    path = env.get("PRE_START_PATH") or "/app/prestart.sh"
    print(f"Checking for script in {path}", flush=True)
    if not Path(path).is_file():
        print(f"There is no script {path}", flush=True)
        return dict(env)
    print(f"Running script {path}", flush=True)
    with tempfile.NamedTemporaryFile(prefix="devstack-env-") as out:
        script = 'set -e; . "$1"; env -0 > "$2"'
        done = subprocess.run(["sh", "-c", script, "prestart", path, out.name], env=dict(env))
        if done.returncode != 0:
            raise RuntimeFailure(f"{path} exited {done.returncode}")
        pairs = Path(out.name).read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def start_argv(env: Env, app_dir: Path = Path("/app")) -> list[str]:
    """gunicorn as tiangolo's /start.sh ran it (-k, -c, the app), through devstack_gunicorn.py
    (which keeps health probes out of the access log)."""
    conf = gunicorn_conf(env, app_dir)
    launcher = str(HERE / "devstack_gunicorn.py")
    return [sys.executable, launcher, "-k", worker_class(env), "-c", conf, app_module(env, app_dir)]


def reload_argv(env: Env, app_dir: Path = Path("/app")) -> list[str]:
    mode = env.get("RELOAD_MODE") or "warm"  # RELOAD_MODE=uvicorn: plain uvicorn --reload
    if mode not in RELOAD_MODES:
        raise RuntimeFailure(f"RELOAD_MODE={mode!r}: use one of {', '.join(RELOAD_MODES)}")
    host, port = reload_address(env)
    uvicorn = str(HERE / "devstack_uvicorn.py")
    argv = [sys.executable, uvicorn, "--reload", "--host", host, "--port", str(port)]
    argv += ["--log-level", env.get("LOG_LEVEL") or "info"]
    # uvicorn skips a directory's whole tree only when the exclude is an existing directory's
    # absolute path; the name globs cover direct children of ones created later.
    for name in RELOAD_EXCLUDES:
        argv += ["--reload-exclude", f"{name}/*"]
    for path in excluded_dirs(app_dir):
        argv += ["--reload-exclude", str(path)]
    argv.append(app_module(env, app_dir))
    if mode == "warm":  # the same options, served by the warm reloader
        argv[1:3] = [str(HERE / "devstack_warm.py")]
    return argv


def excluded_dirs(app_dir: Path) -> list[Path]:
    """Every RELOAD_EXCLUDES directory under app_dir, without descending into them."""
    found = []
    for parent, dirnames, _ in os.walk(app_dir):
        for name in [d for d in dirnames if d in RELOAD_EXCLUDES]:
            found.append(Path(parent) / name)
            dirnames.remove(name)
    return sorted(found)


def reload_env(env: Env) -> dict[str, str]:
    """No bytecode written, none read from the tree: every reload compiles the app's current
    source (mtime+size checks miss same-size edits within a second). Library bytecode comes
    from DEVSTACK_PYCACHE, compiled at build time under the same prefix, so restarts stay fast;
    without it, an empty temporary prefix (correct, but every import then compiles)."""
    prefix = env.get("DEVSTACK_PYCACHE") or ""
    if not prefix or not Path(prefix).is_dir():
        prefix = tempfile.mkdtemp(prefix="devstack-pycache-")
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": prefix}


def start(env: Env, *, reload: bool) -> None:
    """Wait, run the prestart hook, then exec the server (so SIGTERM reaches it)."""
    wait(env)
    env = prestart(env)
    if reload:
        argv, env = reload_argv(env), reload_env(env)
    else:
        argv = start_argv(env)
    sys.stdout.flush()
    os.execve(argv[0], argv, env)


def health(env: Env) -> int:
    """0 when GET HEALTH_PATH where the server listens gets any status below 500."""
    healthy, report = probe_health(env)
    for line in report:
        print(line)
    return 0 if healthy else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else ""
    env = dict(os.environ)
    try:
        if command == "start":
            start(env, reload=False)
        elif command == "start-reload":
            start(env, reload=True)
        elif command == "health":
            return health(env)
        elif command == "wait":
            wait(env)
        elif command == "settings":
            n_cores = cores()
            print(json.dumps({**gunicorn_settings(env, n_cores), **facts(env, n_cores)}))
        else:
            print(f"usage: {Path(__file__).name} start|start-reload|health|wait|settings")
            return 2
    except RuntimeFailure as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
