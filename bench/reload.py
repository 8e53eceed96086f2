"""2. Reload latency: from a write to the bind-mounted code to the first response serving it."""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import stacks
from bench.report import Table, Target, say
from bench.stacks import ROOT, Project
from bench.timing import Timeout, poll, stats

NEVER_SERVED_AFTER = 10.0
PLAIN_UVICORN = "uvicorn app.main:app --reload --host 0.0.0.0 --port 80"
ORIGINAL = 'MESSAGE = "hello from devstack"'


@dataclass(frozen=True)
class ReloadResult:
    latencies: tuple[float, ...]  # of the edits that were served
    in_place: tuple[float, ...]
    atomic: tuple[float, ...]
    never_served: int
    edits: int
    close_pairs: int  # edits written less than a second after the previous one


def _write(path: Path, text: str, *, atomic: bool) -> None:
    if atomic:  # an editor's save: a temporary file beside it, renamed over it
        tmp = path.with_name(f".{path.name}.bench-save")
        tmp.write_text(text)
        os.replace(tmp, path)
    else:
        with path.open("w") as fh:  # truncate and write in place
            fh.write(text)


def edit_series(url: str, source: Path, edits: int, tag: str) -> ReloadResult:
    """`edits` same-size edits of MESSAGE in `source`, alternating in-place and atomic
    writes; every fifth is written as soon as the previous one was served."""
    template = source.read_text()
    if ORIGINAL not in template:
        raise RuntimeError(f"{source}: no {ORIGINAL!r} to edit")

    def value(i: int) -> str:
        return f"{tag}-{i:04d}"

    def serve(i: int, *, atomic: bool) -> float:
        text = template.replace(ORIGINAL, f'MESSAGE = "{value(i)}"')
        start = time.monotonic()
        _write(source, text, atomic=atomic)
        want = value(i)
        return poll(
            url, lambda s, b: s == 200 and want in b, timeout=NEVER_SERVED_AFTER, start=start
        )

    serve(0, atomic=True)  # warm-up, untimed: the file now has the size every edit keeps
    served: list[float] = []
    in_place: list[float] = []
    atomic_: list[float] = []
    missed = close = 0
    last_write = time.monotonic()
    for i in range(1, edits + 1):
        if i % 5 != 0:
            time.sleep(0.3)
        if time.monotonic() - last_write < 1.0:
            close += 1
        last_write = time.monotonic()
        atomic = i % 2 == 0
        try:
            latency = serve(i, atomic=atomic)
        except Timeout:
            missed += 1
            continue
        served.append(latency)
        (atomic_ if atomic else in_place).append(latency)
    source.write_text(template)
    return ReloadResult(tuple(served), tuple(in_place), tuple(atomic_), missed, edits, close)


def warm_mode_available() -> tuple[bool, str]:
    """Whether compose/runtime knows RELOAD_MODE=warm (another change may add it)."""
    path = ROOT / "compose" / "runtime" / "devstack_runtime.py"
    if "warm" not in path.read_text():
        return False, "compose/runtime has no warm reload mode"
    spec = importlib.util.spec_from_file_location("bench_runtime", path)
    if spec is None or spec.loader is None:
        return True, ""
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "main.py").write_text("app = None\n")
            module.reload_argv({"RELOAD_MODE": "warm"}, Path(tmp))
    except Exception as exc:
        if type(exc).__name__ == "RuntimeFailure":
            return False, f"RELOAD_MODE=warm refused by the runtime: {exc}"
    finally:
        sys.modules.pop(spec.name, None)
    return True, ""


def row(label: str, r: ReloadResult) -> list[str]:
    def med(values: tuple[float, ...]) -> str:
        return f"{stats(values).median:.3f}" if values else "-"

    if not r.latencies:
        empty = ["-", "-", "-", str(r.never_served), "-", "-"]
        return [label, str(r.edits), *empty, str(r.close_pairs)]
    st = stats(r.latencies)
    return [
        label,
        str(r.edits),
        f"{st.median:.3f}",
        f"{st.p95:.3f}",
        f"{st.max:.3f}",
        str(r.never_served),
        med(r.in_place),
        med(r.atomic),
        str(r.close_pairs),
    ]


COLUMNS = [
    "variant",
    "edits",
    "median (s)",
    "p95 (s)",
    "worst (s)",
    "never served",
    "in-place median (s)",
    "atomic median (s)",
    "written <1 s after the previous",
]


