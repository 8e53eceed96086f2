"""Keeps the image's own health probes out of the server's access log.

The probes (devstack_health, run by the engine's HEALTHCHECK and by `devstack up` through
`docker exec`) connect from MARK_ADDRESS, a loopback address nothing else uses, so a filter on
the access loggers can recognise them: uvicorn's access record carries the client address, not
the headers. HEALTH_ACCESS_LOG=1 shows them again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

MARK_ADDRESS = "127.0.0.2"
ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")
TRUE = ("1", "true", "yes", "on")


def _client_host(record: logging.LogRecord) -> str | None:
    args = record.args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        host = args[0].rpartition(":")[0]  # uvicorn: "host:port"
    elif isinstance(args, Mapping) and isinstance(args.get("h"), str):
        host = args["h"]  # gunicorn's access atoms: the remote address
    else:
        return None
    return host.removeprefix("::ffff:")


class HealthProbeFilter(logging.Filter):
    """Drops access records of requests that came from MARK_ADDRESS."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _client_host(record) != MARK_ADDRESS


def install(env: Mapping[str, str]) -> bool:
    """Add the filter to the access loggers unless HEALTH_ACCESS_LOG is set; whether it did.
    Logger filters survive the handlers the servers set later (and fork)."""
    if (env.get("HEALTH_ACCESS_LOG") or "").strip().lower() in TRUE:
        return False
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HealthProbeFilter) for f in logger.filters):
            logger.addFilter(HealthProbeFilter())
    return True
