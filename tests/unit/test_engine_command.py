"""The one command builder (argv for each engine target and compose project) and the one
runner (timeout, environment, errors that keep the command, the two ways a stream ends).
The runner is exercised on ordinary programs (sh, sleep): no engine needed."""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import pytest

from devstack.engine import runner
from devstack.engine.command import CLI, Cli, ComposeProject, Target
from devstack.engine.translate import translated
from devstack.errors import ComposeError, EngineTimeout, EngineUnavailable

PROJECT = ComposeProject(
    Path("/src/shop"),
    (Path("/src/shop/compose.yaml"), Path("/src/shop/.devstack/overlay.yaml")),
    "shop",
)


@pytest.mark.parametrize(
    ("target", "flags"),
    [
        (Target(), []),  # the engine the CLI's environment names
        (Target(host="ssh://me@box"), ["--host", "ssh://me@box"]),
        (
            Target(host="unix:///run/user/1000/docker.sock"),
            ["--host", "unix:///run/user/1000/docker.sock"],
        ),
        (Target(context="colima"), ["--context", "colima"]),
    ],
)
def test_docker_argv_for_each_target(target: Target, flags: list[str]) -> None:
    assert Cli(target).docker("ps", "-q") == ["docker", *flags, "ps", "-q"]
    assert Cli(target).compose(PROJECT, "up", "db") == [
        "docker",
        *flags,
        "compose",
        "--file",
        "/src/shop/compose.yaml",
        "--file",
        "/src/shop/.devstack/overlay.yaml",
        "--project-name",
        "shop",
        "--project-directory",
        "/src/shop",
        "up",
        "db",
    ]


def test_compose_without_a_name_lets_compose_pick_it() -> None:
    project = ComposeProject(Path("/src/x"), (Path("/src/x/compose.yaml"),))
    assert CLI.compose(project, "ps") == [
        "docker", "compose", "--file", "/src/x/compose.yaml", "--project-directory", "/src/x", "ps"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "target", [Target(), Target(host="ssh://me@box"), Target(context="colima")]
)
def test_the_same_argv_as_python_on_whales_builds(target: Target) -> None:
    """python-on-whales' ClientConfig is the shape copied: the same flags in the same order."""
    from python_on_whales.client_config import ClientConfig

    config = ClientConfig(
        client_call=["docker"],
        host=target.host or None,
        context=target.context or None,
        compose_files=list(PROJECT.files),
        compose_project_name=PROJECT.name,
        compose_project_directory=PROJECT.directory,
    )
    theirs = [str(a) for a in config.docker_compose_cmd]
    assert [Path(theirs[0]).name, *theirs[1:]] == Cli(target).compose(PROJECT)


def test_a_timeout_is_a_devstack_error_naming_the_command() -> None:
    start = time.monotonic()
    with pytest.raises(EngineTimeout) as caught:
        runner.run(["sleep", "5"], timeout=0.3)
    assert time.monotonic() - start < 3  # the child was not waited for
    assert "`sleep 5` did not finish within 0s" in caught.value.message
    assert caught.value.command == ["sleep", "5"]
    assert caught.value.hint and "docker info" in caught.value.hint
    assert caught.value.exit_code == EngineUnavailable.exit_code


def test_a_secret_argument_can_be_kept_out_of_the_message() -> None:
    with pytest.raises(EngineTimeout) as caught:
        runner.run(["sleep", "5"], timeout=0.2, shown=["sleep", "..."])
    assert (
        "sleep ..." in caught.value.message and "5" not in caught.value.message.split("within")[0]
    )


def test_a_missing_program_is_engine_unavailable() -> None:
    with pytest.raises(EngineUnavailable, match="the docker command is not installed"):
        runner.run(["devstack-no-such-docker-binary", "ps"])
    with pytest.raises(EngineUnavailable):
        next(runner.stream(["devstack-no-such-docker-binary", "logs"]))


def test_a_failure_keeps_command_exit_code_and_stderr() -> None:
    cmd = ["sh", "-c", "echo out; echo 'no such service: web' >&2; exit 3"]
    done = runner.run(cmd)
    assert (done.code, done.out, done.text) == (3, "out", "out\nno such service: web")
    with pytest.raises(runner.Failed) as caught:
        done.check()
    assert (caught.value.docker_command, caught.value.return_code) == (cmd, 3)
    assert caught.value.stderr.strip() == "no such service: web"
    with pytest.raises(ComposeError) as translated_error, translated("exec"):
        runner.run(["sh", "-c", "echo 'it broke' >&2; exit 2"]).check()
    assert translated_error.value.command == ["sh", "-c", "echo 'it broke' >&2; exit 2"]
    assert translated_error.value.return_code == 2
    assert translated_error.value.stderr == "it broke"


def test_environment_is_added_to_the_clients_not_its_argv() -> None:
    done = runner.run(
        ["sh", "-c", 'echo "$DEVSTACK_TEST_SECRET"'], env={"DEVSTACK_TEST_SECRET": "s3"}
    )
    assert done.out == "s3"


def test_stream_yields_lines_and_fails_at_the_end_with_stderr() -> None:
    noise = "time=x level=warning msg=COMPOSE_BAKE=false is deprecated"
    cmd = ["sh", "-c", f"echo one; echo '{noise}' >&2; echo two >&2; exit 4"]
    seen: list[str] = []
    with pytest.raises(runner.Failed) as caught:
        for line in runner.stream(cmd):
            seen.append(line)
    assert sorted(seen) == ["one", "two"]  # compose's noise left out
    assert caught.value.return_code == 4 and caught.value.stderr.strip() == "two"


@pytest.mark.parametrize(("wait", "finished"), [(True, True), (False, False)])
def test_a_reader_that_stops_early_waits_for_the_child_or_kills_it(
    tmp_path: Path, wait: bool, finished: bool
) -> None:
    """`wait`: the child (compose, which got the same Ctrl-C) finishes its own clean-up;
    without it (logs -f) the child is killed at once."""
    done = tmp_path / "done"
    cmd = ["sh", "-c", f"echo started; sleep 1; touch {done}"]
    with closing(runner.stream(cmd, wait=wait)) as lines:
        assert next(lines) == "started"
    assert done.exists() is finished


def test_a_child_that_outlives_the_grace_is_killed() -> None:
    start = time.monotonic()
    with closing(
        runner.stream(["sh", "-c", "echo started; sleep 30"], wait=True, grace=0.5)
    ) as lines:
        assert next(lines) == "started"
    assert time.monotonic() - start < 5
