"""doctor's checks of the project against what its own files say: where the app listens
beside what is published and health-checked, mounts nested in the code mount, the image's
Python against requires-python, the one-shot services and how they are waited on, and the
containers and volumes another checkout owns under the same project name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devstack import certs, engine
from devstack.checks import Check
from devstack.config import Settings
from devstack.errors import DevstackError
from devstack.runtime.command import AppCommand, read
from devstack.runtime.placement import nested_mounts
from devstack.stack import Stack

_HEALTH_PORT = re.compile(r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|\$\{?HOSTNAME\}?):(\d+)")
_PY_VERSION = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


def run(stack: Stack, probe_image: str | None) -> list[Check]:
    # The user's files alone (the model the stack resolved and cached): the overlay's own
    # changes (a dropped nested mount) are not theirs.
    services: Mapping[str, Any] = stack.model.get("services") or {}
    spec = services.get(stack.project.app) or {}
    return [
        app_port(stack, spec),
        nested(stack, spec),
        python(stack, probe_image),
        one_shot(services),
        checkout(stack),
    ]


def listens(stack: Stack, spec: Mapping[str, Any]) -> tuple[int | None, str]:
    """The port the app listens on in development, and what says so."""
    runtime = stack.runtime
    if runtime is not None and runtime.kind != "recipe":
        app = getattr(runtime, "app", None)
        if isinstance(app, AppCommand):
            return app.port, f"`{' '.join(getattr(runtime, 'own', ()))}`"
        return None, getattr(app, "reason", "its command cannot be read")
    command = stack.settings.reload_command
    if runtime is not None and command != Settings.reload_command:  # the user's own
        found = read(command, runtime.placement)
        if isinstance(found, AppCommand):
            return found.port, f"reload_command `{' '.join(command)}`"
        return None, f"reload_command `{' '.join(command)}` is not one devstack reads"
    env = spec.get("environment") or {}
    port = str(env.get("PORT") or "80") if isinstance(env, Mapping) else "80"
    return (
        (int(port), "PORT" if env.get("PORT") else "the recipe's default, PORT 80")
        if (port.isdigit())
        else (None, f"PORT={port!r} is not a number")
    )


def app_port(stack: Stack, spec: Mapping[str, Any]) -> Check:
    app = stack.project.app
    port, why = listens(stack, spec)
    if port is None:
        return Check("app-port", "skip", f"cannot tell where {app} listens: {why}")
    published = sorted({int(p["target"]) for p in spec.get("ports") or () if p.get("target")})
    test = spec.get("healthcheck", {}).get("test") or []
    checked = sorted({int(m) for m in _HEALTH_PORT.findall(" ".join(map(str, test)))})
    wrong = [f"publishes {t}" for t in published if t != port]
    wrong += [f"its health check asks port {t}" for t in checked if t != port]
    said = f"{app} listens on {port} ({why})"
    if wrong:
        return Check(
            "app-port",
            "fail",
            f"{said}, but {' and '.join(wrong)}",
            f"make the command's --port, the published port's target and the health check "
            f"agree (devstack runs {app} on the port its command names)",
        )
    parts = [f"publishes {', '.join(map(str, published))}" if published else "",
             f"health-checked on {', '.join(map(str, checked))}" if checked else ""]  # fmt: skip
    return Check("app-port", "pass", "; ".join([said, *[p for p in parts if p]]))


def nested(stack: Stack, spec: Mapping[str, Any]) -> Check:
    where = stack.runtime.placement if stack.runtime else None
    if where is None:
        return Check("nested-mounts", "skip", "no runtime")
    found = nested_mounts(spec, where, stack.settings.project_dir)
    if not found:
        return Check("nested-mounts", "pass", f"no mount inside the code mount ({where.target})")
    kept = stack.runtime.kept_volumes() if stack.runtime else None
    shown = [t for _, t, same in found if same]
    other = [(s, t) for s, t, same in found if not same]
    detail = []
    if shown and kept is not None:
        detail.append(f"{', '.join(shown)} dropped: the code mount already shows that folder")
    elif shown:
        detail.append(f"{', '.join(shown)} shows the folder the code mount shows")
    points = [
        _rel(where.source / t[len(where.target) + 1 :], stack.settings.project_dir)
        for _, t in other
    ]
    if other:
        detail.append(
            f"{', '.join(t for _, t in other)} nested in the code mount {where.target}: the "
            f"engine creates {', '.join(points)} in your tree as mount points"
        )
        return Check(
            "nested-mounts",
            "warn",
            "; ".join(detail),
            "mount those folders outside the code folder, or create them in your tree",
        )
    return Check("nested-mounts", "pass", "; ".join(detail))


def python(stack: Stack, probe_image: str | None) -> Check:
    from devstack.init import dependencies

    dirs = [stack.settings.code_dir, stack.settings.project_dir]
    need = next((r for d in dirs if (r := dependencies.python_required(d))), None)
    if need is None:
        return Check("python", "pass", "the project does not constrain Python (requires-python)")
    image = certs.service_images(stack.project).get(stack.project.app, "")
    if not image or not engine.image_ids([image]):
        return Check("python", "skip", f"needs Python {need[0]} ({need[1]}); the app's image "
                     f"{image or '(none)'} is not built yet (`devstack up --build`)")  # fmt: skip
    code, out = engine.run_throwaway(image, ["python3", "-c", _PY_VERSION], timeout=60)
    version = out.strip().splitlines()[-1] if code == 0 and out.strip() else ""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        return Check("python", "warn", f"no python3 in the app's image {image}: {out[-160:]}")
    have = tuple(int(p) for p in version.split("."))
    directory = next(d for d in dirs if dependencies.python_required(d))
    problem = dependencies.python_check(directory, have)
    if problem:
        return Check("python", "fail", problem[0], problem[1])
    return Check("python", "pass", f"the image's Python {version} meets {need[0]} ({need[1]})")


def one_shot(services: Mapping[str, Any]) -> Check:
    waits: dict[str, list[str]] = {}
    for name, spec in services.items():
        deps = spec.get("depends_on") or {}
        for dep, how in deps.items() if isinstance(deps, Mapping) else ():
            if (
                isinstance(how, Mapping)
                and how.get("condition") == "service_completed_successfully"
            ):
                waits.setdefault(dep, []).append(name)
    if not waits:
        return Check("one-shot", "pass", "no service waits on another to finish")
    lines = [f"{dep} runs once to the end; {', '.join(sorted(names))} start(s) after it "
             "exits 0 (a non-zero exit fails `up` with its log)"
             for dep, names in sorted(waits.items())]  # fmt: skip
    restarting = [d for d in waits if str(services.get(d, {}).get("restart", "no")) == "always"]
    if restarting:
        return Check(
            "one-shot",
            "warn",
            "; ".join(lines) + f"; but {', '.join(restarting)} has restart: always",
            "a one-shot service with restart: always starts again after it finishes; "
            'use restart: "no" or on-failure',
        )
    return Check("one-shot", "pass", "; ".join(lines))


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def checkout(stack: Stack) -> Check:
    """The project name's containers and named volumes belong to this checkout (another
    checkout's volumes hold its data and the passwords of its .env)."""
    notes: list[str] = []
    try:
        stack.ensure_ours(notes.append)
    except DevstackError as exc:
        return Check("checkout", "fail", exc.message, exc.hint or "")
    except OSError as exc:  # the engine's socket
        return Check("checkout", "skip", f"cannot list the project's containers: {exc}")
    detail = f"no other checkout's containers or volumes under the name {stack.name!r}"
    return Check("checkout", "warn" if notes else "pass", "; ".join([*notes, detail]))
