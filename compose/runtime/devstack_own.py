"""devstack's reloader in a project's own image: the image's Python and uvicorn, devstack's
runtime mounted read-only beside the code, the app, address and folder read from the
project's command by devstack.

    python devstack_own.py --app MODULE:APP --host H --port P --dir DIR [--log-level L]
        -- THE PROJECT'S OWN COMMAND...

It waits for WAIT_FOR, then execs the warm reloader (RELOAD_MODE=uvicorn: uvicorn --reload)
in DIR. Where the image's Python lacks uvicorn or watchfiles it says so once (the line
starts with FALLBACK_MARK, which `devstack up` reports) and execs the project's own command.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from devstack_runtime import reload_argv  # noqa: E402
from devstack_wait import RuntimeFailure, wait  # noqa: E402

FALLBACK_MARK = "devstack-runtime: running the project's own command"
NEEDED = ("uvicorn", "watchfiles")


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="devstack_own.py")
    parser.add_argument("--app", required=True)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--dir", default=".")
    parser.add_argument("--log-level", default="")
    return parser.parse_args(argv[:cut]), argv[cut + 1 :]


def missing(names: Sequence[str] = NEEDED) -> list[str]:
    return [n for n in names if importlib.util.find_spec(n) is None]


def fall_back(own: Sequence[str], reason: str) -> None:
    print(f"{FALLBACK_MARK} ({reason})", file=sys.stderr, flush=True)
    if not own:
        raise RuntimeFailure("no command of the project's own to run")
    os.execvp(own[0], list(own))


def main(argv: Sequence[str] | None = None) -> int:
    args, own = parse(sys.argv[1:] if argv is None else argv)
    absent = missing()
    if absent:
        fall_back(own, f"{sys.executable} has no {' or '.join(absent)}")
    env = dict(os.environ)
    try:
        wait(env)
        os.chdir(args.dir)
        settings = {**env, "APP_MODULE": args.app, "HOST": args.host, "PORT": str(args.port)}
        if args.log_level:
            settings["LOG_LEVEL"] = args.log_level
        command = reload_argv(settings, Path(args.dir))
    except RuntimeFailure as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    # No bytecode written into the code mount; the image's own compiled libraries are kept.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.stdout.flush()
    os.execve(command[0], command, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
