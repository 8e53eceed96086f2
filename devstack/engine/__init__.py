"""The one adapter to the Docker engine: every engine call goes through this package.

- `client`: the EngineClient protocol, the surface the core depends on;
- `compose`: the Engine class (the real EngineClient): a compose project;
- `command`: every docker and compose command line (python-on-whales' ClientConfig shape);
- `runner`: every docker process (timeout, environment, errors keeping command, exit code
  and stderr; line streams that kill the child, or wait for it, when the reader stops);
- `api`: the engine's API on its local unix socket, the fast reader for the read paths;
- `address`: which engine the docker CLI speaks to (the one answer; `delivery.location`
  decides from it whether the engine sees this machine's files);
- `direct`: engine facts, commands in a running container;
- `throwaway`: devstack's own containers (reading an image's file, probe runs), each
  removed with its anonymous volumes however it ends;
- `state`, `pulls`, `buildsteps`: what the engine reports, parsed (pure);
- `translate`: failed commands into devstack errors.

No module here imports python-on-whales at run time: its import (~0.2 s of pydantic
models) costs more than a `docker compose ps`; its ClientConfig is the reference the
builder is tested against.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.engine.client import EngineClient, LineSink
    from devstack.engine.compose import Engine
    from devstack.engine.direct import (
        EngineInfo,
        compose_version,
        engine_info,
        exec_in,
        exec_stream,
        image_healthcheck,
        image_ids,
    )
    from devstack.engine.state import ContainerState, Port
    from devstack.engine.throwaway import read_image_file, run_throwaway
    from devstack.engine.translate import translated

# Each name is imported from its module on first use (PEP 562): a read command that needs
# only the socket reader (`api`, `state`) does not pay for the compose runner's imports.
_HOME = {
    "EngineClient": "client",
    "LineSink": "client",
    "Engine": "compose",
    "EngineInfo": "direct",
    "compose_version": "direct",
    "engine_info": "direct",
    "exec_in": "direct",
    "exec_stream": "direct",
    "image_healthcheck": "direct",
    "image_ids": "direct",
    "ContainerState": "state",
    "Port": "state",
    "read_image_file": "throwaway",
    "run_throwaway": "throwaway",
    "translated": "translate",
}

__all__ = [
    "ContainerState",
    "Engine",
    "EngineClient",
    "EngineInfo",
    "LineSink",
    "Port",
    "compose_version",
    "engine_info",
    "exec_in",
    "exec_stream",
    "image_healthcheck",
    "image_ids",
    "read_image_file",
    "run_throwaway",
    "translated",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
