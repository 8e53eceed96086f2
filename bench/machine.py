"""What the machine is: CPU, cores, memory, engine and compose versions."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from bench.stacks import run


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _out(argv: list[str]) -> str:
    done = run(argv, check=False, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def describe() -> list[tuple[str, str]]:
    return [
        ("CPU", _cpu_model()),
        ("cores", str(os.cpu_count())),
        ("memory", _memory()),
        ("kernel", platform.release()),
        ("Docker engine", _out(["docker", "version", "--format", "{{.Server.Version}}"])),
        ("Docker Compose", _out(["docker", "compose", "version", "--short"])),
        ("Python (devstack's venv)", platform.python_version()),
    ]
