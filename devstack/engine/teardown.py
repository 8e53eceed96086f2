"""`down` on a local engine through its API: every container of the project (one-off and
orphaned ones too, as `down --remove-orphans`) stopped at once with the stop timeout and
removed as soon as it stopped, then the project's networks (and with `volumes` its volumes
and the containers' anonymous ones) removed.

What `docker compose down` does, without its ~0.2 s of start-up and project loading before
the first container is asked to stop. Progress lines go to the sink as compose's do
("Container NAME Removed"), so that callers count what was removed the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from devstack.engine.api import Api
from devstack.errors import ComposeError, EngineUnavailable

Sink = Callable[[str], None]


def down(client: Api, project: str, *, volumes: bool, timeout: int, sink: Sink | None) -> None:
    label = f"com.docker.compose.project={project}"
    lock = threading.Lock()

    def say(line: str) -> None:
        if sink:
            with lock:
                sink(line)

    failures: list[BaseException] = []
    threads = [
        threading.Thread(
            target=_remove, args=(client, c, volumes, timeout, say, failures), daemon=True
        )
        for c in client.containers([label])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    for network in client.networks([label]):
        name = str(network.get("Name", ""))
        _gone(client, "network rm", f"/networks/{quote(str(network['Id']))}", "DELETE")
        say(f"Network {name} Removed")
    if volumes:
        for volume in client.volumes([label]):
            _gone(client, "volume rm", f"/volumes/{quote(volume)}", "DELETE")
            say(f"Volume {volume} Removed")


def _remove(
    client: Api,
    container: dict[str, Any],
    volumes: bool,
    timeout: int,
    say: Sink,
    failures: list[BaseException],
) -> None:
    """Stop (SIGTERM, SIGKILL after `timeout`) and remove one container."""
    cid = quote(str(container["Id"]))
    name = str((container.get("Names") or [cid])[0]).lstrip("/")
    try:
        if container.get("State") in ("running", "restarting", "paused"):
            say(f"Container {name} Stopping")
            stop = f"/containers/{cid}/stop"
            _gone(client, "stop", stop, "POST", {"t": str(timeout)}, timeout=timeout + 30)
            say(f"Container {name} Stopped")
        query = {"force": "1", "v": "1" if volumes else "0"}
        _gone(client, "rm", f"/containers/{cid}", "DELETE", query)
        say(f"Container {name} Removed")
    except BaseException as exc:  # raised in the caller's thread
        failures.append(exc)


def _gone(
    client: Api,
    what: str,
    url: str,
    method: str,
    query: dict[str, str] | None = None,
    timeout: float | None = None,
) -> None:
    """An engine call on an object that may be gone already (404) or going (409)."""
    try:
        client.get(what, url, query, method=method, timeout=timeout)
    except KeyError:
        pass
    except TimeoutError:
        raise EngineUnavailable(
            f"the Docker engine did not answer {method} {url} in {timeout:.0f}s",
            hint="check `docker info`; `devstack down` again finishes the teardown",
        ) from None
    except ComposeError as exc:
        if exc.return_code != 409 or "in progress" not in exc.stderr:
            raise
