"""Engine errors into devstack errors that keep the command, exit code and stderr."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from devstack.engine.runner import Failed, without_noise
from devstack.errors import ComposeError, ConfigError, EngineUnavailable

_ENGINE_DOWN = (
    "cannot connect to the docker daemon",
    "error during connect",
    "is the docker daemon running",
    "connection refused",
    "no such host",
)
_NO_COMPOSE = (
    "'compose' is not a docker command",
    "unknown command: docker compose",
    "unknown shorthand flag: 'p'",
    "unknown shorthand flag: 'f'",
    "unknown flag: --file",
)
_BAD_COMPOSE = (
    "yaml:",
    "validating",
    "services.",
    "invalid compose project",
    "additional properties",
    "unknown service",
    "no such service",
)

_PORT_TAKEN = re.compile(r"(?:listen tcp[46]? |Bind for )(?P<ip>[\d.:\[\]]*?):(?P<port>\d+)")
_ENDPOINT = re.compile(r"endpoint (?P<name>[\w.-]+?)(?:-\d+)? ")


def port_taken(stderr: str, command: list[str]) -> ComposeError | None:
    if "address already in use" not in stderr and "port is already allocated" not in stderr:
        return None
    port = _PORT_TAKEN.search(stderr)
    endpoint = _ENDPOINT.search(stderr)
    where = f"{port['ip'] or '0.0.0.0'}:{port['port']}" if port else "a host port"
    wanted = f" (wanted by {endpoint['name']})" if endpoint else ""
    return ComposeError(
        f"{where} is already taken{wanted}",
        command=command,
        stderr=stderr,
        hint=f"stop what listens there (`ss -ltnp 'sport = :{port['port'] if port else 'PORT'}'`), "
        "or change the service's published port in your compose file",
    )


def engine_error(exc: Failed, what: str, output: Sequence[str] = ()) -> Exception:
    """The devstack error for a failed engine command; `output` is what it printed, where
    it was streamed (compose prints build logs on stdout, not in the error's stderr)."""
    stderr = without_noise(exc.stderr or "").strip()
    low = stderr.lower()
    command = [str(c) for c in exc.docker_command]
    taken = port_taken(stderr, command)
    if taken:
        return taken
    if any(s in low for s in _NO_COMPOSE):
        return EngineUnavailable(
            "docker compose (v2) is not installed",
            hint="install the Compose v2 plugin (scripts/ensure-docker does it), "
            "then check `docker compose version`",
            details=stderr,
        )
    from devstack.engine import buildsteps, pulls  # parsed only when a command failed

    text = "\n".join([stderr, *output])
    step = buildsteps.parse(text)  # a step that ran and failed: never a pull failure
    if step:
        lines = "\n".join(step.lines)
        return ComposeError(
            f"{what} failed at {step.describe()} (exit {exc.return_code})"
            if step.command
            else f"{what} failed: a build step failed (exit {exc.return_code})",
            command=command,
            return_code=exc.return_code,
            stderr=f"{lines}\n{stderr}" if lines else stderr,
            output="\n".join(output),
            step_log=lines,
        )
    pull = pulls.parse(text)
    if pull:
        return pulls.error(pull, details=_pull_lines(text))
    if any(s in low for s in _ENGINE_DOWN) and "port is already allocated" not in low:
        return EngineUnavailable(
            "the Docker engine does not answer",
            hint="start Docker (or scripts/ensure-docker), or fix DOCKER_HOST; check `docker info`",
            details=stderr,
        )
    if what == "config" or (any(s in low for s in _BAD_COMPOSE) and "build" not in what):
        return ConfigError(
            f"the compose project is invalid: {_first_line(stderr)}",
            hint="fix the compose file it names, then `devstack config` to check",
            details=stderr,
        )
    return ComposeError(
        f"{what} failed (exit {exc.return_code})",
        command=command,
        return_code=exc.return_code,
        stderr=stderr,
        output="\n".join(output),
    )


def _pull_lines(text: str) -> str:
    """The lines about the failed pull, once each (compose repeats the daemon's error)."""
    keep = [line.strip() for line in text.splitlines() if "rror" in line or "failed" in line]
    return "\n".join(dict.fromkeys(keep))[-2000:]


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), text)[:300]


@contextmanager
def translated(what: str, output: Sequence[str] = ()) -> Iterator[None]:
    """A failed docker command in the block becomes the devstack error for `what`."""
    try:
        yield
    except Failed as exc:
        raise engine_error(exc, what, output) from exc
