"""Every docker and compose command line, built in one place.

The shape is python-on-whales' `ClientConfig`: the engine to reach (`Target`: `--context`,
`--host`), then for compose the project's files, name and directory, in the order it puts
them (a unit test holds the two to the same argv). Nothing here runs anything (`runner`
does) or reads the environment: a `Target` left empty means "the engine the docker CLI's
own environment names" (DOCKER_HOST, DOCKER_CONTEXT, the current context).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """The engine the docker CLI speaks to; empty: as its environment says."""

    host: str = ""  # --host: unix:///…, ssh://user@box, tcp://…
    context: str = ""  # --context NAME

    def flags(self) -> list[str]:
        return [*(["--context", self.context] if self.context else []), *self._host()]

    def _host(self) -> list[str]:
        return ["--host", self.host] if self.host else []


@dataclass(frozen=True)
class ComposeProject:
    """What compose needs to find a project: its directory, files and name."""

    directory: Path
    files: tuple[Path, ...] = ()
    name: str | None = None

    def flags(self) -> list[str]:
        out = [arg for f in self.files for arg in ("--file", str(f))]
        out += ["--project-name", self.name] if self.name else []
        return [*out, "--project-directory", str(self.directory)]


@dataclass(frozen=True)
class Cli:
    """The docker CLI aimed at one engine: `docker(...)` and `compose(project, ...)` argv."""

    target: Target = field(default_factory=Target)
    binary: str = "docker"

    def docker(self, *args: str) -> list[str]:
        return [self.binary, *self.target.flags(), *args]

    def compose(self, project: ComposeProject, *args: str) -> list[str]:
        return self.docker("compose", *project.flags(), *args)


CLI = Cli()  # the engine the environment names: what every command used before targets existed
