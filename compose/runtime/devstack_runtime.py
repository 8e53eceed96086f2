"""devstack's app runtime: the tiangolo/uvicorn-gunicorn-fastapi contract, with its known
complaints fixed. Stdlib only; every function takes the environment as a mapping.

    python devstack_runtime.py start          # gunicorn + uvicorn workers (production)
    python devstack_runtime.py start-reload   # reload: warm (devstack_warm.py) or uvicorn
    python devstack_runtime.py health         # HTTP GET on HEALTH_PATH; exit 0 when up
    python devstack_runtime.py wait           # wait for WAIT_FOR only
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Env = Mapping[str, str]
HERE = Path(__file__).resolve().parent
BUILTIN_GUNICORN_CONF = HERE / "gunicorn_conf.py"
DEFAULT_WORKER_CLASS = "uvicorn_worker.UvicornWorker"
RELOAD_MODES = ("uvicorn", "warm")
# Never watched in reload mode: noisy, or written by the server itself.
RELOAD_EXCLUDES = (".venv", "__pycache__", "node_modules", ".git")


class RuntimeFailure(Exception):
    """A start that cannot go on; the message is printed and the process exits non-zero."""


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


# --- CPUs and workers ----------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """controller -> cgroup path from /proc/self/cgroup ("" for the v2 unified hierarchy)."""
    paths: dict[str, str] = {}
    for line in (_read(proc_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    return paths


def _candidates(root: Path, sub: str, cg_path: str | None) -> list[Path]:
    """The controller's directory as mounted in a private cgroup namespace, then at its path."""
    base = root / sub if sub else root
    found = [base]
    if cg_path and cg_path != "/":
        found.append(base / cg_path.lstrip("/"))
    return found


def cpu_limit(
    root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPU quota in CPUs (cgroup v2 cpu.max, or v1 cfs quota/period); None when unlimited."""
    paths = _cgroup_paths(proc_cgroup)
    for directory in _candidates(root, "", paths.get("")):
        text = _read(directory / "cpu.max")
        if text:
            quota, _, period = text.partition(" ")
            if quota == "max":
                return None
            return int(quota) / int(period or "100000")
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for directory in _candidates(root, sub, paths.get("cpu")):
            quota_text = _read(directory / "cpu.cfs_quota_us")
            period_text = _read(directory / "cpu.cfs_period_us")
            if quota_text and period_text:
                quota = int(quota_text)
                return None if quota <= 0 else quota / int(period_text)
    return None


def parse_cpuset(text: str) -> int:
    """Number of CPUs in a cpuset list such as "0-3,6"."""
    count = 0
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def usable_cpus(root: Path = Path("/sys/fs/cgroup"), *, affinity: bool = True) -> int:
    """CPUs this process may run on: its affinity, else the cgroup cpuset, else all."""
    if affinity and hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    for path in (root / "cpuset.cpus.effective", root / "cpuset" / "cpuset.cpus"):
        text = _read(path)
        if text:
            return parse_cpuset(text)
    return os.cpu_count() or 1


def cores(
    root: Path = Path("/sys/fs/cgroup"),
    proc_cgroup: Path = Path("/proc/self/cgroup"),
    usable: Callable[[], int] | None = None,
) -> int:
    """The CPUs the server may use: the CPU limit rounded up, never more than usable CPUs."""
    available = usable() if usable else usable_cpus(root)
    limit = cpu_limit(root, proc_cgroup)
    if limit is None:
        return max(available, 1)
    return max(min(math.ceil(limit), available), 1)


def workers(env: Env, n_cores: int) -> int:
    """WEB_CONCURRENCY, else max(int(WORKERS_PER_CORE * cores), 2) capped by MAX_WORKERS."""
    if env.get("WEB_CONCURRENCY"):
        count = int(env["WEB_CONCURRENCY"])
        if count <= 0:
            raise RuntimeFailure(f"WEB_CONCURRENCY must be positive, got {count}")
        return count
    count = max(int(float(env.get("WORKERS_PER_CORE") or "1") * n_cores), 2)
    if env.get("MAX_WORKERS"):
        count = min(count, int(env["MAX_WORKERS"]))
    return count


# --- settings --------------------------------------------------------------------------------


def bind(env: Env) -> str:
    return env.get("BIND") or f"{env.get('HOST') or '0.0.0.0'}:{env.get('PORT') or '80'}"


def serving_address(env: Env) -> tuple[str, int]:
    """(host, port) the server listens on, from BIND (first, host:port form) or HOST/PORT."""
    first = bind(env).split(",")[0].strip()
    host, _, port = first.rpartition(":")
    try:
        return host.strip("[]") or "0.0.0.0", int(port)
    except ValueError:
        raise RuntimeFailure(f"cannot find a TCP port in BIND={first!r}") from None


def gunicorn_settings(env: Env, n_cores: int) -> dict[str, object]:
    """What the built-in gunicorn config sets, plus the inputs that produced it."""
    host, port = serving_address(env)
    return {
        "loglevel": env.get("LOG_LEVEL") or "info",
        "workers": workers(env, n_cores),
        "bind": bind(env),
        "worker_class": env.get("WORKER_CLASS") or DEFAULT_WORKER_CLASS,
        "graceful_timeout": int(env.get("GRACEFUL_TIMEOUT") or "120"),
        "timeout": int(env.get("TIMEOUT") or "120"),
        "keepalive": int(env.get("KEEP_ALIVE") or "5"),
        "errorlog": env.get("ERROR_LOG", "-") or None,
        "accesslog": env.get("ACCESS_LOG", "-") or None,
        "workers_per_core": float(env.get("WORKERS_PER_CORE") or "1"),
        "use_max_workers": int(env["MAX_WORKERS"]) if env.get("MAX_WORKERS") else None,
        "cores": n_cores,
        "host": host,
        "port": port,
    }


# --- waiting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    text: str
    host: str = ""
    port: int = 0
    url: str = ""


def parse_targets(text: str) -> list[Target]:
    """WAIT_FOR: comma-separated host:port or http(s):// URLs."""
    targets = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item.startswith(("http://", "https://")):
            targets.append(Target(item, url=item))
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RuntimeFailure(f"WAIT_FOR: {item!r} is neither host:port nor an http(s) URL")
        targets.append(Target(item, host=host.strip("[]"), port=int(port)))
    return targets


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.URLError) and isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def probe(target: Target, timeout: float) -> str | None:
    """None when the target answers, else what it last got."""
    try:
        if target.url:
            try:
                with urllib.request.urlopen(target.url, timeout=timeout) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            return None if status < 500 else f"HTTP {status}"
        with socket.create_connection((target.host, target.port), timeout=timeout):
            return None
    except (OSError, ValueError) as exc:
        return _describe(exc)


