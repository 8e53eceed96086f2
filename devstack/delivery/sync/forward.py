"""Published ports brought to this machine: one `ssh -N -L` per set of ports, over the same
ssh destination as the engine (ports stay bound to 127.0.0.1 on the engine's host)."""

from __future__ import annotations

import logging
import shlex
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from devstack.delivery.location import Location

log = logging.getLogger("devstack.sync")


@dataclass(frozen=True)
class Forward:
    port: int  # the same number here and on the engine's host, both on 127.0.0.1
    ok: bool
    detail: str = ""


def free_here(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port` here (connections of an earlier forward still in
    TIME_WAIT do not count, as for any server: SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Forwarder:
    """The ssh process holding the forwards; restarted when it dies or the ports change."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: tuple[int, ...] = ()  # forwarded
        self.wanted: tuple[int, ...] = ()
        self.last: list[Forward] = []

    def ensure(self, ports: Sequence[int]) -> list[Forward]:
        if not self.location.can_forward:
            why = f"a {self.location.scheme}:// engine has no channel to forward over"
            return [Forward(p, False, why) for p in ports]
        wanted = tuple(sorted(set(ports)))
        if self.proc is not None and self.proc.poll() is None and wanted == self.wanted:
            return self.last
        self.close()
        usable = [p for p in wanted if free_here(p)]
        out = [Forward(p, False, "the port is taken on this machine") for p in wanted
               if p not in usable]  # fmt: skip
        if not usable:
            return out
        cmd = ["ssh", "-N", "-o", "ExitOnForwardFailure=yes", "-o", "ControlMaster=no",
               "-o", "ControlPath=none", "-o", "ServerAliveInterval=5",
               "-o", "BatchMode=yes"]  # fmt: skip
        for p in usable:
            cmd += ["-L", f"127.0.0.1:{p}:127.0.0.1:{p}"]
        cmd += list(self.location.ssh_target)
        log.debug("%s", shlex.join(cmd))
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.ports, self.wanted = tuple(usable), wanted
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None and not self.listening():
            time.sleep(0.05)
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            why = f"ssh -L failed: {err.strip()[-200:] or self.proc.returncode}"
            self.proc, self.ports = None, ()
            self.last = out + [Forward(p, False, why) for p in usable]
        else:
            self.last = out + [Forward(p, True) for p in usable]
        return self.last

    def listening(self) -> bool:
        """Every forwarded port accepts connections here."""
        for p in self.ports:
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", p)) != 0:
                    return False
        return True

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.ports = self.wanted = ()
