"""The one adapter to the Docker engine: every engine call goes through this package.

- `client`: the EngineClient protocol, the surface the core depends on;
- `compose`: the Engine class (the real EngineClient): a compose project, python-on-whales;
- `state`: what the engine reports about a container, parsed (pure);
- `translate`: engine errors into devstack errors;
- `direct`: plain `docker` calls: engine facts, commands in a running container;
- `throwaway`: devstack's own containers (reading an image's file, probe runs), each
  removed with its anonymous volumes however it ends;
- `api`: the engine's API on its local unix socket for the read paths (stdlib only);
- `process`: the docker CLI for the read paths on other engines, without python-on-whales.

python-on-whales is imported only in `compose`, `translate` and `process`, and only when a
command needs its client or a command failed: importing it costs ~0.2 s, more than a
`docker compose ps` takes.
"""

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
