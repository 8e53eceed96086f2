"""Fixtures of the upstream suite: each distinct image built once per session, on first use;
containers labelled into the test's compose project, so the leak check covers them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.integration.helpers import build_recipe_image
from tests.integration.upstream.apps import TREES
from tests.integration.upstream.harness import Box, docker


@pytest.fixture(scope="session")
def upstream_image(
    docker_engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], str]]:
    """upstream_image(kind): the tag of devstack's recipe built with TREES[kind] as /app."""
    built: dict[str, str] = {}
    session = uuid.uuid4().hex[:8]

    def build(kind: str) -> str:
        if kind not in built:
            context = tmp_path_factory.mktemp(f"upstream-{kind}")
            for rel, text in TREES[kind].items():
                path = context / "app-src" / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                if path.suffix == ".sh":
                    path.chmod(0o755)
            # /app holds upstream's files only: with no dependency file the recipe installs
            # FastAPI alone, as upstream's image shipped it.
            tag = f"devstack-upstream-test:{kind.replace('_', '-')}-{session}"
            build_recipe_image(context, tag, app_dir="app-src")
            built[kind] = tag
        return built[kind]

    yield build
    if built:
        docker("rmi", "-f", *built.values())


@pytest.fixture
def box(upstream_image: Callable[[str], str], project_name: str) -> Iterator[Callable[..., Box]]:
    """box(kind, env=..., port=..., command=...): a running container of that image."""
    boxes: list[Box] = []

    def run(kind: str, **kwargs: object) -> Box:
        boxes.append(Box.run(upstream_image(kind), project_name, **kwargs))  # type: ignore[arg-type]
        return boxes[-1]

    yield run
    for b in boxes:
        b.remove()
