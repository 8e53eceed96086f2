"""The engine commands' debug lines, which -v prints (the CLI sets up logging for it).

A command without -v never imports logging: its import is a noticeable part of a read
command's start-up, and nothing would be printed anyway.
"""

from __future__ import annotations

import sys


def debug(name: str, message: str, *args: object) -> None:
    """`logging.getLogger(name).debug(message, *args)` once logging is in use."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(name).debug(message, *args)