def run_mode(project: Project, edits: int, env: dict[str, str], label: str) -> ReloadResult:
    say(f"reload: {label}: devstack up")
    project.devstack("up", env=env)
    try:
        say(f"reload: {label}: {edits} edits")
        return edit_series(project.url("/"), project.dir / "app" / "main.py", edits, label[:6])
    finally:
        project.devstack("down", "-v", env=env, check=False)


def _modes(project: Project, edits: int, notes: list[str], prefix: str) -> dict[str, ReloadResult]:
    """The same edits under devstack's default reload, plain uvicorn, and warm if present."""
    results: dict[str, ReloadResult] = {}
    say(f"reload{prefix}: building the app image once")
    project.compose("build")
    results[f"devstack (default RELOAD_MODE){prefix}"] = run_mode(project, edits, {}, "devstack")
    results[f"plain uvicorn --reload{prefix}"] = run_mode(
        project, edits, {"DEVSTACK_RELOAD_COMMAND": PLAIN_UVICORN}, "uvicorn"
    )
    available, why = warm_mode_available()
    if not available:
        notes.append(f"RELOAD_MODE=warm not measured: {why}.")
        return results
    warm = "services:\n  app:\n    environment:\n      RELOAD_MODE: warm\n"
    stacks.write_override(project, "warm.override.yaml", warm)
    project.files = ("warm.override.yaml",)
    try:
        results[f"devstack RELOAD_MODE=warm{prefix}"] = run_mode(project, edits, {}, "warm")
    except Exception as exc:
        logs = project.compose("logs", "--tail", "20", "app", check=False).stdout
        notes.append(f"RELOAD_MODE=warm{prefix} failed: {str(exc)[:300]} (app log: {logs[-400:]})")
    finally:
        project.files = ()
    return results


def measure(edits: int, heavy_edits: int) -> tuple[list[Table], list[Target]]:
    notes = [
        f"examples/fastapi-redis brought up by `devstack up`; each edit changes MESSAGE in "
        f"app/main.py (same size), GET / polled every 10 ms; never served = not seen within "
        f"{NEVER_SERVED_AFTER:.0f} s.",
        "Edits alternate in-place writes (truncate + write) and atomic saves (temporary file "
        "+ os.replace); every fifth is written as soon as the previous one was served.",
        f"plain uvicorn: the same image and bind mount with the command `{PLAIN_UVICORN}`.",
    ]
    project = stacks.example("fastapi-redis", "reload")
    try:
        results = _modes(project, edits, notes, "")
    finally:
        project.down()
    tables = [Table("Reload latency", COLUMNS, [row(k, v) for k, v in results.items()], notes)]
    targets = reload_targets("reload", results["devstack (default RELOAD_MODE)"])
    if "devstack RELOAD_MODE=warm" in results:
        targets += reload_targets("reload, RELOAD_MODE=warm", results["devstack RELOAD_MODE=warm"])
    if heavy_edits:
        heavy_notes = [
            "bench/apps/heavy: FastAPI with SQLAlchemy, pydantic-settings, httpx, Jinja2, orjson "
            f"and PyYAML imported at start; {heavy_edits} edits per variant, as above.",
        ]
        project = stacks.heavy("reload-heavy")
        try:
            heavy = _modes(project, heavy_edits, heavy_notes, " [heavy app]")
        except Exception as exc:
            heavy = {}
            heavy_notes.append(f"not measured: {str(exc)[:400]}")
        finally:
            project.down()
        tables.append(
            Table(
                "Reload latency: a heavier app",
                COLUMNS,
                [row(k, v) for k, v in heavy.items()],
                heavy_notes,
            )
        )
    return tables, targets


def reload_targets(prefix: str, r: ReloadResult) -> list[Target]:
    if not r.latencies:
        return [Target(f"{prefix} median", "<= 0.06 s", "nothing served", False)]
    st = stats(r.latencies)
    return [
        Target(f"{prefix} median", "<= 0.06 s", f"{st.median:.3f} s", st.median <= 0.06),
        Target(f"{prefix} p95", "<= 1.0 s", f"{st.p95:.2f} s", st.p95 <= 1.0),
        Target(
            f"{prefix} edits never served",
            "0",
            f"{r.never_served} of {r.edits}",
            r.never_served == 0,
        ),
    ]
