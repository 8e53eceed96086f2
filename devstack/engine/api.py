"""The engine's HTTP API on its local unix socket, for the read paths (container list and
inspect, logs without -f): no docker process to start, which costs more than the read itself.

Used only when the docker CLI would use a unix socket too (its address, `address.resolve`,
is unix://); otherwise, or when the socket cannot be opened, the
callers run the docker CLI (`runner`) as before. Stdlib only.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from devstack.engine import trace
from devstack.errors import ComposeError, DevstackError, EngineUnavailable

if TYPE_CHECKING:
    from datetime import datetime

# The read commands (`ps`, `logs`) import this module and little else; what only other paths
# use (logging, threads, dates, the address resolver) is imported where it is used.

VERSION = "v1.41"  # Docker 20.10; every later engine still serves it
DEFAULT_SOCKET = "/var/run/docker.sock"  # address.DEFAULT_HOST's
_TIMEOUT = 30.0


class Unusable(Exception):
    """The socket cannot be used (missing, refused, no permission): take the CLI path."""


def socket_path(environ: Mapping[str, str] | None = None) -> str | None:
    """The engine's unix socket when the docker CLI would talk to a local engine through it
    (its address, `address.resolve`, is unix://); None otherwise (ssh://, tcp://, a context
    that cannot be read)."""
    from devstack.engine import address

    return address.resolve(environ).socket


@contextmanager
def local(environ: Mapping[str, str] | None = None) -> Iterator[Api | None]:
    """A client of the engine's local socket, or None (a remote engine, another context):
    the read paths then run the docker CLI. A socket that cannot be opened is noted and
    left for the CLI path too, which reports the engine as the CLI does."""
    path = socket_path(environ)
    if path is None:
        yield None
        return
    try:
        yield Api(path)
    except Unusable as exc:
        trace.debug(__name__, "engine socket unusable (%s): running docker", exc)


class BadResponse(Exception):
    """What came back is not an HTTP response."""


def _request(
    path: str, target: str, body: Any = None, timeout: float = _TIMEOUT, method: str = ""
) -> tuple[int, bytes]:
    """GET `target` on the unix socket at `path` (POST `body` as JSON when given, or
    `method`), one connection per request (a unix socket connects in microseconds):
    (status, body). Written out rather than with http.client, whose import (email's
    parsers) costs more than the request."""
    method = method or ("GET" if body is None else "POST")
    request = f"{method} {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        request += "Content-Type: application/json\r\n"
    if body is not None or method != "GET":
        request += f"Content-Length: {len(payload)}\r\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(request.encode() + b"\r\n" + payload)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise BadResponse(status_line[:100])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunked(body)
    elif headers.get("content-length", "").isdigit():
        body = body[: int(headers["content-length"])]
    return int(parts[1]), body


def _dechunked(data: bytes) -> bytes:
    out: list[bytes] = []
    at = 0
    while True:
        end = data.find(b"\r\n", at)
        if end < 0:
            raise BadResponse("a chunk without its size line")
        size = int(data[at:end].split(b";")[0] or b"0", 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        if end + 2 + size > len(data):
            raise BadResponse("a chunk cut short")
        at = end + 2 + size + 2


class Api:
    """The engine's API on its unix socket at `path`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def get(
        self,
        what: str,
        url: str,
        query: Mapping[str, str] | None = None,
        *,
        post: Any = None,
        timeout: float | None = None,
        method: str = "",
    ) -> bytes:
        """The body of GET /VERSION/url (POST of `post` as JSON, when given, or `method`).
        KeyError for 404 (no such container); TimeoutError past a `timeout` given; Unusable
        when the socket cannot be opened; devstack errors for the rest, as the CLI's."""
        full = f"/{VERSION}{url}" + (f"?{urlencode(query)}" if query else "")
        method = method or ("GET" if post is None else "POST")
        trace.debug(__name__, "%s unix://%s%s", method, self.path, full)
        try:
            status, body = _request(self.path, full, post, timeout or _TIMEOUT, method)
        except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
            raise Unusable(f"{self.path}: {exc}") from exc
        except TimeoutError:
            if timeout is None:
                raise EngineUnavailable(
                    "the Docker engine does not answer",
                    hint="start Docker (or scripts/ensure-docker); check `docker info`",
                    details=f"{method} {full}: no answer in {_TIMEOUT:.0f}s",
                ) from None
            raise
        except (OSError, ValueError, BadResponse) as exc:
            raise EngineUnavailable(
                "the Docker engine does not answer",
                hint="start Docker (or scripts/ensure-docker); check `docker info`",
                details=f"{method} {full}: {exc}",
            ) from exc
        if status == 404:
            raise KeyError(url)
        if status >= 400:
            message = _message(body)
            raise ComposeError(
                f"{what} failed (the engine answered {status}: {message})",
                command=[method, f"unix://{self.path}{full}"],
                return_code=status,
                stderr=message,
            )
        return body

    def containers(
        self, labels: list[str] | None = None, *, ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """`GET /containers/json` of all containers with every one of `labels` (and one of
        `ids`, when given), newest first as `docker container ls -a`: Id, Names, Labels…"""
        filters = json.dumps({"label": labels or [], **({"id": ids} if ids else {})})
        data = json.loads(self.get("ps", "/containers/json", {"all": "1", "filters": filters}))
        assert isinstance(data, list)
        return data

    def inspect(self, container_id: str) -> dict[str, Any]:
        """`docker container inspect`'s object for one container; KeyError when it is gone."""
        data = json.loads(self.get("ps", f"/containers/{quote(container_id)}/json"))
        assert isinstance(data, dict)
        return data

    def networks(self, labels: list[str]) -> list[dict[str, Any]]:
        """`GET /networks` of the networks with every one of `labels`: Id, Name…"""
        filters = json.dumps({"label": labels})
        data = json.loads(self.get("network ls", "/networks", {"filters": filters}))
        assert isinstance(data, list)
        return data

    def volumes(self, labels: list[str]) -> list[str]:
        """The names of the volumes with every one of `labels` (`docker volume ls -q`)."""
        return list(self.volume_labels(labels))

    def volume_labels(self, labels: list[str]) -> dict[str, dict[str, str]]:
        """The volumes with every one of `labels`, each with all its labels."""
        filters = json.dumps({"label": labels})
        data = json.loads(self.get("volume ls", "/volumes", {"filters": filters}))
        assert isinstance(data, dict)
        return {str(v["Name"]): dict(v.get("Labels") or {}) for v in data.get("Volumes") or []}

    def execute(self, container_id: str, command: list[str], timeout: float) -> tuple[int, str]:
        """Run `command` in the running container as `docker exec` does, without a docker
        process: (exit code, stdout and stderr). KeyError when the container is gone;
        TimeoutError when it runs longer than `timeout` (it is left running there)."""
        spec = {"Cmd": command, "AttachStdout": True, "AttachStderr": True}
        created = json.loads(self.get("exec", f"/containers/{quote(container_id)}/exec", post=spec))
        exec_id = quote(str(created["Id"]))
        started = self.get("exec", f"/exec/{exec_id}/start", post={"Detach": False, "Tty": False},
                           timeout=timeout)  # fmt: skip
        output = b"".join(payload for _, payload in frames(started))
        state = json.loads(self.get("exec", f"/exec/{exec_id}/json"))
        code = state.get("ExitCode") if isinstance(state, dict) else None
        return (code if isinstance(code, int) else 1), output.decode(errors="replace")

    def image(self, name: str) -> dict[str, Any]:
        """`docker image inspect`'s object for a local image; KeyError when it is not here."""
        data = json.loads(self.get("image inspect", f"/images/{quote(name, safe='/:@')}/json"))
        assert isinstance(data, dict)
        return data

    def logs(
        self, container_id: str, *, tail: int | None, since: float | None, timestamps: bool = True
    ) -> list[str]:
        """The container's log so far, "TIMESTAMP text" per line (stdout and stderr)."""
        query = {"stdout": "1", "stderr": "1", "timestamps": "1" if timestamps else "0"}
        query["tail"] = "all" if tail is None else str(tail)
        if since is not None:
            query["since"] = f"{since:.9f}"
        body = self.get("logs", f"/containers/{quote(container_id)}/logs", query)
        return [line.decode(errors="replace") for line in lines(body)]


def healthcheck_of(client: Api, image: str) -> bool | None:
    """Whether a local image has a HEALTHCHECK; None when the image is not here."""
    try:
        check = (client.image(image).get("Config") or {}).get("Healthcheck")
    except (KeyError, DevstackError):
        return None
    return isinstance(check, dict) and "NONE" not in (check.get("Test") or [])


def project_volumes(client: Api, project: str) -> list[str]:
    """The names of the compose project's volumes, sorted."""
    return sorted(client.volumes([f"com.docker.compose.project={project}"]))


def project_containers(client: Api, project: str) -> list[dict[str, Any]]:
    """Every container of the compose project (one-off ones too), inspected."""
    found = []
    for c in client.containers([f"com.docker.compose.project={project}"]):
        try:
            found.append(client.inspect(str(c["Id"])))
        except KeyError:  # removed between the two calls
            continue
    return found


def project_logs(
    client: Api, project: str, services: Sequence[str], *, tail: int | None, since: float | None
) -> list[tuple[str, str]]:
    """(service, "TIMESTAMP text") for the log so far of each of the services' containers
    (all services when none are named; one-off containers left out, as compose does)."""
    labels = [f"com.docker.compose.project={project}", "com.docker.compose.oneoff=False"]
    listed = [
        (str(c["Id"]), str((c.get("Labels") or {}).get("com.docker.compose.service")))
        for c in client.containers(labels)
    ]
    picked = [(cid, svc) for cid, svc in listed if not services or svc in services]
    return read_logs(client.path, picked, tail=tail, since=since)


def read_logs(
    path: str, containers: list[tuple[str, str]], *, tail: int | None, since: float | None
) -> list[tuple[str, str]]:
    """(service, "TIMESTAMP text") for each (id, service) in `containers`, their logs read
    side by side (one connection each); a container removed meanwhile has none."""
    import threading

    results: list[list[str] | BaseException] = [[] for _ in containers]

    def read(i: int, container_id: str) -> None:
        try:
            results[i] = Api(path).logs(container_id, tail=tail, since=since)
        except KeyError:
            pass
        except BaseException as exc:  # raised below, in the caller's thread
            results[i] = exc

    threads = [
        threading.Thread(target=read, args=(i, cid), daemon=True)
        for i, (cid, _) in enumerate(containers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found: list[tuple[str, str]] = []
    for (_, service), result in zip(containers, results, strict=True):
        if isinstance(result, BaseException):
            raise result
        found += [(service, line) for line in result]
    return found


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip()[:300]
    return str(data.get("message", "")) if isinstance(data, dict) else str(data)


def frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The (stream, payload) frames of a log stream of a container without a TTY: an 8-byte
    header (stream 0/1/2, three zero bytes, payload length big-endian) before each payload.
    A TTY container's stream has no headers: it is one stdout frame (with timestamps on,
    it starts with a digit, never with a header's 0, 1 or 2)."""
    if not data or data[0] not in (0, 1, 2):
        if data:
            yield 1, data
        return
    at = 0
    while at + 8 <= len(data):
        stream, size = data[at], int.from_bytes(data[at + 4 : at + 8], "big")
        yield stream, data[at + 8 : at + 8 + size]
        at += 8 + size


def lines(data: bytes) -> Iterator[bytes]:
    """The log's lines (without "\\n" or "\\r\\n"), each stream's frames joined first: a
    long line may span frames. Lines come in the order they were completed."""
    pending: dict[int, bytes] = {}
    for stream, payload in frames(data):
        buf = pending.get(stream, b"") + payload
        *done, rest = buf.split(b"\n")
        pending[stream] = rest
        for line in done:
            yield line.removesuffix(b"\r")
    for rest in pending.values():
        if rest:
            yield rest.removesuffix(b"\r")


_DURATION = r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)"
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def since_seconds(value: str, now: datetime | None = None) -> float | None:
    """`--since` as the API wants it (Unix seconds): a Go duration ("10m", "1h30m") before
    now, an RFC 3339 time, a date or Unix seconds. None for what the docker CLI reads but
    this does not (the caller then runs the CLI)."""
    import re
    from datetime import UTC, datetime, timedelta, timezone

    value = value.strip()
    now = now or datetime.now(UTC)
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    if re.sub(_DURATION, "", value) == "" and value:
        secs = sum(float(n) * _UNITS[u] for n, u in re.findall(_DURATION, value))
        return (now - timedelta(seconds=secs)).timestamp()
    m = re.fullmatch(
        r"(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?)?(Z|[+-]\d\d:\d\d)?", value
    )
    if not m:
        return None
    date, clock, frac, zone = m.groups()
    try:
        when = datetime.fromisoformat(f"{date}T{clock or '00:00:00'}")
    except ValueError:
        return None
    if zone:
        offset = 0 if zone == "Z" else int(zone[1:3]) * 60 + int(zone[4:6])
        tz = timezone(timedelta(minutes=offset if zone[0] != "-" else -offset))
        when = when.replace(tzinfo=tz)
    else:  # the docker CLI reads a time without a zone as local time
        when = when.astimezone()
    return when.timestamp() + (float(f"0.{frac}") if frac else 0.0)
