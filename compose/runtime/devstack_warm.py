"""devstack's warm reloader (RELOAD_MODE=warm of /start-reload.sh): uvicorn --reload without
paying for the third-party imports again on every change.

    python devstack_warm.py [--host H] [--port P] [--log-level L] [--reload-exclude X]... APP

The parent binds the listening socket once and serves from forked children. The first child
imports the app cold (as plain uvicorn would, so the first start is not delayed) and reports
what it loaded; the parent then imports the third-party modules among them (never the
project's own), and every later child is forked from that warm parent: each child imports the
app fresh and runs uvicorn's Server on the inherited socket. On a change to a project .py
file the parent forks the next child, which imports the app while the old one stops
accepting, then lets it serve; requests that arrive meanwhile wait in the backlog. A change
outside the project (a preloaded library file, the site-packages listing), threads in the
parent or repeated child crashes make it restart itself (execv, keeping the socket); modules
that start threads at import are never preloaded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import devstack_accesslog
from devstack_warm_fallback import STATE_VARS, listen
from devstack_warm_outside import changed_keys, display, outside_signature
from devstack_warm_parent import Reloader
from devstack_warm_policy import Project, known_bad, preload, select_preload, write_modules

# The pieces, by seam: devstack_warm_policy (what is the project's, what is preloaded),
# devstack_warm_child (a child), devstack_warm_parent (the parent and its loop),
# devstack_warm_outside (changes outside the project), devstack_warm_fallback (full restart,
# plain uvicorn), devstack_watch (the project tree).
__all__ = [
    "Project",
    "changed_keys",
    "display",
    "known_bad",
    "outside_signature",
    "preload",
    "select_preload",
    "write_modules",
]
logger = logging.getLogger("uvicorn.error")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="devstack_warm.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--reload-exclude", action="append", default=[])
    parser.add_argument("app")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sys.dont_write_bytecode = True
    args = parse(argv)
    import uvicorn

    uvicorn.Config(args.app, log_level=args.log_level)  # uvicorn's log format and levels
    devstack_accesslog.install(os.environ)  # children inherit the filter across fork
    sock = listen(args.host, args.port)
    reloader = Reloader(args, argv, sock)
    for name in STATE_VARS:
        os.environ.pop(name, None)
    fresh = reloader.attempt == 0 and not reloader.skip
    if fresh:
        logger.info("Will watch for changes in these directories: %s", [str(Path.cwd())])
        scheme = f"[{args.host}]" if ":" in args.host else args.host
        logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", scheme, args.port)
    logger.info("Started reloader process [%d] using WatchFiles (warm)", os.getpid())
    return reloader.run()


if __name__ == "__main__":
    sys.exit(main())
