"""On a remote engine, the files the tests wrote (a JUnit report, coverage) are in the app
container, not here: the container's tree is listed before the tests and after, and every
file added or changed in between (and not one the sync leaves out: caches, `__pycache__`,
.dockerignore) is copied back into the working tree, as `devstack sync pull` would."""

from __future__ import annotations

from dataclasses import dataclass

from devstack.delivery.sync import daemon, ignore, pull
from devstack.delivery.sync.channel import Channel
from devstack.stack import Stack

Tree = dict[str, tuple[str, int, int, int, str]]


@dataclass
class Collector:
    stack: Stack
    before: Tree

    @classmethod
    def start(cls, stack: Stack) -> Collector:
        return cls(stack, _tree(stack))

    def back(self) -> list[str]:
        """Copy the files the tests added or changed here; their paths."""
        after = _tree(self.stack)
        rules = ignore.load(self.stack.settings.code_dir, self.stack.settings.sync_ignore)
        changed = sorted(
            rel
            for rel, entry in after.items()
            if entry[0] == "f" and self.before.get(rel) != entry and not rules.ignored(rel)
        )
        if not changed:
            return []
        root = self.stack.settings.code_dir
        return pull.pull(self.stack, [str(root / rel) for rel in changed])


def _tree(stack: Stack) -> Tree:
    cid = daemon.app_container(stack)
    if cid is None:
        return {}
    channel = Channel(stack.engine, cid, stack.code.target)
    try:
        return channel.manifest()[0]
    finally:
        channel.close()
