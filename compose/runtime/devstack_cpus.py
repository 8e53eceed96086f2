"""The CPUs a server in this container may use: the cgroup CPU limit (v1 or v2), the cpuset or
the affinity mask, never the host's core count. Stdlib only."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """controller -> cgroup path from /proc/self/cgroup ("" for the v2 unified hierarchy)."""
    paths: dict[str, str] = {}
    for line in (_read(proc_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    return paths


def _candidates(root: Path, sub: str, cg_path: str | None) -> list[Path]:
    """The controller's directory as mounted in a private cgroup namespace, then at its path."""
    base = root / sub if sub else root
    found = [base]
    if cg_path and cg_path != "/":
        found.append(base / cg_path.lstrip("/"))
    return found


def cpu_limit(
    root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPU quota in CPUs (cgroup v2 cpu.max, or v1 cfs quota/period); None when unlimited."""
    paths = _cgroup_paths(proc_cgroup)
    for directory in _candidates(root, "", paths.get("")):
        text = _read(directory / "cpu.max")
        if text:
            quota, _, period = text.partition(" ")
            if quota == "max":
                return None
            return int(quota) / int(period or "100000")
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for directory in _candidates(root, sub, paths.get("cpu")):
            quota_text = _read(directory / "cpu.cfs_quota_us")
            period_text = _read(directory / "cpu.cfs_period_us")
            if quota_text and period_text:
                quota = int(quota_text)
                return None if quota <= 0 else quota / int(period_text)
    return None


def parse_cpuset(text: str) -> int:
    """Number of CPUs in a cpuset list such as "0-3,6"."""
    count = 0
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def usable_cpus(root: Path = Path("/sys/fs/cgroup"), *, affinity: bool = True) -> int:
    """CPUs this process may run on: its affinity, else the cgroup cpuset, else all."""
    if affinity and hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    for path in (root / "cpuset.cpus.effective", root / "cpuset" / "cpuset.cpus"):
        text = _read(path)
        if text:
            return parse_cpuset(text)
    return os.cpu_count() or 1


def cores(
    root: Path = Path("/sys/fs/cgroup"),
    proc_cgroup: Path = Path("/proc/self/cgroup"),
    usable: Callable[[], int] | None = None,
) -> int:
    """The CPUs the server may use: the CPU limit rounded up, never more than usable CPUs."""
    available = usable() if usable else usable_cpus(root)
    limit = cpu_limit(root, proc_cgroup)
    if limit is None:
        return max(available, 1)
    return max(min(math.ceil(limit), available), 1)
