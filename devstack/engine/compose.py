"""A compose project on the engine: the Engine class (the real EngineClient).

Its command lines come from `command` (one builder), run through `runner` (one runner);
the read paths use the engine's API on a local socket (`api`) when there is one."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from devstack.engine import api, runner, trace
from devstack.engine.client import LineSink
from devstack.engine.command import CLI, Cli, ComposeProject
from devstack.engine.direct import DirectCalls
from devstack.engine.held import Background, HeldRun, held_command
from devstack.engine.state import ContainerState, parse_state
from devstack.engine.translate import engine_error, translated
from devstack.errors import ComposeError, DevstackError, EngineTimeout, ImageUnavailable

# `docker rm -f` on a container that is going away by itself
_BEING_REMOVED = ("is already in progress", "no such container")


class Engine(DirectCalls):
    """A compose project on the engine (`cli` aims every command at it)."""

    def __init__(
        self,
        *,
        project_dir: Path,
        files: Sequence[Path],
        project_name: str | None = None,
        cli: Cli = CLI,
    ) -> None:
        self.project_dir = project_dir
        self.files = list(files)
        self.project_name = project_name
        self.cli = cli
        self.project = ComposeProject(project_dir, tuple(files), project_name)

    def _compose(self, *args: str) -> list[str]:
        return self.cli.compose(self.project, *args)

    def _stream(self, args: Sequence[str], what: str, sink: LineSink | None) -> str:
        """Run a compose command, its output lines to `sink` as they come. On Ctrl-C compose
        (which got it too) is given time to finish: a `run --rm` removes its container."""
        out: list[str] = []
        try:
            with (
                translated(what, out),
                closing(runner.stream(self._compose(*args), wait=True)) as lines,
            ):
                for line in lines:
                    out.append(line)
                    if sink:
                        sink(line)
        except ImageUnavailable as exc:
            raise self._pull_error(exc) from exc.__cause__
        return "\n".join(out)

    def _pull_error(self, exc: ImageUnavailable) -> ImageUnavailable:
        """The pull error with the image as compose resolved it and the variable that
        picks it in the user's compose files."""
        import yaml

        from devstack.engine import pulls

        failure = pulls.parse(exc.details)
        if failure is None:
            return exc
        raw: list[dict[str, Any]] = []
        for path in self.files:
            try:
                data = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(data, dict):
                raw.append(data)
        try:
            resolved = self.config()
        except DevstackError:
            resolved = {}
        image, variable = pulls.image_variable(raw, resolved, failure)
        name = pulls.normalized(image).rsplit(":", 1)[0].rsplit("/", 1)[-1] if image else ""
        local = [
            tag
            for tag in (self._local_tags() if name else [])
            if tag.rsplit(":", 1)[0].rsplit("/", 1)[-1] == name
        ]
        return pulls.error(
            failure, image=image, variable=variable, local=local, details=exc.details
        )

    def _local_tags(self) -> list[str]:
        listed = runner.run(self.cli.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}"))
        return listed.out.splitlines() if listed.code == 0 else []

    # ---- project -------------------------------------------------------------

    def config(self, services: Sequence[str] = ()) -> dict[str, Any]:
        """The resolved model; with `services`, only those (enabled whatever their profile)."""
        with translated("config"):
            model = json.loads(
                runner.output(self._compose("config", "--format", "json", *services))
            )
        assert isinstance(model, dict)
        return model

    def config_yaml(self) -> str:
        with translated("config"):
            return runner.output(self._compose("config"))

    def build(self, services: Sequence[str], *, sink: LineSink | None = None) -> None:
        if services:
            self._stream(["build", *services], "build", sink)

    def up(
        self,
        services: Sequence[str],
        *,
        build: bool | None = None,
        sink: LineSink | None = None,
        networked: Callable[[], None] | None = None,
    ) -> None:
        """Create and start `services` without their dependencies; returns at once.
        `networked` is called once the project's networks exist: at compose's first line
        about a container (it makes the networks first), else when it is done."""
        if not services:
            return
        args = ["up", "--detach", "--no-deps", "--remove-orphans"]
        if build is True:
            args.append("--build")
        elif build is False:
            args.append("--no-build")
        told = networked is None

        def watch(line: str) -> None:
            nonlocal told
            if not told and line.split(None, 1)[:1] == ["Container"]:
                told = True
                assert networked is not None
                networked()
            if sink:
                sink(line)

        self._stream([*args, *services], "up", watch)
        if not told and networked is not None:
            networked()

    def up_started(self, services: Sequence[str], *, build: bool | None = None) -> Background:
        """`up` run in the background: wait() hands on its lines and raises its error."""
        return Background(lambda sink: self.up(services, build=build, sink=sink))

    def down(self, *, volumes: bool, timeout: int, sink: LineSink | None = None) -> None:
        """Stop and remove the project's containers and networks (and volumes): through
        the engine's API on a local socket (`teardown`), else with compose."""
        if self.project_name:
            with api.local() as client:
                if client:
                    from devstack.engine import teardown

                    teardown.down(
                        client, self.project_name, volumes=volumes, timeout=timeout, sink=sink
                    )
                    return
        self._stream(
            [
                "down",
                "--remove-orphans",
                "--timeout",
                str(timeout),
                *(["--volumes"] if volumes else []),
            ],
            "down",
            sink,
        )

    def stop(self, services: Sequence[str], *, timeout: int) -> None:
        self._stream(["stop", "--timeout", str(timeout), *services], "stop", None)

    # ---- containers ----------------------------------------------------------

    def container_ids(self, project: str) -> list[str]:
        """Ids of every container of the project, one-off ones included (one engine call)."""
        label = f"com.docker.compose.project={project}"
        with api.local() as client:
            if client:
                return [str(c["Id"]) for c in client.containers([label])]
        with translated("ps"):
            cmd = self.cli.docker(
                "container", "ls", "-aq", "--no-trunc", "--filter", f"label={label}"
            )
            return runner.output(cmd).split()

    def containers(self, project: str, *, oneoff: bool | None = False) -> list[ContainerState]:
        """The project's service containers (one-off ones with `oneoff`, all with None),
        straight from the engine: its API on a local socket, else two docker calls."""
        states = [parse_state(c) for c in self._inspected(project)]
        return [s for s in states if oneoff is None or s.oneoff == oneoff]

    def _inspected(self, project: str) -> list[dict[str, Any]]:
        with api.local() as client:
            if client:
                return api.project_containers(client, project)
        ids = self.container_ids(project)
        if not ids:
            return []
        try:
            with translated("ps"):
                raw = json.loads(runner.output(self.cli.docker("container", "inspect", *ids)))
        except ComposeError as exc:
            if "no such container" in exc.stderr.lower():  # removed between the two calls
                return self._inspected(project)
            raise
        assert isinstance(raw, list)
        return raw

    def probe(self, container_id: str, test: Sequence[str], timeout: float) -> tuple[bool, str]:
        """Run a container's health-check command now, as the engine would."""

        kind, *rest = test
        command = ["/bin/sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
        cmd = self.cli.docker("exec", container_id, *command)
        with api.local() as client:  # no docker process (~0.1 s of CPU) per run of the check
            if client:
                try:
                    code, output = client.execute(container_id, command, timeout)
                except KeyError:
                    return False, "container is gone"
                except (TimeoutError, ComposeError) as exc:  # not running (409), timed out
                    return False, str(exc)
                trace.debug(__name__, "probe %s: exit %s", shlex.join(cmd), code)
                return code == 0, output.strip()
        try:
            done = runner.run(self.cli.docker("exec", container_id, *command), timeout=timeout)
        except EngineTimeout as exc:
            return False, exc.message
        trace.debug(__name__, "probe %s: exit %s", shlex.join(cmd), done.code)
        if done.code != 0 and "no such container" in done.stderr.decode(errors="replace").lower():
            return False, "container is gone"
        return done.code == 0, done.text

    def logs_tail(self, container_id: str, lines: int = 20) -> str:
        """The last `lines` of a container's log (stdout and stderr); "" when it is gone."""
        with api.local() as client:
            if client:
                try:
                    return "\n".join(
                        client.logs(container_id, tail=lines, since=None, timestamps=False)
                    )
                except (KeyError, DevstackError):
                    return ""
        done = runner.run(self.cli.docker("logs", "--tail", str(lines), container_id))
        return done.text if done.code == 0 else ""

    def remove(self, container_ids: Sequence[str], *, timeout: float = 30) -> None:
        """Remove containers and return once they are gone. One that compose (`run --rm`,
        on the same Ctrl-C) is removing already, or that is gone, is not an error."""
        if not container_ids:
            return
        try:
            runner.run(self.cli.docker("rm", "--force", "--volumes", *container_ids)).check()
        except runner.Failed as exc:
            low = exc.stderr.lower()
            if not any(s in low for s in _BEING_REMOVED):
                raise engine_error(exc, "rm") from exc
            trace.debug(__name__, "rm: %s", low.strip())
        deadline = time.monotonic() + timeout
        while self._existing(container_ids) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _existing(self, container_ids: Sequence[str]) -> list[str]:
        with api.local() as client:
            if client:
                return [str(c["Id"]) for c in client.containers(ids=list(container_ids))]
        filters = [arg for cid in container_ids for arg in ("--filter", f"id={cid}")]
        with translated("ps"):
            return runner.output(self.cli.docker("container", "ls", "-aq", *filters)).split()

    def volumes(self, project: str) -> list[str]:
        """The names of the project's volumes: from the engine's API on a local socket,
        else one docker call."""
        with api.local() as client:
            if client:
                return api.project_volumes(client, project)
        label = f"com.docker.compose.project={project}"
        with translated("volume ls"):
            out = runner.output(self.cli.docker("volume", "ls", "-q", "--filter", f"label={label}"))
            return sorted(out.split())

    # ---- one-off commands, logs, exec ----------------------------------------

    def run(self, service: str, command: Sequence[str], *, name: str, sink: LineSink) -> int:
        """Run `command` in a one-off container of `service` (no deps), streaming its output."""
        args = ["run", "--rm", "--no-deps", "-T", "--name", name, service, *command]
        try:
            self._stream(args, "run", sink)
        except ComposeError as exc:
            return exc.return_code or 1
        return 0

    def run_held(self, service: str, command: Sequence[str], *, name: str) -> HeldRun:
        """A one-off container of `service` (as `run`) created and started now, its
        `command` held until released (held.py)."""
        args = ["run", "--rm", "--no-deps", "-T", "--name", name, service]
        return HeldRun(self._compose(*args, *held_command(command)))

    def exec_service(self, service: str, command: Sequence[str], *, sink: LineSink) -> int:
        """Run `command` in the service's running container, streaming its output."""
        try:
            self._stream(["exec", "-T", service, *command], "exec", sink)
        except ComposeError as exc:
            return exc.return_code or 1
        return 0

    def logs(
        self, services: Sequence[str], *, tail: int | None, since: str | None, follow: bool
    ) -> Iterator[str]:
        args = ["logs", "--no-color", "--timestamps"]
        if tail is not None:
            args += ["--tail", str(tail)]
        if since:
            args += ["--since", since]
        if follow:
            args.append("--follow")
        with translated("logs"), closing(runner.stream(self._compose(*args, *services))) as lines:
            yield from lines

    def container_logs(
        self,
        project: str,
        services: Sequence[str],
        *,
        tail: int | None,
        since: str | None,
        most: int = 4,
    ) -> list[tuple[str, str]] | None:
        """(service, "TIMESTAMP text") for the log so far of each of the services' containers
        (all services when none are named; one-off containers left out, as compose does).
        Read from the engine's API on a local socket, else with one `docker logs` per
        container side by side: quicker than compose for a few containers. None when the
        CLI would be needed for more than `most` (compose's one process is then cheaper)."""
        labels = [f"com.docker.compose.project={project}", "com.docker.compose.oneoff=False"]
        seconds = api.since_seconds(since) if since else None
        with api.local() as client:
            if client and (since is None or seconds is not None):
                return api.project_logs(client, project, services, tail=tail, since=seconds)
        fmt = '{{.ID}}\t{{.Label "com.docker.compose.service"}}'
        with translated("logs"):
            listed_cli = runner.output(
                self.cli.docker("container", "ls", "-a", "--filter", f"label={labels[0]}",
                                "--filter", f"label={labels[1]}", "--format", fmt)
            )  # fmt: skip
            found = [line.split("\t", 1) for line in listed_cli.splitlines() if "\t" in line]
            chosen = [(cid, svc) for cid, svc in found if not services or svc in services]
            if len(chosen) > most:
                return None
            args = ["--timestamps", *(["--tail", str(tail)] if tail is not None else [])]
            args += ["--since", since] if since else []
            outputs = runner.run_all([self.cli.docker("logs", *args, cid) for cid, _ in chosen])
        return [
            (service, line)
            for (_, service), done in zip(chosen, outputs, strict=True)
            for line in (done.stdout + done.stderr).decode(errors="replace").splitlines()
        ]

    def execute(self, service: str, command: Sequence[str], *, tty: bool) -> int:
        """Run a command in the service's running container, attached to this terminal."""
        return runner.attached(self._compose("exec", *([] if tty else ["-T"]), service, *command))
