"""The warm reloader's ways out: a full restart (execv of itself, keeping the listening socket,
so no connection is refused) and the fall back to plain `uvicorn --reload`. Stdlib only."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE_VARS = ("DEVSTACK_WARM_FD", "DEVSTACK_WARM_SKIP", "DEVSTACK_WARM_ATTEMPT")
logger = logging.getLogger("uvicorn.error")


def restart(sock: socket.socket, argv: Sequence[str], *, skip: Sequence[str], attempt: int) -> None:
    """execv the reloader again; the listening socket survives (no refused connection)."""
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    env = dict(os.environ)
    env.update(
        DEVSTACK_WARM_FD=str(fd),
        DEVSTACK_WARM_SKIP=",".join(skip),
        DEVSTACK_WARM_ATTEMPT=str(attempt),
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, str(HERE / "devstack_warm.py"), *argv], env)


def plain(sock: socket.socket, argv: Sequence[str], why: str) -> None:
    logger.warning("devstack warm reload: %s; falling back to uvicorn --reload", why)
    sock.close()
    argv = [sys.executable, str(HERE / "devstack_uvicorn.py"), "--reload", *argv]
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
