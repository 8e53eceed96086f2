"""An exported lock, made ready for `uv pip install --require-hashes --no-deps` (stdlib only).

Index lines a build cannot reach are dropped; workspace members and path dependencies
(`-e ./backend`, `app @ file:///...`) leave the file for `MEMBERS` (the installer puts those
inside the app's directory on sys.path); hashes a tool did not export come from its lock.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

MEMBERS = "members.txt"  # in the work directory: the export's local paths (see exported)
INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "--trusted-host")
_PINNED = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)"
)


def unreachable(value: str) -> bool:
    """An index on the host's loopback or file system: a build container never reaches it."""
    value = value.strip()
    if value.startswith("file:"):
        return True
    host = urlsplit(value if "://" in value else f"//{value}").hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_path(line: str) -> str | None:
    """The directory of a workspace member or path dependency an export names, else None:
    `-e ./backend`, `./backend`, `app @ file:///.../backend`, `-e file:///${PROJECT_ROOT}/x`."""
    text = line.strip()
    editable = text.startswith(("-e ", "--editable ", "--editable="))
    if editable:
        text = text.split(None, 1)[1] if " " in text else text.partition("=")[2]
    elif " @ " in text:
        text = text.split(" @ ", 1)[1]
    elif not text.startswith((".", "/", "file:")):
        return None
    text = text.split(" ;", 1)[0].split(";", 1)[0].strip().strip("\\").strip()
    if text.startswith("file:"):
        text = unquote(urlsplit(text).path).replace("${PROJECT_ROOT}", ".").lstrip("/")
        text = text if text.startswith(".") else f"/{text}"  # PDM's file:///${PROJECT_ROOT}/x
    elif not editable and not text.startswith((".", "/")):
        return None  # a URL requirement (git+https://...): the lock pins it, uv installs it
    return text


def exported(work: Path, root: Path | None = None) -> list[str]:
    """Install arguments for an exported lock: exact files, checked by hash, nothing resolved
    anew. Index lines a build cannot reach are dropped (the configured index serves the
    files). Members and path dependencies go to `work/MEMBERS`, one path (relative to `root`,
    the lock's directory) a line, for the installer to put on sys.path."""
    out = work / "requirements.txt"
    kept, members = [], []
    for line in out.read_text().splitlines():
        option, _, value = line.strip().partition(" ")
        if option in INDEX_OPTIONS and unreachable(value):
            print(f"devstack: not using the lock's `{line.strip()}`: unreachable from a build")
            continue
        path = local_path(line)
        if path is not None:
            if root is not None and Path(path).is_relative_to(root):
                path = str(Path(path).relative_to(root))
            members.append(os.path.normpath(path))
            continue
        kept.append(line)
    out.write_text("\n".join(kept) + "\n")
    (work / MEMBERS).write_text("".join(f"{m}\n" for m in members))
    args = ["--no-deps", "-r", str(out)]
    return ["--require-hashes", *args] if "--hash" in out.read_text() else args


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def with_hashes(requirements: Path, packages: list[dict[str, Any]]) -> None:
    """Each `name==version` line of an export made without hashes gets the hashes its lock
    lists for that package's files (PDM's pdm.lock: [[package]] files = [{file, hash}])."""
    hashes = {
        (_normal(pkg.get("name", "")), str(pkg.get("version", ""))): [
            f["hash"] for f in pkg.get("files", []) if isinstance(f, dict) and "hash" in f
        ]
        for pkg in packages
    }
    out = []
    for line in requirements.read_text().splitlines():
        m = _PINNED.match(line.strip())
        found = hashes.get((_normal(m["name"]), m["version"])) if m else None
        out.append(line + "".join(f" \\\n    --hash={h}" for h in found) if found else line)
    requirements.write_text("\n".join(out) + "\n")
