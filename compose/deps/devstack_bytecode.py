"""Build step: byte-compile the standard library and /opt/venv under DEVSTACK_PYCACHE.

    devstack_bytecode.py [CACHE_DIR]

Reload mode reads library bytecode from that prefix (fast restarts) while the app's code,
never compiled here, is always read fresh. Standard library only.

What costs a dependency build most after uv is compiling: a rebuilt dependency layer holds the
same files again. So each compiled module is also kept in CACHE_DIR (a BuildKit cache mount),
keyed by its path, its content and the interpreter's magic number; a later build copies it
from there and stamps it with the new file's mtime and size, the way a timestamp pyc is
checked. A file already compiled in an earlier layer of the image is skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

MAGIC = importlib.util.MAGIC_NUMBER


def _header(stat: os.stat_result) -> bytes:
    flags = (0).to_bytes(4, "little")  # a timestamp pyc, as compileall writes by default
    return (
        MAGIC
        + flags
        + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    )


def _compile(job: tuple[str, str, str]) -> bool:
    """Compile one source into its pyc (and the cache); False when it does not compile."""
    source, pyc, cached = job
    try:
        data = Path(source).read_bytes()
        code = compile(data, source, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OSError):
        return False  # a few files are not meant to compile (templates, other Pythons)
    body = marshal.dumps(code)
    _write(pyc, _header(os.stat(source)) + body)
    _write(cached, body)
    return True


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def sources(roots: list[str]) -> list[str]:
    out = []
    for root in roots:
        for directory, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            out += [os.path.join(directory, f) for f in files if f.endswith(".py")]
    return out


def compile_tree(roots: list[str], prefix: str, cache: Path) -> tuple[int, int, int]:
    """Compile every .py under `roots` to `prefix`: (compiled, from the cache, current)."""
    sys.pycache_prefix = prefix  # cache_from_source places each pyc under the prefix
    todo, copied, current = [], 0, 0
    for source in sources(roots):
        try:
            stat = os.stat(source)
            pyc = importlib.util.cache_from_source(source)
        except (OSError, ValueError):
            continue
        header = _header(stat)
        try:
            with open(pyc, "rb") as fh:
                if fh.read(16) == header:
                    current += 1  # compiled in an earlier layer, unchanged since
                    continue
        except OSError:
            pass
        with open(source, "rb") as fh:
            key = hashlib.sha256(source.encode() + b"\0" + fh.read()).hexdigest()
        cached = cache / MAGIC.hex() / key[:2] / key
        try:
            body = cached.read_bytes()
        except OSError:
            todo.append((source, pyc, str(cached)))
            continue
        _write(pyc, header + body)
        copied += 1
    compiled = 0
    if todo:
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            compiled = sum(pool.map(_compile, todo, chunksize=32))
    return compiled, copied, current


def main(argv: list[str]) -> int:
    prefix = os.environ.get("DEVSTACK_PYCACHE") or "/opt/pycache"
    cache = Path(argv[0] if argv else "/root/.cache/devstack-pyc")
    roots = [p for p in sys.path[1:] if p.startswith("/") and os.path.isdir(p)]
    compiled, copied, current = compile_tree(roots, prefix, cache)
    print(
        f"devstack: bytecode: {compiled} compiled, {copied} from the build cache, "
        f"{current} already in the image",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
