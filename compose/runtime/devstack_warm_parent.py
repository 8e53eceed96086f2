"""The warm reloader's parent: it holds the listening socket, forks the children (a standby
one ahead of each change), swaps them on a change to the project's code, preloads the
third-party modules a cold child reported, reaps crashed children and decides when a full
restart is due. Needs uvicorn (in the children) and watchfiles."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import devstack_warm_fallback as fallback
from devstack_warm_child import EXIT_APP_FAILED, Child, Pipes, serve_child, trace
from devstack_warm_outside import Outside, display
from devstack_warm_policy import Project, preload, select_preload, warm_caches
from devstack_watch import TreeWatch

MAX_CHILD_CRASHES = 2  # crashes (not app errors) in a row before a full restart
MAX_ATTEMPTS = 4  # full restarts for thread-starting modules before plain uvicorn --reload
STANDBYS = 2  # children forked ahead, each waiting for a change to serve
# The watcher sleeps until the kernel says a watched directory changed (devstack_bell), then
# groups what follows until a step brings nothing new: an edit is seen 2-4 ms after it lands
# (watchfiles' own 15 ms step, looking every step: 15-30 ms); an editor's save, a checkout's
# burst of writes, still come as one batch.
WATCH_STEP_MS = 2
logger = logging.getLogger("uvicorn.error")


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
        self.standbys: list[Child] = []  # forked ahead, waiting for their go
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
        name = f"devstack-warm-{os.getpid()}-{time.monotonic_ns()}"
        stem = os.path.join(tempfile.gettempdir(), name)
        report = None if self.warm else f"{stem}.json"  # a cold child reports what it loaded
        learned = f"{stem}-learned.json"
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
                pipes = Pipes(go_r, note_w, report, learned)
                code = serve_child(self.config_kwargs, self.sock, pipes)
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
        return Child(pid, go_w, note_r, report=report, learned=learned)

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
            waiting = [c for c in self.standbys if c.pid == pid]
            if waiting:
                child = waiting[0]
                self.standbys.remove(child)
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
        """A standby serves next: the old child stops accepting (it finishes what it has)
        and the standby imports the app; new standbys are forked for the next changes."""
        old, self.child = self.child, self.standbys.pop(0) if self.standbys else self.spawn()
        if old is not None:
            self.stop_accepting(old, timeout=3)
            trace("parent: old stopped accepting")
            self._forget(old)
        self.release(self.child)
        self.reloaded = time.monotonic()  # the next standby is forked once this one served

    def fork_standby(self) -> None:
        """STANDBYS children ready, forked once the last reload's child had time to serve
        (the fork does not compete with its start): an edit saved right after the last one
        was served finds one too."""
        while (
            self.warm and len(self.standbys) < STANDBYS and time.monotonic() - self.reloaded > 0.3
        ):
            self.standbys.append(self.spawn())

    def warm_up(self) -> None:
        """Once a cold child has loaded the app, import what it loaded from outside the
        project here, so that the next children start warm. The first start is not delayed."""
        if self.warm or self.child is None:
            return
        modules = self._read(self.child.report)
        if modules is None:
            return
        began = time.monotonic()
        loaded = self._preload(modules)
        self.warm = True
        logger.info(
            "devstack warm reload: %d modules preloaded in %.2fs",
            len(loaded),
            time.monotonic() - began,
        )

    def learn(self) -> bool:
        """Preload what the serving child imported lazily (an async backend on its first
        request, a driver's pieces on first use): later children need not import it while
        they answer. The standbys, forked before, are replaced. True when something was new."""
        child = self.child
        if not self.warm or child is None:
            return False
        modules = self._read(child.learned)
        if modules is None:
            return False
        loaded = self._preload([m for m in modules if m[0] not in sys.modules])
        if not loaded:
            return False
        packages = ", ".join(sorted({name.split(".")[0] for name in loaded}))
        logger.info(
            "devstack warm reload: preloaded %d modules the app imported while serving (%s)",
            len(loaded),
            packages,
        )
        standbys, self.standbys = self.standbys, []
        for standby in standbys:
            self.stop(standby, timeout=1)
        return True

    def _read(self, path: str | None) -> list[tuple[str, str | None]] | None:
        """The modules a child reported at `path` (the file is removed), None if none yet."""
        if not path or not os.path.exists(path):
            return None
        claimed = f"{path}.read"  # the child may write it again meanwhile: a new file
        try:
            os.replace(path, claimed)
            data = json.loads(Path(claimed).read_text())
        except (OSError, ValueError):
            data = {}
        with contextlib.suppress(OSError):
            os.unlink(claimed)
        return [(str(n), p) for n, p in data.get("modules", [])]

    def _forget(self, child: Child) -> None:
        for path in (child.report, child.learned):
            if path:
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def _preload(self, modules: Sequence[tuple[str, str | None]]) -> list[str]:
        done = preload(select_preload(modules, self.project, self.skip))
        if done.threaded:
            if self.attempt + 1 >= MAX_ATTEMPTS:
                self.plain(f"modules started threads at import: {done.threaded}")
            logger.warning("devstack warm reload: %s started threads; full restart", done.threaded)
            self.stop_all(timeout=3)
            self.restart(skip=done.threaded, attempt=self.attempt + 1)
        warm_caches()
        gc.collect()
        gc.freeze()  # children share the preloaded objects: their GC never touches those pages
        if threading.active_count() != 1:
            self.plain(f"{threading.active_count()} threads run after the preload")
        return done.loaded

    def stop_all(self, timeout: float) -> None:
        for child in (*self.standbys, self.child):
            if child is not None and child.status is None:
                self.stop(child, timeout)
            if child is not None:
                self._forget(child)

    # main loop

    def run(self) -> int:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            signal.signal(signum, signal.SIG_IGN)
            raise _Stop(signum)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
        outside = Outside(self.project.owns)
        try:
            self.reload()
            tree = TreeWatch([self.project.root], self.project.skips)
            for changes in tree.watch(
                watch_filter=lambda _c, p: self.project.change_kind(p) == "project",
                bell=True,
                step=WATCH_STEP_MS,
                rust_timeout=300,
                yield_on_timeout=True,
            ):
                self.reap()
                if not self.warm:
                    self.warm_up()
                    if self.warm:  # watch the libraries just preloaded, as they are now
                        outside.rebase()
                if self.learn():
                    outside.rebase()
                self.fork_standby()
                if changes:
                    trace("parent: changes")
                    paths = sorted({p for _, p in changes})
                    shown = ", ".join(display(p, self.project.root) for p in paths)
                    logger.warning("WatchFiles detected changes in %s. Reloading...", shown)
                    self.reload()
                why = outside.changed()
                if why:
                    raise FullRestart(why)
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
        fallback.restart(self.sock, self.argv, skip=[*self.skip, *skip], attempt=attempt)

    def plain(self, why: str) -> None:
        fallback.plain(self.sock, self.argv, why)
