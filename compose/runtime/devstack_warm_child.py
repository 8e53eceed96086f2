"""A warm reloader child: forked from the (warm) parent ahead of the change it serves, it makes
its server and event loop, waits there for its go, then imports the app fresh and serves on
the inherited socket; told to stop, it stops accepting at once and says so. Needs uvicorn."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

from devstack_warm_policy import write_modules

FRESH_CONNECTION_GRACE = 0.5  # a stopping child waits this long for requests on their way
EXIT_APP_FAILED = 3  # the app did not import or start: the user's code, not the parent's state
logger = logging.getLogger("uvicorn.error")
TRACE = bool(os.environ.get("DEVSTACK_WARM_TRACE"))


def trace(what: str) -> None:
    if TRACE:
        print(f"devstack-warm-trace {time.monotonic():.4f} {os.getpid()} {what}", file=sys.stderr)


@dataclass
class Pipes:
    """A child's ends: `go` (the parent writes b"g" when it may serve), `notify` (written
    b"c" once it stopped accepting), where to write what the app loaded at import while the
    parent is cold (`report`), and what it imported since, while serving (`learned`: modules
    imported lazily, on a first request or a first use; the parent preloads them too)."""

    go: int
    notify: int
    report: str | None = None
    learned: str | None = None


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):  # type: ignore[misc]
        """Loads the app only once its go came (its loop and config made ahead); stops
        accepting as soon as it is told to stop, and says so on `notify`."""

        def __init__(self, config: Any, pipes: Pipes) -> None:
            super().__init__(config)
            self._pipes, self._loop = pipes, None
            self._known: set[str] = set()  # the modules once the app was loaded
            self._reported = 0  # len(sys.modules) when `learned` was last written
            self.app_failed = False

        async def serve(self, sockets: list[socket.socket] | None = None) -> None:
            self._loop = asyncio.get_running_loop()
            if not await self._wait_go():
                return  # the parent stopped or replaced this child before it served
            trace("child: go")
            if not self._load():
                self.app_failed = True
                return
            await super().serve(sockets)

        async def _wait_go(self) -> bool:
            loop, go = asyncio.get_running_loop(), self._pipes.go
            readable = loop.create_future()
            loop.add_reader(go, lambda: readable.done() or readable.set_result(None))
            try:
                await readable
            finally:
                loop.remove_reader(go)
            got = os.read(go, 1)
            os.close(go)
            return got == b"g"

        def _load(self) -> bool:
            """Imports the app fresh, as uvicorn would in its running loop."""
            sys.path.insert(0, os.getcwd())
            importlib.invalidate_caches()
            try:
                self.config.load()
            except SystemExit:
                return False
            except Exception:
                logger.exception("Error loading ASGI app %r", self.config.app)
                return False
            trace("child: loaded")
            if self._pipes.report:  # the parent is cold: what to preload
                write_modules(self._pipes.report)
            self._known = set(sys.modules)
            self._reported = len(self._known)
            return True

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            trace("child: serving")
            if self.should_exit:
                self._stop_accepting()

        async def on_tick(self, counter: int) -> bool:
            """Every 0.1 s: when modules were imported since the app loaded (and no request
            is in flight), tell the parent, which preloads them for the next children."""
            learned, now = self._pipes.learned, len(sys.modules)
            if learned and now != self._reported and not self.server_state.tasks:
                self._reported = now
                if not self.should_exit:
                    write_modules(learned, since=self._known)
            return bool(await super().on_tick(counter))

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._stop_accepting)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            """uvicorn's shutdown closes every connection that has no request yet; one this
            child accepted just before it stopped accepting, whose request is still on its
            way, would be closed unanswered (the client sees a reset). Such connections get
            a moment to send their request and are answered (by this, the old, code)."""
            self._stop_accepting()
            deadline = time.monotonic() + FRESH_CONNECTION_GRACE
            while time.monotonic() < deadline and any(
                getattr(c, "cycle", False) is None for c in self.server_state.connections
            ):
                await asyncio.sleep(0.005)
            await super().shutdown(sockets)

        def _stop_accepting(self) -> None:
            servers = getattr(self, "servers", [])
            for server in servers:
                server.close()
            if servers and self._pipes.notify >= 0:
                os.write(self._pipes.notify, b"c")
                os.close(self._pipes.notify)
                self._pipes.notify = -1

    return Server


def serve_child(config_kwargs: dict[str, Any], sock: socket.socket, pipes: Pipes) -> int:
    """Runs in the forked child: make the config, the server and its loop, wait there for
    the go, import the app fresh, serve; return an exit code. A child is forked ahead of the
    change it serves: all but the app's import and start-up is off the reload's path."""
    import uvicorn

    server = _server_class()(uvicorn.Config(**config_kwargs), pipes)
    server.run(sockets=[sock])
    if server.app_failed:
        return EXIT_APP_FAILED
    return 0 if server.started or not server.config.loaded else EXIT_APP_FAILED


@dataclass
class Child:
    pid: int
    go: int  # parent writes b"g" when the child may serve
    notify: int  # child writes b"c" once it stopped accepting; EOF when it exited
    stopping: bool = False
    status: int | None = None
    report: str | None = None  # where it writes what the app loaded, while the parent is cold
    learned: str | None = None  # where it writes what it imported while serving
