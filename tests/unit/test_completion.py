"""Shell completion: the scripts install, and service names complete from the compose files
(no engine), as typer's own completion tests drive it: through its environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.cli.complete import services_in

BIN = Path(sys.executable).parent  # the venv's bin: `devstack` is installed there

COMPOSE = """\
services:
  web:
    image: nginx
    ports: !override ["8080:80"]
  db:
    image: postgres
    environment: !reset {}
include:
  - extra/compose.yaml
  - path: [more.yaml]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "compose.yaml").write_text("services:\n  worker:\n    image: x\n")
    (tmp_path / "more.yaml").write_text("services:\n  cache:\n    image: redis\n")
    return tmp_path


def complete(shell: str, words: str, cwd: Path, **env: str) -> list[str]:
    """What typer answers a shell asking to complete `words` (the cursor at their end)."""
    full = {**os.environ, "_DEVSTACK_COMPLETE": f"complete_{shell}", **env}
    if shell == "bash":
        full |= {"COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    else:
        full["_TYPER_COMPLETE_ARGS"] = words
    done = subprocess.run(
        [sys.executable, "-m", "devstack"], cwd=cwd, env=full, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_services_are_read_from_the_files_and_their_includes(project: Path) -> None:
    assert services_in([project / "compose.yaml"]) == ["cache", "db", "web", "worker"]


def test_unreadable_files_complete_nothing(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: [unclosed\n")
    assert services_in([tmp_path / "compose.yaml", tmp_path / "missing.yaml"]) == []


@pytest.mark.parametrize("command", ["logs", "up", "exec", "shell"])
def test_bash_completes_service_names(project: Path, command: str) -> None:
    assert complete("bash", f"devstack {command} ", project) == ["cache", "db", "web", "worker"]


def test_prefix_and_names_already_given(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert complete("bash", "devstack logs w", project) == ["web", "worker"]
    assert complete("bash", "devstack logs web ", project) == ["cache", "db", "worker"]
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # no compose file here nor above
    assert complete("bash", f"devstack -C {project} up c", elsewhere) == ["cache"]
    assert complete("bash", "devstack logs ", elsewhere) == []  # no project: nothing, no error


def test_zsh_and_fish_complete_service_names(project: Path) -> None:
    zsh = complete("zsh", "devstack exec d", project)
    assert any("db" in word for word in zsh)
    fish = complete("fish", "devstack shell w", project, _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert "web" in " ".join(fish) and "worker" in " ".join(fish)


def test_bash_completion_installs_and_completes(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "--install-completion", "bash"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "completion installed" in done.stdout
    rc = (home / ".bashrc").read_text()
    assert "devstack" in rc
    # A new interactive bash reads .bashrc; ask its completion function as bash would.
    script = (
        "source ~/.bashrc; COMP_WORDS=(devstack logs w); COMP_CWORD=2; "
        '_devstack_completion devstack; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.stdout.split() == ["web", "worker"], done.stderr


def test_show_completion_prints_a_script_for_each_shell() -> None:
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    for shell, marker in (("bash", "complete "), ("zsh", "compdef"), ("fish", "complete ")):
        done = subprocess.run(
            [sys.executable, "-m", "devstack", "--show-completion", shell],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and marker in done.stdout
        assert "_DEVSTACK_COMPLETE" in done.stdout
