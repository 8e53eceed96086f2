"""6. Scale: up, ps and reload latency with 1, 5 and 10 dependencies, and a 10,000-file tree."""

from __future__ import annotations

from bench import stacks
from bench.reload import edit_series
from bench.report import Table, say
from bench.stacks import Project
from bench.timing import ok, poll, stats, timed


def _up(project: Project) -> float:
    def once() -> None:
        project.devstack("up")
        poll(project.url("/"), ok, timeout=120, every=0.05)

    return timed(once)


def _case(label: str, project: Project, reps: int, edits: int, ps_runs: int) -> list[str]:
    ups = []
    for rep in range(reps):
        if rep:
            project.devstack("down")
        ups.append(_up(project))
        say(f"  scale {label} up {rep + 1}/{reps}: {ups[-1]:.2f} s")
    dev_ps = stats([timed(lambda: project.devstack("ps")) for _ in range(ps_runs)])
    bare_ps = stats([timed(lambda: project.compose("ps")) for _ in range(ps_runs)])
    reload = edit_series(project.url("/"), project.dir / "app" / "main.py", edits, "scale")
    project.down()
    up = stats(ups)
    lat = stats(reload.latencies) if reload.latencies else None
    return [
        label,
        f"{up.median:.2f}",
        f"{up.min:.2f}-{up.max:.2f}",
        f"{dev_ps.median:.3f}",
        f"{bare_ps.median:.3f}",
        f"{dev_ps.median / bare_ps.median:.2f}x",
        f"{lat.median:.3f}" if lat else "-",
        f"{lat.max:.3f}" if lat else "-",
        f"{reload.never_served}/{reload.edits}",
    ]


def measure(reps: int, edits: int, ps_runs: int) -> list[Table]:
    image = stacks.app_image()
    rows = []
    for n in (1, 5, 10):
        say(f"scale: app + {n} dependencies")
        project = stacks.generated(f"scale{n}", image=image, dependencies=n)
        try:
            rows.append(_case(f"app + {n} deps", project, reps, edits, ps_runs))
        finally:
            project.down()
    say("scale: app + 1 dependency, 10,000 files in the code tree")
    project = stacks.generated("scale10k", image=image, dependencies=1, files=10_000)
    try:
        rows.append(_case("app + 1 dep, 10,000 files", project, reps, edits, ps_runs))
    finally:
        project.down()
    return [
        Table(
            "Scale: dependencies and code-tree size",
            [
                "stack",
                "devstack up median (s)",
                "up range (s)",
                "devstack ps (s)",
                "docker compose ps (s)",
                "ps ratio",
                "reload median (s)",
                "reload worst (s)",
                "never served",
            ],
            rows,
            [
                "Generated projects: a tiny FastAPI app (the built app image, code bind-mounted "
                "by devstack) beside N Redis stand-ins, each with a health check "
                "(interval 5 s) the app depends on.",
                f"up: from `devstack up` to GET / answering; ps: median of {ps_runs} runs; "
                f"reload: {edits} edits as in the reload table.",
                "10,000 files: small modules in app/generated/ (20 packages of 500).",
            ],
        )
    ]
