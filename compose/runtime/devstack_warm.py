"""devstack's warm reloader (RELOAD_MODE=warm of /start-reload.sh): uvicorn --reload without
paying for the third-party imports again on every change.

    python devstack_warm.py [--host H] [--port P] [--log-level L] [--reload-exclude X]... APP

The parent binds the listening socket once and serves from forked children. The first child
imports the app cold (as plain uvicorn would, so the first start is not delayed) and reports
what it loaded; the parent then imports the third-party modules among them (never the
project's own), and every later child is forked from that warm parent: each child imports the
app fresh and runs uvicorn's Server on the inherited socket. On a change to a project .py
file the parent forks the next child, which imports the app while the old one stops
accepting, then lets it serve; requests that arrive meanwhile wait in the backlog. A change
outside the project (a preloaded library file, the site-packages listing), threads in the
parent or repeated child crashes make it restart itself (execv, keeping the socket); modules
that start threads at import are never preloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import logging
import os
import select
import signal
import site
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import devstack_accesslog
from devstack_watch import TreeWatch

HERE = Path(__file__).resolve()
EXIT_APP_FAILED = 3  # the app did not import or start: the user's code, not the parent's state
MAX_CHILD_CRASHES = 2  # crashes (not app errors) in a row before a full restart
MAX_ATTEMPTS = 4  # full restarts for thread-starting modules before plain uvicorn --reload
OUTSIDE_POLL = 1.0  # seconds between checks of the files outside the project
# Never preloaded: not safe to carry across fork(), or they start threads/connections.
KNOWN_BAD = {
    "grpc": "gRPC's core is not fork-safe",
    "torch": "starts thread pools at import",
    "tensorflow": "starts thread pools at import",
    "jax": "starts thread pools at import",
    "ddtrace": "patches libraries and starts a writer thread",
    "newrelic": "starts a harvest thread",
    "sentry_sdk": "starts a transport worker thread",
    "opentelemetry": "exporters start threads",
    "elasticapm": "starts a transport thread",
}
STATE_VARS = ("DEVSTACK_WARM_FD", "DEVSTACK_WARM_SKIP", "DEVSTACK_WARM_ATTEMPT")
logger = logging.getLogger("uvicorn.error")
TRACE = bool(os.environ.get("DEVSTACK_WARM_TRACE"))


def trace(what: str) -> None:
    if TRACE:
        print(f"devstack-warm-trace {time.monotonic():.4f} {os.getpid()} {what}", file=sys.stderr)


# --- pure pieces -----------------------------------------------------------------------------


def _under(path: Path, root: Path) -> Path | None:
    try:
        return path.relative_to(root)
    except ValueError:
        return None


@dataclass(frozen=True)
class Project:
    """The project tree and the excludes of the plain reload (names and absolute dirs)."""

    root: Path
    exclude_names: tuple[str, ...] = (".venv", "__pycache__", "node_modules", ".git", ".devstack")
    exclude_dirs: tuple[Path, ...] = ()

    @classmethod
    def from_excludes(cls, root: Path, excludes: Iterable[str]) -> Project:
        """The --reload-exclude values devstack_runtime passes: NAME/* globs and dirs."""
        names, dirs = [], []
        for item in excludes:
            if item.endswith("/*") and "/" not in item[:-2]:
                names.append(item[:-2])
            elif item.startswith("/"):
                dirs.append(Path(item))
        return cls(root, tuple(names) or cls.exclude_names, tuple(dirs))

    def owns(self, path: str | Path | None) -> bool:
        """Whether a module file is the project's own code (else a library or the stdlib)."""
        if not path:
            return False
        rel = _under(Path(os.path.abspath(path)), self.root)
        if rel is None:
            return False
        skipped = {*self.exclude_names, "site-packages", "dist-packages"}
        return not any(part in skipped for part in rel.parts)

    def skips(self, directory: Path) -> bool:
        """A directory never walked nor watched: an excluded name or directory."""
        return directory.name in self.exclude_names or directory in self.exclude_dirs

    def change_kind(self, path: str | Path) -> str | None:
        """What a changed path asks for: "project" (reload), "outside" (full restart), None."""
        full = Path(os.path.abspath(path))
        rel = _under(full, self.root)
        if rel is None:
            return "outside"
        if any(part in self.exclude_names for part in rel.parts):
            return None
        if any(_under(full, d) is not None for d in self.exclude_dirs):
            return None
        name = full.name
        if name.startswith(".") or name.endswith("~") or full.suffix != ".py":
            return None  # uvicorn's default: *.py, minus hidden, swap and backup files
        return "project"


def known_bad(name: str, skip: Iterable[str] = ()) -> str | None:
    """Why a module is never preloaded (itself or a package above it is listed), else None."""
    bad = {**KNOWN_BAD, **{s: "started a thread when preloaded" for s in skip}}
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        reason = bad.get(".".join(parts[:i]))
        if reason:
            return reason
    return None


def select_preload(
    modules: Iterable[tuple[str, str | None]], project: Project, skip: Iterable[str] = ()
) -> list[str]:
    """Module names to import in the parent, in import order: what the app imported from
    outside the project, minus the known-bad, the skipped and everything under them."""
    skip = tuple(skip)
    chosen = []
    for name, path in modules:
        if name in ("__main__", "__mp_main__") or name.startswith("devstack_"):
            continue
        if project.owns(path) or known_bad(name, skip):
            continue
        chosen.append(name)
    return chosen


def outside_signature(dirs: Iterable[str], files: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """Cheap fingerprint of what lives outside the project: the entries of each site-packages
    directory (an install, upgrade or removal renames a .dist-info) and the preloaded files."""
    sig: dict[str, tuple[int, ...]] = {}
    for directory in dirs:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            sig[entry.path] = (st.st_mtime_ns,)
    for path in files:
        try:
            st = os.stat(path)
            sig[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            sig[path] = ()
    return sig


def changed_keys(old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def display(path: str | Path, cwd: Path) -> str:
    rel = _under(Path(path), cwd)
    return f"'{rel if rel is not None else path}'"


# --- discovery and preload -------------------------------------------------------------------


def loaded_modules() -> list[tuple[str, str | None]]:
    """(name, file) of every module in sys.modules, in import order."""
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path:
            path = next(iter(getattr(module, "__path__", None) or []), None)
        found.append((name, path if isinstance(path, str) else None))
    return found


def write_modules(path: str, error: str | None = None) -> None:
    tmp = f"{path}.tmp"
    Path(tmp).write_text(json.dumps({"modules": loaded_modules(), "error": error}))
    os.replace(tmp, path)  # the parent never reads a half-written file


@dataclass
class Preloaded:
    loaded: list[str] = field(default_factory=list)
    threaded: list[str] = field(default_factory=list)  # a thread was running after it
    failed: list[str] = field(default_factory=list)


def preload(names: Sequence[str]) -> Preloaded:
    result = Preloaded()
    for name in names:
        if name in sys.modules:
            continue
        before = threading.active_count()
        try:
            importlib.import_module(name)
        except Exception:
            result.failed.append(name)
            continue
        if threading.active_count() > before:
            result.threaded.append(name)
        result.loaded.append(name)
    return result


# --- the child -------------------------------------------------------------------------------


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):  # type: ignore[misc]
        """Stops accepting as soon as it is told to stop, and says so on `notify`."""

        def __init__(self, config: Any, notify: int) -> None:
            super().__init__(config)
            self._notify, self._loop = notify, None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self._loop = asyncio.get_running_loop()
            await super().startup(sockets)
            trace("child: serving")
            if self.should_exit:
                self._stop_accepting()

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._stop_accepting)

        def _stop_accepting(self) -> None:
            servers = getattr(self, "servers", [])
            for server in servers:
                server.close()
            if servers and self._notify >= 0:
                os.write(self._notify, b"c")
                os.close(self._notify)
                self._notify = -1

    return Server


def serve_child(
    config_kwargs: dict[str, Any],
    sock: socket.socket,
    go: int,
    notify: int,
    report: str | None = None,
) -> int:
    """Runs in the forked child: wait for the go, import the app fresh, serve, return a code.
    A child is forked ahead of the change it serves: the fork is off the reload's path.
    While the parent is still cold, the child writes the modules the app loaded to `report`."""
    import importlib as _importlib

    import uvicorn

    if os.read(go, 1) != b"g":
        return 0  # the parent stopped or replaced this child before it served
    os.close(go)
    trace("child: go")
    sys.path.insert(0, os.getcwd())
    _importlib.invalidate_caches()
    try:
        config = uvicorn.Config(**config_kwargs)
        trace("child: loading")
        config.load()
        trace("child: loaded")
        if report:
            write_modules(report)
    except SystemExit:
        return EXIT_APP_FAILED
    except Exception:
        logger.exception("Error loading ASGI app %r", config_kwargs["app"])
        return EXIT_APP_FAILED
    server = _server_class()(config, notify)
    server.run(sockets=[sock])
    return 0 if server.started else EXIT_APP_FAILED


@dataclass
class Child:
    pid: int
    go: int  # parent writes b"g" when the child may serve
    notify: int  # child writes b"c" once it stopped accepting; EOF when it exited
    stopping: bool = False
    status: int | None = None
    report: str | None = None  # where it writes what the app loaded, while the parent is cold


# --- the parent ------------------------------------------------------------------------------


class _Stop(BaseException):  # not an Exception: a preload `except Exception` must not eat it
    pass


class FullRestart(Exception):
    pass


class Reloader:
    def __init__(self, args: argparse.Namespace, argv: Sequence[str], sock: socket.socket):
        self.args, self.argv, self.sock = args, list(argv), sock
        self.project = Project.from_excludes(Path.cwd(), args.reload_exclude)
        self.config_kwargs = {
            "app": args.app,
            "host": args.host,
            "port": args.port,
            "log_level": args.log_level,
        }
        self.child: Child | None = None
        self.standby: Child | None = None  # forked ahead, waiting for its go
        self.prefix = str(self.project.root).rstrip("/") + "/"
        self.reloaded = 0.0
        self.crashes = 0
        self.skip = [s for s in os.environ.get("DEVSTACK_WARM_SKIP", "").split(",") if s]
        self.warm = False  # the app's third-party modules are imported in this process
        self.attempt = int(os.environ.get("DEVSTACK_WARM_ATTEMPT") or "0")

    # children

    def spawn(self) -> Child:
        if threading.active_count() != 1:
            raise FullRestart(f"the reloader runs {threading.active_count()} threads")
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str) and path.startswith(self.prefix) and self.project.owns(path):
                raise FullRestart(f"a project module was imported in the reloader: {path}")
        go_r, go_w = os.pipe()
        note_r, note_w = os.pipe()
        report = None
        if not self.warm:  # a cold child reports what the app loaded
            name = f"devstack-warm-{os.getpid()}-{time.monotonic_ns()}.json"
            report = os.path.join(tempfile.gettempdir(), name)
        sys.stdout.flush()
        sys.stderr.flush()
        signals = {signal.SIGTERM, signal.SIGINT}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # no handler runs mid-fork
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                for sig in signals:
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                os.close(go_w)
                os.close(note_r)
                code = serve_child(self.config_kwargs, self.sock, go_r, note_w, report)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                logger.exception("devstack warm reload: the server process failed")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(go_r)
        os.close(note_w)
        return Child(pid, go_w, note_r, report=report)

    def release(self, child: Child) -> None:
        with contextlib.suppress(OSError):  # it already exited; reap() reports it
            os.write(child.go, b"g")
        self._close(child, "go")

    def _close(self, child: Child, attr: str) -> None:
        fd = getattr(child, attr)
        if fd >= 0:
            os.close(fd)
            setattr(child, attr, -1)

    def _wait(self, child: Child, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while child.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                child.status = status
                break
            time.sleep(0.005)
        return child.status is not None

    def stop_accepting(self, child: Child, timeout: float) -> None:
        """SIGTERM, then wait until it stopped accepting (or exited); SIGKILL at timeout."""
        child.stopping = True
        self._close(child, "go")
        if child.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
            if child.notify >= 0 and not select.select([child.notify], [], [], timeout)[0]:
                logger.warning(
                    "Server process [%d] did not stop in %gs; killing", child.pid, timeout
                )
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
                self._wait(child, 5)
        self._close(child, "notify")

    def stop(self, child: Child, timeout: float) -> None:
        self.stop_accepting(child, timeout)
        if not self._wait(child, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
            self._wait(child, 5)

    def reap(self) -> None:
        """Collect exited processes (the parent may be PID 1); count crashes of the child."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            if self.standby is not None and pid == self.standby.pid:
                child, self.standby = self.standby, None
            elif self.child is not None and pid == self.child.pid:
                child = self.child
            else:
                continue
            child.status = status
            self._close(child, "notify")
            self._close(child, "go")
            code = os.waitstatus_to_exitcode(status)
            if child.stopping:
                continue
            if code == EXIT_APP_FAILED:
                logger.error("Server process [%d] failed; waiting for changes", pid)
                continue
            self.crashes += 1
            logger.error(
                "Server process [%d] exited with %d (%d in a row)", pid, code, self.crashes
            )
            if self.crashes >= MAX_CHILD_CRASHES:
                raise FullRestart(f"the server process crashed {self.crashes} times")
            if child is self.child:
                self.reload()

    def reload(self) -> None:
        """The standby serves next: the old child stops accepting (it finishes what it has)
        and the standby imports the app; then a new standby is forked for the next change."""
        old, self.child = self.child, self.standby or self.spawn()
        self.standby = None
        if old is not None:
            self.stop_accepting(old, timeout=3)
            trace("parent: old stopped accepting")
        self.release(self.child)
        self.reloaded = time.monotonic()  # the next standby is forked once this one served

    def fork_standby(self) -> None:
        if self.warm and self.standby is None and time.monotonic() - self.reloaded > 0.3:
            self.standby = self.spawn()

    def warm_up(self) -> None:
        """Once a cold child has loaded the app, import what it loaded from outside the
        project here, so that the next children start warm. The first start is not delayed."""
        report = self.child.report if self.child else None
        if self.warm or not report or not os.path.exists(report):
            return
        began = time.monotonic()
        try:
            data = json.loads(Path(report).read_text())
        except (OSError, ValueError):
            data = {}
        with contextlib.suppress(OSError):
            os.unlink(report)
        modules = [(str(n), p) for n, p in data.get("modules", [])]
        done = preload(select_preload(modules, self.project, self.skip))
        if done.threaded:
            if self.attempt + 1 >= MAX_ATTEMPTS:
                self.plain(f"modules started threads at import: {done.threaded}")
            logger.warning("devstack warm reload: %s started threads; full restart", done.threaded)
            self.stop_all(timeout=3)
            self.restart(skip=done.threaded, attempt=self.attempt + 1)
        gc.collect()
        gc.freeze()  # children share the preloaded objects: their GC never touches those pages
        if threading.active_count() != 1:
            self.plain(f"{threading.active_count()} threads run after the preload")
        self.warm = True
        logger.info(
            "devstack warm reload: %d modules preloaded in %.2fs",
            len(done.loaded),
            time.monotonic() - began,
        )

    def stop_all(self, timeout: float) -> None:
        for child in (self.standby, self.child):
            if child is not None and child.status is None:
                self.stop(child, timeout)

    # main loop

    def run(self) -> int:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            signal.signal(signum, signal.SIG_IGN)
            raise _Stop(signum)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
        site_dirs = [d for d in site.getsitepackages() if os.path.isdir(d)]

        def library_files() -> list[str]:
            return sorted(
                {
                    f
                    for m in list(sys.modules.values())
                    if isinstance(f := getattr(m, "__file__", None), str)
                    and not self.project.owns(f)
                }
            )

        files = library_files()
        seen = outside_signature(site_dirs, files)
        checked = time.monotonic()
        try:
            self.reload()
            tree = TreeWatch([self.project.root], self.project.skips)
            for changes in tree.watch(
                watch_filter=lambda _c, p: self.project.change_kind(p) == "project",
                step=15,
                rust_timeout=300,
                yield_on_timeout=True,
            ):
                self.reap()
                if not self.warm:
                    self.warm_up()
                    if self.warm:  # watch the libraries just preloaded, as they are now
                        files = library_files()
                        seen = outside_signature(site_dirs, files)
                self.fork_standby()
                if changes:
                    trace("parent: changes")
                    paths = sorted({p for _, p in changes})
                    shown = ", ".join(display(p, self.project.root) for p in paths)
                    logger.warning("WatchFiles detected changes in %s. Reloading...", shown)
                    self.reload()
                if time.monotonic() - checked >= OUTSIDE_POLL:
                    now = outside_signature(site_dirs, files)
                    checked = time.monotonic()
                    if now != seen:
                        outside = changed_keys(seen, now)
                        more = f" (+{len(outside) - 3} more)" if len(outside) > 3 else ""
                        raise FullRestart(f"changes outside the project: {outside[:3]}{more}")
        except (_Stop, KeyboardInterrupt):
            self.stop_all(timeout=1.2)
            logger.info("Stopping reloader process [%d]", os.getpid())
            return 0
        except FullRestart as exc:
            logger.warning("devstack warm reload: %s; full restart", exc)
            self.stop_all(timeout=3)
            self.restart()
        return 0

    def restart(self, *, skip: Sequence[str] = (), attempt: int = 0) -> None:
        """execv this reloader again; the listening socket survives (no refused connection)."""
        fd = self.sock.fileno()
        os.set_inheritable(fd, True)
        env = dict(os.environ)
        env.update(
            DEVSTACK_WARM_FD=str(fd),
            DEVSTACK_WARM_SKIP=",".join([*self.skip, *skip]),
            DEVSTACK_WARM_ATTEMPT=str(attempt),
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, str(HERE), *self.argv], env)

    def plain(self, why: str) -> None:
        logger.warning("devstack warm reload: %s; falling back to uvicorn --reload", why)
        self.sock.close()
        argv = [sys.executable, str(HERE.parent / "devstack_uvicorn.py"), "--reload", *self.argv]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)


def listen(host: str, port: int) -> socket.socket:
    """The inherited socket after a full restart, else a new one (SO_REUSEADDR, backlog 2048)."""
    inherited = os.environ.get("DEVSTACK_WARM_FD")
    if inherited:
        sock = socket.socket(fileno=int(inherited))
        os.set_inheritable(sock.fileno(), False)
        return sock
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="devstack_warm.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--reload-exclude", action="append", default=[])
    parser.add_argument("app")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sys.dont_write_bytecode = True
    args = parse(argv)
    import uvicorn

    uvicorn.Config(args.app, log_level=args.log_level)  # uvicorn's log format and levels
    devstack_accesslog.install(os.environ)  # children inherit the filter across fork
    sock = listen(args.host, args.port)
    reloader = Reloader(args, argv, sock)
    for name in STATE_VARS:
        os.environ.pop(name, None)
    fresh = reloader.attempt == 0 and not reloader.skip
    if fresh:
        logger.info("Will watch for changes in these directories: %s", [str(Path.cwd())])
        scheme = f"[{args.host}]" if ":" in args.host else args.host
        logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", scheme, args.port)
    logger.info("Started reloader process [%d] using WatchFiles (warm)", os.getpid())
    return reloader.run()


if __name__ == "__main__":
    sys.exit(main())
