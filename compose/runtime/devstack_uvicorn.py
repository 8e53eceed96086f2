"""`uvicorn --reload` (RELOAD_MODE=uvicorn): uvicorn's own reloader and server, watching the
project with devstack_watch (unreadable directories skipped with a warning, the rest still
watched) and with health probes kept out of the access log.

    python devstack_uvicorn.py --reload --host H --port P --log-level L
        [--reload-exclude X]... APP_MODULE

The filter is installed at import: uvicorn's reloader starts the server in a spawned process,
which imports this file again (as __mp_main__) before it configures logging.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import devstack_accesslog

devstack_accesslog.install(os.environ)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="devstack_uvicorn.py")
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--reload-exclude", action="append", default=[])
    parser.add_argument("app")
    return parser.parse_args(argv)


def skipper(excludes: Sequence[str]) -> Any:
    """The directories never watched: NAME/* globs by name, absolute paths as themselves."""
    names = {e[:-2] for e in excludes if e.endswith("/*") and "/" not in e[:-2]}
    dirs = {Path(e) for e in excludes if e.startswith("/")}
    return lambda path: path.name in names or path in dirs


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from devstack_watch import TreeWatch
    from uvicorn import Config, Server
    from uvicorn.supervisors.watchfilesreload import WatchFilesReload

    class TreeReload(WatchFilesReload):  # type: ignore[misc]
        """uvicorn's WatchFiles reloader, over devstack_watch's per-directory watches."""

        def __init__(self, config: Any, target: Any, sockets: Any) -> None:
            super().__init__(config, target, sockets)
            self.watcher.close()  # the recursive one, never started
            tree = TreeWatch(self.reload_dirs, skipper(args.reload_exclude))
            self.watcher = tree.watch(
                stop_event=self.should_exit, yield_on_timeout=True, rust_timeout=300
            )

    sys.path.insert(0, os.getcwd())  # as `uvicorn --app-dir .`
    config = Config(
        args.app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        reload=True,
        reload_excludes=args.reload_exclude,
    )
    server = Server(config=config)
    sock = config.bind_socket()
    with contextlib.suppress(KeyboardInterrupt):
        TreeReload(config, target=server.run, sockets=[sock]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
