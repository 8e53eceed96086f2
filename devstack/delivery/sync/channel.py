"""The host's end of the in-container agent: one `docker exec -i` kept open through the
engine (so over the same ssh channel as every other docker command), framed requests."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.errors import DevstackError, EngineUnavailable

if TYPE_CHECKING:
    from devstack.engine import EngineClient

AGENT = (Path(__file__).with_name("_agent.py")).read_text()
MARKER = "/tmp/.devstack-synced"  # the app's command waits for it (delivery/synced.py)


class ChannelLost(EngineUnavailable):
    """The engine, the channel to it or the container went away mid-sync."""


class Channel:
    """A running agent in `container_id`, syncing into `root`."""

    def __init__(self, engine: EngineClient, container_id: str, root: str) -> None:
        self.container_id = container_id
        self.root = root
        self._lock = threading.Lock()
        self.proc = engine.exec_stream(container_id, ["python3", "-u", "-c", AGENT], user="0")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def _call(self, request: dict[str, Any], payload: bytes = b"") -> tuple[dict[str, Any], bytes]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        request = {**request, "root": self.root}
        if payload:
            request["size"] = len(payload)
        with self._lock:
            try:
                stdin.write((json.dumps(request) + "\n").encode())
                if payload:
                    stdin.write(payload)
                stdin.flush()
                line = stdout.readline()
                if not line:
                    raise ChannelLost(*self._lost())
                head: dict[str, Any] = json.loads(line)
                size = int(head.get("size", 0))
                data = stdout.read(size) if size else b""
                if len(data) != size:
                    raise ChannelLost(*self._lost())
            except (BrokenPipeError, ConnectionError, ValueError) as exc:
                raise ChannelLost(*self._lost(str(exc))) from None
        if not head.get("ok"):
            raise DevstackError(
                f"the sync agent in the app container failed: {head.get('error')}",
                hint="`devstack logs app` and `devstack -v up` show more",
            )
        return head, data

    def _lost(self, why: str = "") -> tuple[str]:
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
        detail = (err or why or f"exit {self.proc.returncode}").splitlines()[-1][:300]
        if "dial-stdio" in detail or "exit status 255" in detail:  # docker's ssh helper
            detail = "the ssh connection to the engine's host closed"
        return (f"the sync channel to the app container dropped: {detail}",)

    def manifest(self) -> tuple[dict[str, tuple[str, int, int, int, str]], bool]:
        """The container's tree, and whether a sync already made it ready (the marker)."""
        head, data = self._call({"op": "manifest", "marker": MARKER})
        raw: dict[str, list[Any]] = json.loads(data or b"{}")
        tree = {k: (str(v[0]), int(v[1]), int(v[2]), int(v[3]), str(v[4])) for k, v in raw.items()}
        return tree, bool(head.get("synced"))

    def apply(self, delete: list[str], tar: bytes) -> list[str]:
        head, _ = self._call({"op": "apply", "delete": delete}, tar)
        return [str(e) for e in head.get("errors", [])]

    def pull(self, paths: list[str]) -> bytes:
        return self._call({"op": "pull", "paths": paths})[1]

    def ready(self) -> None:
        self._call({"op": "ready", "marker": MARKER})
