"""A warm reloader child: forked from the (warm) parent ahead of the change it serves, it waits
for its go, imports the app fresh and runs uvicorn's Server on the inherited socket; told to
stop, it stops accepting at once and says so. Needs uvicorn."""

from __future__ import annotations

import asyncio
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
