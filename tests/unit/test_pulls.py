"""An image that cannot be pulled is told apart from an engine that does not answer."""

from __future__ import annotations

from devstack.engine import pulls
from devstack.engine.runner import Failed
from devstack.engine.translate import engine_error
from devstack.errors import EngineUnavailable, ExitCode, ImageUnavailable

DNS = "dial tcp: lookup {host} on 10.0.0.53:53: no such host"
COMPOSE_PULL = ' db Pulling \n db Error Get "https://registry-1.docker.io/v2/": ' + DNS.format(
    host="registry-1.docker.io"
)
BUILD_PULL = (
    " > [app internal] load metadata for docker.io/library/python:3.12-slim:\n"
    "failed to solve: rpc error: failed to do request: Head "
    '"https://registry-1.docker.io/v2/library/python/manifests/3.12-slim": '
    + DNS.format(host="registry-1.docker.io")
)
ENGINE_DOWN = (
    'error during connect: Get "http://engine.invalid:2375/v1.47/containers/json": '
    + DNS.format(host="engine.invalid")
)


def test_compose_pull_names_service_and_registry() -> None:
    f = pulls.parse(COMPOSE_PULL)
    assert f is not None
    assert (f.service, f.registry, f.in_build) == ("db", "registry-1.docker.io", False)
    assert "does not resolve" in f.reason


def test_build_base_image_is_named() -> None:
    f = pulls.parse(BUILD_PULL)
    assert f is not None
    assert (f.image, f.registry, f.in_build) == ("python:3.12-slim", pulls.DOCKER_HUB, True)


def test_private_registry_and_missing_image() -> None:
    text = 'Error response from daemon: Get "https://reg.invalid/v2/": ' + DNS.format(host="x")
    f = pulls.parse(text)
    assert f is not None and f.registry == "reg.invalid"
    gone = pulls.parse(
        "Error response from daemon: pull access denied for nosuch/image, repository does "
        "not exist or may require 'docker login'"
    )
    assert gone is not None and gone.image == "nosuch/image" and "no such image" in gone.reason
    assert pulls.registry_of("ghcr.io/a/b:1") == "ghcr.io"
    assert pulls.registry_of("redis/redis-stack-server") == pulls.DOCKER_HUB


def test_engine_down_is_not_a_pull_failure() -> None:
    assert pulls.parse(ENGINE_DOWN) is None
    err = engine_error(Failed(["docker", "compose", "up"], 1, "", ENGINE_DOWN), "up")
    assert isinstance(err, EngineUnavailable)


def test_translation_and_the_variable_that_picks_the_image() -> None:
    exc = Failed(["docker", "compose", "up"], 1, "", "")
    err = engine_error(exc, "up", COMPOSE_PULL.splitlines())
    assert isinstance(err, ImageUnavailable) and err.exit_code == ExitCode.IMAGE_UNAVAILABLE
    f = pulls.parse(err.details)
    assert f is not None
    raw = [{"services": {"db": {"image": "${POSTGRES_IMAGE:-postgres:16}"}}}]
    resolved = {"services": {"db": {"image": "postgres:16"}}}
    assert pulls.image_variable(raw, resolved, f) == ("postgres:16", "POSTGRES_IMAGE")
    e = pulls.error(f, image="postgres:16", variable="POSTGRES_IMAGE", local=["mine/postgres:15"])
    assert e.message.startswith("cannot pull postgres:16 (service db) from Docker Hub")
    assert e.hint and "set POSTGRES_IMAGE" in e.hint and "mine/postgres:15" in e.hint


def test_build_argument_that_picks_the_base_image() -> None:
    f = pulls.parse(BUILD_PULL)
    assert f is not None
    raw = [{"services": {"app": {"build": {"args": ["PYTHON_IMAGE=${PYTHON_IMAGE:-x}"]}}}}]
    resolved = {"services": {"app": {"build": {"args": {"PYTHON_IMAGE": "python:3.12-slim"}}}}}
    assert pulls.image_variable(raw, resolved, f) == ("python:3.12-slim", "PYTHON_IMAGE")
    assert pulls.normalized("docker.io/library/redis") == "redis:latest"


def test_a_stale_database_password_is_named_with_both_ways_out() -> None:
    from devstack import diagnose
    from devstack.errors import MigrationFailed

    exc = MigrationFailed(
        "migration `alembic upgrade head` exited with code 1",
        details='FATAL:  password authentication failed for user "app"',
    )
    out = diagnose.explained(exc)
    assert out is exc and "password authentication failed" in out.message
    assert out.hint and "restore the old password" in out.hint and "devstack down -v" in out.hint
    other = diagnose.explained(MigrationFailed("x", details="SyntaxError"))
    assert other.hint is None


STEP_OUTPUT = [
    "#3 [app internal] load metadata for docker.io/devstack-local/python:3.11",
    "#3 DONE 0.0s",
    "#11 [app 7/11] RUN --mount=type=secret,id=ca_bundle --mount=type=cache,target=/root/.cache/uv"
    "     mkdir -p /tmp/app-deps && /devstack/deps/install-deps /tmp/app-deps",
    "#11 0.9 error: Failed to fetch: `https://index.invalid/simple/fastapi/`",
    "#11 0.9   Caused by: dns error: failed to lookup address information: Temporary failure in"
    " name resolution",
    "#11 ERROR: executor failed running [/bin/sh -c mkdir -p /tmp/app-deps]: exit code: 1",
    "------",
    " > [app 7/11] RUN --mount=type=cache,target=/root/.cache/uv     mkdir -p /tmp/app-deps &&"
    " /devstack/deps/install-deps /tmp/app-deps:",
    "0.912 error: Failed to fetch: `https://index.invalid/simple/fastapi/`",
    "0.913   Caused by: dns error: Temporary failure in name resolution",
    "0.915 devstack: `uv pip install --python /opt/venv/bin/python` exited 2",
    "0.915 devstack: hint: the lines above say why; fix the dependency files, then build again",
    "------",
]


def test_a_failed_build_step_is_that_step_not_a_pull() -> None:
    """Its output speaks of DNS (a package index), and the log names the base image: still
    the step's failure, named with its last lines, never `cannot pull` the base image."""
    stderr = (
        "failed to solve: executor failed running [/bin/sh -c mkdir -p /tmp/app-deps]: exit code: 1"
    )
    err = engine_error(
        Failed(["docker", "compose", "build"], 1, "", stderr),
        "build",
        STEP_OUTPUT,
    )
    assert not isinstance(err, ImageUnavailable)
    assert err.message == (
        "build failed at step [app 7/11] `RUN mkdir -p /tmp/app-deps && "
        "/devstack/deps/install-deps /tmp/app-deps` (exit 1)"
    )
    assert "error: Failed to fetch: `https://index.invalid/simple/fastapi/`" in err.details
    assert "devstack: hint: the lines above say why" in err.details
