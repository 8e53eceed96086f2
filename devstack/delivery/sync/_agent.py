"""The container's side of a sync, run there with `python3 -c` (standard library only).

Frames on stdin/stdout: one JSON line, then `size` bytes of payload when it says so.
  manifest {root}                 -> {ok, size} + JSON {rel: [kind, mode, size, mtime_ns, link]}
  apply {root, delete, owner, size} + tar -> {ok, errors}
  pull {root, paths}              -> {ok, size} + tar
  ready {marker}                  -> {ok}
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import sys
import tarfile
from typing import BinaryIO

MTIME_NS = "devstack.mtime_ns"


def entry(path: str) -> list[object] | None:
    st = os.lstat(path)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return ["l", 0, 0, 0, os.readlink(path)]
    if stat.S_ISDIR(st.st_mode):
        return ["d", mode, 0, 0, ""]
    if stat.S_ISREG(st.st_mode):
        return ["f", mode, st.st_size, st.st_mtime_ns, ""]
    return None


def manifest(root: str) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(top, name)
            rel = os.path.relpath(full, root)
            try:
                e = entry(full)
            except OSError:
                continue
            if e is not None:
                out[rel] = e
    return out


def safe(root: str, rel: str) -> str:
    full = os.path.normpath(os.path.join(root, rel))
    if rel.startswith("/") or not (full + "/").startswith(root.rstrip("/") + "/") or full == root:
        raise ValueError("unsafe path " + rel)
    return full


def remove(full: str) -> None:
    if os.path.isdir(full) and not os.path.islink(full):
        shutil.rmtree(full, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(full)


def owner_ids(owner: str | None) -> tuple[int, int] | None:
    if not owner:  # the container's own user: the one its main process runs as
        try:
            st = os.stat("/proc/1")
            return st.st_uid, st.st_gid
        except OSError:
            return None
    user, _, group = owner.partition(":")
    try:
        uid = int(user)
    except ValueError:
        import pwd

        uid = pwd.getpwnam(user).pw_uid
    if not group:
        try:
            import pwd

            return uid, pwd.getpwuid(uid).pw_gid
        except KeyError:
            return uid, uid
    try:
        return uid, int(group)
    except ValueError:
        import grp

        return uid, grp.getgrnam(group).gr_gid


def chown(full: str, ids: tuple[int, int] | None) -> None:
    if ids is not None and os.geteuid() == 0:
        os.lchown(full, ids[0], ids[1])


def own(root: str, ids: tuple[int, int] | None) -> None:
    """Make the container's user the owner of the tree (the image copied it as root)."""
    if ids is None:
        return
    chown(root, ids)
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            with contextlib.suppress(OSError):
                chown(os.path.join(top, name), ids)


def makedirs(root: str, full: str, ids: tuple[int, int] | None) -> None:
    missing: list[str] = []
    d = full
    while not os.path.isdir(d) and d != root:
        missing.append(d)
        d = os.path.dirname(d)
    for d in reversed(missing):
        if os.path.lexists(d):
            remove(d)
        os.mkdir(d)
        chown(d, ids)


def apply(root: str, delete: list[str], owner: str | None, data: bytes) -> list[str]:
    ids = owner_ids(owner)
    errors: list[str] = []
    for rel in delete:
        try:
            remove(safe(root, rel))
        except (OSError, ValueError) as exc:
            errors.append(f"{rel}: {exc}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        dirs: list[tuple[str, int]] = []
        for m in tar:
            try:
                full = safe(root, m.name)
                makedirs(root, os.path.dirname(full), ids)
                if m.isdir():
                    if os.path.lexists(full) and not (
                        os.path.isdir(full) and not os.path.islink(full)
                    ):
                        remove(full)
                    if not os.path.isdir(full):
                        os.mkdir(full)
                    chown(full, ids)
                    dirs.append((full, m.mode))
                elif m.issym():
                    if os.path.lexists(full):
                        remove(full)
                    os.symlink(m.linkname, full)
                    chown(full, ids)
                elif m.isfile():
                    if os.path.isdir(full) and not os.path.islink(full):
                        remove(full)
                    tmp = os.path.join(
                        os.path.dirname(full), f".{os.path.basename(full)}.devstack-sync"
                    )
                    src = tar.extractfile(m)
                    if src is None:
                        continue
                    with open(tmp, "wb") as fh:
                        shutil.copyfileobj(src, fh)
                    os.chmod(tmp, m.mode)
                    chown(tmp, ids)
                    ns = int(m.pax_headers.get(MTIME_NS, m.mtime * 1000000000))
                    os.utime(tmp, ns=(ns, ns))
                    os.replace(tmp, full)
            except (OSError, ValueError) as exc:
                errors.append(f"{m.name}: {exc}")
        for full, mode in dirs:
            try:
                os.chmod(full, mode)
            except OSError as exc:
                errors.append(f"{full}: {exc}")
    return errors


def pull(root: str, paths: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in paths:
            full = safe(root, rel)
            if os.path.lexists(full):
                tar.add(full, arcname=rel)
    return buf.getvalue()


def reply(out: BinaryIO, head: dict[str, object], payload: bytes = b"") -> None:
    if payload:
        head["size"] = len(payload)
    out.write((json.dumps(head) + "\n").encode())
    if payload:
        out.write(payload)
    out.flush()


def main() -> None:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = inp.readline()
        if not line:
            return
        req = json.loads(line)
        size = int(req.get("size", 0))
        data = inp.read(size) if size else b""
        op, root = req.get("op"), req.get("root", "/")
        try:
            if op == "manifest":
                os.makedirs(root, exist_ok=True)
                synced = os.path.exists(req.get("marker") or "/nonexistent")
                reply(out, {"ok": True, "synced": synced}, json.dumps(manifest(root)).encode())
            elif op == "apply":
                reply(
                    out,
                    {
                        "ok": True,
                        "errors": apply(root, req.get("delete", []), req.get("owner"), data),
                    },
                )
            elif op == "pull":
                reply(out, {"ok": True}, pull(root, req.get("paths", [])))
            elif op == "ready":
                if not os.path.exists(req["marker"]):  # the first sync: the app owns its tree
                    own(root, owner_ids(req.get("owner")))
                with open(req["marker"], "w"):
                    pass
                reply(out, {"ok": True})
            else:
                reply(out, {"ok": False, "error": f"unknown op {op!r}"})
        except Exception as exc:  # reported to the host, which decides
            reply(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":  # run with python3 -c in the container
    main()
