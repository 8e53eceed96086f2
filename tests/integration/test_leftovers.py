"""Nothing left behind (issue 24): after `down -v`, the engine holds no container, volume or
network that a devstack command made, its own throw-away containers' anonymous volumes
included, whether the command succeeded, failed or was interrupted.

The engine is shared (other tests may run beside this one), so what a run added is
attributed through the engine's event log: a container is this test's when it carries the
compose project's label or the label of this module's stand-in images (a container inherits
its image's labels); a volume is when one of those containers mounted it or it carries the
project's label. The stand-ins are the local images with a `VOLUME`-declaring PostgreSQL
(as the real one), relabelled for this module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.errors import ExitCode
from tests.conftest import LOCAL_IMAGES, ROOT
from tests.integration.helpers import (
    Project,
    _interruptible,
    ctrl_c,
    docker,
    example,
    wait_for,
)

pytestmark = pytest.mark.docker

MARK = "devstack.test.leftovers"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(scope="module")
def stand_ins(docker_engine: None) -> Iterator[tuple[str, dict[str, str]]]:
    """(label value, image variables): the local images relabelled for this module."""
    run = uuid.uuid4().hex[:10]
    images = {}
    for variable, base in LOCAL_IMAGES.items():
        tag = f"dstest-leftovers-{variable.lower()}:{run}"
        built = subprocess.run(
            ["docker", "build", "-q", "-t", tag, "-"],
            input=f"FROM {base}\nLABEL {MARK}={run}\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert built.returncode == 0, built.stderr
        images[variable] = tag
    volumes = docker(
        "image", "inspect", "--format", "{{json .Config.Volumes}}", images["POSTGRES_IMAGE"]
    )
    assert "/var/lib/postgresql/data" in volumes  # the point of the test: an image's VOLUME
    yield run, images
    subprocess.run(
        ["docker", "image", "rm", "-f", *images.values()], capture_output=True, timeout=60
    )


def snapshot() -> dict[str, set[str]]:
    return {
        "containers": set(docker("ps", "-aq", "--no-trunc").split()),
        "volumes": set(docker("volume", "ls", "-q").split()),
        "networks": set(docker("network", "ls", "-q", "--no-trunc").split()),
    }


def events(since: float, until: float) -> list[dict[str, object]]:
    out = docker(
        "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--format", "{{json .}}"
    )
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def added_by(
    project: str, run: str, before: dict[str, set[str]], since: float
) -> dict[str, list[str]]:
    """What is on the engine now, was not before, and belongs to this test."""
    time.sleep(1)  # the event log's --until is in whole seconds on some engines
    after = snapshot()
    ours: set[str] = set()
    mounted: dict[str, set[str]] = {}
    for ev in events(since - 1, time.time()):
        actor = ev.get("Actor") or {}
        assert isinstance(actor, dict)
        attrs = actor.get("Attributes") or {}
        assert isinstance(attrs, dict)
        if ev.get("Type") == "container" and (
            (project and attrs.get("com.docker.compose.project") == project)
            or attrs.get(MARK) == run
        ):
            ours.add(str(actor.get("ID")))
        if ev.get("Type") == "volume" and ev.get("Action") == "mount":
            mounted.setdefault(str(actor.get("ID")), set()).add(str(attrs.get("container")))
    label = f"label=com.docker.compose.project={project}"
    labelled: dict[str, set[str]] = {"volumes": set(), "networks": set()}
    if project:
        labelled["volumes"] = set(docker("volume", "ls", "-q", "--filter", label).split())
        labelled["networks"] = set(
            docker("network", "ls", "-q", "--no-trunc", "--filter", label).split()
        )
    new = {kind: after[kind] - before[kind] for kind in after}
    return {
        "containers": sorted(new["containers"] & ours),
        "volumes": sorted(
            v for v in new["volumes"] if v in labelled["volumes"] or mounted.get(v, set()) & ours
        ),
        "networks": sorted(new["networks"] & labelled["networks"]),
    }


def never_healthy(p: Project) -> None:
    compose = p.dir / "compose.yaml"
    text = compose.read_text()
    assert 'test: ["CMD-SHELL", "pg_isready -U app -d app -h 127.0.0.1"]' in text
    compose.write_text(
        text.replace(
            'test: ["CMD-SHELL", "pg_isready -U app -d app -h 127.0.0.1"]',
            'test: ["CMD-SHELL", "exit 1"]',
        ).replace(
            "interval: 5s\n      timeout: 3s\n      retries: 10",
            "interval: 1s\n      timeout: 3s\n      retries: 2",
            1,
        )
    )


def interrupted_up(p: Project) -> None:
    """Ctrl-C while `up` starts and waits on the database (never healthy)."""
    proc = p.popen("up")
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 300
    while "starting db" not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert "starting db" in seen, seen
    time.sleep(2)
    ctrl_c(proc)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, seen + rest


SCENARIOS = ["up", "doctor", "migrate", "failed-up", "interrupted-up"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_nothing_left_behind(
    tmp_path: Path, project_name: str, stand_ins: tuple[str, dict[str, str]], scenario: str
) -> None:
    run, images = stand_ins
    p = example("fastapi-postgres", tmp_path, project_name)
    p.env.update(images)
    p.env["DEVSTACK_CA_BUNDLE"] = CA_BUNDLE
    assert not (p.dir / ".devstack" / "ca").exists()  # a cold cache: every image is read
    if scenario in ("failed-up", "interrupted-up"):
        never_healthy(p)
    before = snapshot()
    since = time.time()
    try:
        if scenario == "up":
            p.devstack("up", check=True)
        elif scenario == "doctor":
            p.devstack("doctor")  # its verdict is not the point: what it leaves is
        elif scenario == "migrate":
            p.devstack("migrate", check=True)
        elif scenario == "failed-up":
            r = p.devstack("up", "--wait-timeout", "20")
            assert r.returncode == ExitCode.UNHEALTHY, r.stderr
        else:
            interrupted_up(p)
        assert list((p.dir / ".devstack" / "ca").glob("image-*.pem"))  # images were read
    finally:
        down = p.devstack("down", "-v")
    assert down.returncode == 0, down.stderr
    left = added_by(project_name, run, before, since)
    print(f"{scenario}: left {json.dumps({k: len(v) for k, v in left.items()})}")
    assert_none(left)


def assert_none(left: dict[str, list[str]]) -> None:
    """Nothing left; what was is removed first, so that a failure leaves nothing either."""
    if left["containers"]:
        subprocess.run(["docker", "rm", "-f", "-v", *left["containers"]], capture_output=True)
    if left["volumes"]:
        subprocess.run(["docker", "volume", "rm", "-f", *left["volumes"]], capture_output=True)
    assert left == {"containers": [], "volumes": [], "networks": []}


def test_throwaway_run_timeout_leaves_nothing(stand_ins: tuple[str, dict[str, str]]) -> None:
    """The client gives up on a run that outlives its timeout: the container still runs,
    and goes with its anonymous volume."""
    from devstack.engine import run_throwaway

    run, images = stand_ins
    before = snapshot()
    since = time.time()
    start = time.monotonic()
    code, out = run_throwaway(images["POSTGRES_IMAGE"], ["sleep", "60"], timeout=3)
    assert code == 124, out
    assert time.monotonic() - start < 30
    assert_none(added_by("", run, before, since))


def test_throwaway_run_ctrl_c_leaves_nothing(stand_ins: tuple[str, dict[str, str]]) -> None:
    """Ctrl-C while a throw-away container runs: it goes with its anonymous volume."""
    run, images = stand_ins
    image = images["POSTGRES_IMAGE"]
    code = (
        "from devstack.engine import run_throwaway\n"
        f"run_throwaway({image!r}, ['sleep', '60'], timeout=120)\n"
    )
    before = snapshot()
    since = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_interruptible,
    )
    try:
        wait_for(lambda: docker("ps", "-q", "--filter", f"ancestor={image}").strip(), timeout=60)
        ctrl_c(proc)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in err, err
    assert_none(added_by("", run, before, since))
