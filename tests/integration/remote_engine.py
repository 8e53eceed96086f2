"""The second engine of scripts/remote-engine, and what tests ask of it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "remote-engine"


def start() -> str:
    """Start the remote engine (bounded: build once, start ~25 s); its DOCKER_HOST."""
    done = subprocess.run(
        [str(SCRIPT), "start"], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/remote-engine start failed:\n{done.stderr[-3000:]}")
    line = [x for x in done.stdout.splitlines() if x.startswith("DOCKER_HOST=")][-1]
    return line.split("=", 1)[1]


def stop() -> None:
    subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120, check=False)


def channel(state: str) -> None:
    subprocess.run([str(SCRIPT), "channel", state], capture_output=True, timeout=60, check=True)


def docker(host: str, *args: str, timeout: float = 120, check: bool = True) -> str:
    done = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "DOCKER_HOST": host},
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr}")
    return done.stdout


def leftovers(host: str, project: str) -> dict[str, list[str]]:
    label = f"label=com.docker.compose.project={project}"
    return {
        "containers": docker(host, "ps", "-aq", "--filter", label).split(),
        "networks": docker(host, "network", "ls", "-q", "--filter", label).split(),
        "volumes": docker(host, "volume", "ls", "-q", "--filter", label).split(),
    }


def remove_project(host: str, project: str) -> None:
    found = leftovers(host, project)
    if found["containers"]:
        docker(host, "rm", "-f", "-v", *found["containers"], check=False)
    if found["networks"]:
        docker(host, "network", "rm", *found["networks"], check=False)
    if found["volumes"]:
        docker(host, "volume", "rm", "-f", *found["volumes"], check=False)


# What a tree holds: {relative path: (kind, mode, sha256 or link target)}.
_TREE = r"""
import hashlib, json, os, stat, sys
root = sys.argv[1]
out = {}
for top, dirs, files in os.walk(root):
    for name in dirs + files:
        full = os.path.join(top, name)
        rel = os.path.relpath(full, root)
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ["l", 0, os.readlink(full)]
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ["d", stat.S_IMODE(st.st_mode), ""]
        elif stat.S_ISREG(st.st_mode):
            with open(full, "rb") as fh:
                out[rel] = ["f", stat.S_IMODE(st.st_mode), hashlib.sha256(fh.read()).hexdigest()]
print(json.dumps(out))
"""


def container_tree(host: str, container: str, root: str = "/app") -> dict[str, list[object]]:
    out = docker(host, "exec", "-u", "0", container, "python3", "-c", _TREE, root)
    return dict(json.loads(out))


def host_tree(root: Path) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            full = Path(top, name)
            rel = full.relative_to(root).as_posix()
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ["l", 0, os.readlink(full)]
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ["d", stat.S_IMODE(st.st_mode), ""]
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(full.read_bytes()).hexdigest()
                out[rel] = ["f", stat.S_IMODE(st.st_mode), digest]
    return out