def wait_for(
    targets: Sequence[Target],
    timeout: float,
    *,
    check: Callable[[Target, float], str | None] = probe,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll every target with a short backoff until all answer; RuntimeFailure at timeout."""
    deadline = clock() + timeout
    pending = {t: "not tried" for t in targets}
    delay = 0.05
    while pending:
        for target in list(pending):
            left = deadline - clock()
            result = check(target, max(min(left, 2.0), 0.1))
            if result is None:
                del pending[target]
            else:
                pending[target] = result
        if not pending:
            return
        left = deadline - clock()
        if left <= 0:
            lines = "".join(f"\n  {t.text}: {why}" for t, why in pending.items())
            raise RuntimeFailure(f"WAIT_FOR: gave up after {timeout:g}s; never answered:{lines}")
        sleep(min(delay, left))
        delay = min(delay * 2, 1.0)


def wait(env: Env) -> None:
    targets = parse_targets(env.get("WAIT_FOR", ""))
    if targets:
        timeout = float(env.get("WAIT_TIMEOUT") or "60")
        print(f"devstack: waiting for {', '.join(t.text for t in targets)}", file=sys.stderr)
        wait_for(targets, timeout)


# --- start ---------------------------------------------------------------------------------


def prestart(env: Env) -> dict[str, str]:
    """Source PRE_START_PATH (as tiangolo's image did) and return the environment it leaves."""
    path = env.get("PRE_START_PATH") or "/app/prestart.sh"
    if not Path(path).is_file():
        return dict(env)
    print(f"devstack: running {path}", file=sys.stderr, flush=True)
    with tempfile.NamedTemporaryFile(prefix="devstack-env-") as out:
        script = 'set -e; . "$1"; env -0 > "$2"'
        done = subprocess.run(["sh", "-c", script, "prestart", path, out.name], env=dict(env))
        if done.returncode != 0:
            raise RuntimeFailure(f"{path} exited {done.returncode}")
        pairs = Path(out.name).read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def start_argv(env: Env, app_dir: Path = Path("/app")) -> list[str]:
    worker_class = env.get("WORKER_CLASS") or DEFAULT_WORKER_CLASS
    conf = gunicorn_conf(env, app_dir)
    module = app_module(env, app_dir)
    return [sys.executable, "-m", "gunicorn", "-k", worker_class, "-c", conf, module]


def reload_argv(env: Env, app_dir: Path = Path("/app")) -> list[str]:
    mode = env.get("RELOAD_MODE") or "warm"  # RELOAD_MODE=uvicorn: plain uvicorn --reload
    if mode not in RELOAD_MODES:
        raise RuntimeFailure(f"RELOAD_MODE={mode!r}: use one of {', '.join(RELOAD_MODES)}")
    host, port = serving_address(env)
    argv = [sys.executable, "-m", "uvicorn", "--reload", "--host", host, "--port", str(port)]
    argv += ["--log-level", env.get("LOG_LEVEL") or "info"]
    # uvicorn skips a directory's whole tree only when the exclude is an existing directory's
    # absolute path; the name globs cover direct children of ones created later.
    for name in RELOAD_EXCLUDES:
        argv += ["--reload-exclude", f"{name}/*"]
    for path in excluded_dirs(app_dir):
        argv += ["--reload-exclude", str(path)]
    argv.append(app_module(env, app_dir))
    if mode == "warm":  # the same options, served by the warm reloader
        argv[1:4] = [str(HERE / "devstack_warm.py")]
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
    """0 when GET HEALTH_PATH on the serving port gets any status below 500."""
    host, port = serving_address(env)
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    path = env.get("HEALTH_PATH") or "/"
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/{path.lstrip('/')}"
    why = probe(Target(url, url=url), float(env.get("HEALTH_TIMEOUT") or "1.5"))
    if why:
        print(f"{url}: {why}")
        return 1
    return 0


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
            print(json.dumps(gunicorn_settings(env, cores())))
        else:
            print(f"usage: {Path(__file__).name} start|start-reload|health|wait|settings")
            return 2
    except RuntimeFailure as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
