"""`devstack init`: adopt a project's own compose files, or scaffold a project with none."""

from __future__ import annotations

from pathlib import Path

from devstack.errors import ConfigError
from devstack.init import adoption, scaffold
from devstack.init.scaffold import InitResult


def init(directory: Path, *, postgres: bool = True, force: bool = False) -> InitResult:
    directory = directory.resolve()
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a directory", hint="pass your project's folder")
    own = scaffold.user_compose_files(directory)
    if own:
        return adoption.adopt(directory, own, force=force)
    return scaffold.scaffold(directory, postgres=postgres, force=force)
