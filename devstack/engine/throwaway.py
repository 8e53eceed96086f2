"""Containers devstack makes for itself, outside any compose project: reading a file out of
an image (certs) and short probe runs (doctor).

Every one is made through `container()`, which names it, labels it `devstack.throwaway` and
removes it with its anonymous volumes (`docker rm -f -v`) however the block ends: success,
failure, a client timeout or Ctrl-C. An image that declares a `VOLUME` (PostgreSQL's data
directory) gives each of its containers an anonymous volume; a plain `rm -f`, or a `--rm`
run whose client was killed, would leave it on the engine for good.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from devstack.engine import runner
from devstack.engine.command import CLI, Cli
from devstack.errors import EngineTimeout

LABEL = "devstack.throwaway"
_GONE = ("no such container", "is already in progress")


@contextmanager
def container(cli: Cli = CLI) -> Iterator[str]:
    """A name for a container devstack is about to make; the container, if one was made
    under it, is removed with its anonymous volumes when the block ends."""
    import uuid

    name = f"devstack-throwaway-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        remove(name, cli)


def remove(name: str, cli: Cli = CLI) -> None:
    """`docker rm -f -v NAME`: one that is gone (or going) already is not an error."""
    done = runner.run(cli.docker("rm", "-f", "-v", name), timeout=60)
    if done.code != 0 and not any(s in done.text.lower() for s in _GONE):
        import logging  # here: a warning is rare, and the module is on every command's path

        logging.getLogger(__name__).warning(
            "could not remove devstack's container %s: %s", name, done.text
        )


def _labels() -> list[str]:
    return ["--label", f"{LABEL}=true"]


def read_image_file(
    image: str, paths: Sequence[str], *, cli: Cli = CLI
) -> tuple[str, bytes] | None:
    """The first of `paths` that exists in `image` (symlinks followed), without running it."""
    with container(cli) as name:
        made = runner.run(
            cli.docker("create", "--name", name, *_labels(), image, "devstack-read"), timeout=60
        )
        if made.code != 0:
            return None
        for path in paths:
            done = runner.run(cli.docker("cp", "-L", f"{name}:{path}", "-"), timeout=60)
            if done.code != 0 or not done.stdout:
                continue
            import tarfile  # here, as uuid: their imports would cost every command (ps too) ~5 ms

            with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
                member = next((m for m in tar.getmembers() if m.isfile()), None)
                extracted = tar.extractfile(member) if member else None
                if extracted is not None:
                    return path, extracted.read()
        return None


def run_throwaway(
    image: str,
    command: Sequence[str],
    *,
    user: str | None = None,
    mounts: Sequence[tuple[Path, str, bool]] = (),
    env: dict[str, str] | None = None,
    drop_capabilities: bool = False,
    timeout: float = 60,
    cli: Cli = CLI,
) -> tuple[int, str]:
    """Run `command` in a container removed afterwards: (exit code, output); 124 when it
    did not finish within `timeout`. `mounts` are (host path, container path, read-only)."""
    with container(cli) as name:
        args = ["run", "--rm", "--name", name, *_labels(), "--entrypoint", command[0]]
        if user:
            args += ["--user", user]
        if drop_capabilities:
            args += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges:true"]
        for source, target, read_only in mounts:
            spec = f"type=bind,source={source},target={target}"
            args += ["--mount", spec + (",readonly" if read_only else "")]
        for key, value in (env or {}).items():
            args += ["--env", f"{key}={value}"]
        try:
            done = runner.run(cli.docker(*args, image, *command[1:]), timeout=timeout)
        except EngineTimeout as exc:
            return 124, exc.message
        return done.code, done.text
