"""Soak: many edit-reload cycles on fastapi-redis, none left unserved, none stale."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import pytest

from tests.integration.helpers import example, get

pytestmark = pytest.mark.docker


def test_edit_reload_cycles_all_served(tmp_path: Path, project_name: str) -> None:
    cycles = int(os.environ.get("DEVSTACK_SOAK_EDITS", "200"))
    p = example("fastapi-redis", tmp_path, project_name)
    main = p.dir / "app" / "main.py"
    source = main.read_text()
    url = f"http://127.0.0.1:{p.env['APP_PORT']}/health"
    assert 'return {"status": "ok"}' in source
    latencies: list[float] = []
    unserved = stale = 0
    try:
        p.devstack("up", check=True)
        for i in range(cycles):
            value = f"v{i:05d}"  # same size every time
            text = source.replace('return {"status": "ok"}', f'return {{"status": "{value}"}}')
            if i % 2:  # atomic-rename save, as many editors do
                tmp = main.with_name(".main.py.swp")
                tmp.write_text(text)
                os.replace(tmp, main)
            else:  # in-place write
                main.write_text(text)
            start = time.monotonic()
            seen_new = False
            while time.monotonic() - start < 15:
                try:
                    status = json.loads(get(url, timeout=2))["status"]
                except OSError:
                    time.sleep(0.02)
                    continue
                if status == value:
                    seen_new = True
                    latencies.append(time.monotonic() - start)
                    break
                if seen_new:
                    stale += 1
                time.sleep(0.02)
            if not seen_new:
                unserved += 1
            # Confirm no stale answer comes back after the new one was served.
            if json.loads(get(url, timeout=5))["status"] != value:
                stale += 1
    finally:
        p.devstack("down", "-v")
    median = statistics.median(latencies) if latencies else float("nan")
    print(f"{cycles} edits: median {median:.2f}s, worst {max(latencies, default=0):.2f}s")
    assert unserved == 0 and stale == 0, (unserved, stale)
