"""`.devstack/merged.json`: compose's merged configuration as `docker compose config` prints
it, and how each service will be judged ready, kept beside the resolved model for one key
(the model's and the overlay's stamp). Read by `devstack config` through the stack, and by
the read snapshot's `config` (devstack.cli.quick). Stdlib only."""

from __future__ import annotations

import contextlib
import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any


def read(path: str | Path, key: str | None) -> dict[str, Any]:
    """What was kept for `key` ({} when nothing was, or for another key)."""
    if not key:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            saved = json.load(fh)
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) and saved.get("key") == key else {}


def keep(path: str | Path, key: str | None, **fields: Any) -> None:
    """Keep `fields` for `key`, beside what was kept for it already."""
    if key:
        with contextlib.suppress(OSError):
            kept = {**read(path, key), **fields, "key": key}
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(kept))


def readiness(saved: dict[str, Any], healthcheck: Callable[[str], bool | None]) -> dict[str, str]:
    """The kept readiness lines, while every image whose HEALTHCHECK they read still says the
    same (`healthcheck`); {} otherwise."""
    ready, images = saved.get("ready"), saved.get("images")
    if not isinstance(ready, dict) or not isinstance(images, dict):
        return {}
    if any(healthcheck(image) != had for image, had in images.items()):
        return {}
    return {str(k): str(v) for k, v in ready.items()}
