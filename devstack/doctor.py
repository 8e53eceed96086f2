"""`devstack doctor`: check what commonly breaks a stack, each with a one-line fix.

The checks run in order; each is pass, warn, fail or skip. Engine checks are skipped
when the engine does not answer, project checks when there is no project. Nothing here
prints; the CLI renders the checks.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from devstack import app_checks, certs, engine, overlay
from devstack.checks import Check
from devstack.config import Settings
from devstack.errors import DevstackError
from devstack.stack import Stack, open_stack

INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_watches")
INOTIFY_SHARE = 0.8  # warn when the code tree needs more than this share of the limit
DISK_WARN = 5 * 2**30
DISK_FAIL = 1 * 2**30
FALLBACK_IMAGES = ("devstack-local/python:3.11", "python:3.12-slim")  # used only if local

# Run in a throw-away container: one verified HTTPS request to the package index pip uses.
_TLS_PROBE = """
import ssl, sys, urllib.error, urllib.request
try:
    from pip._internal.models.index import PyPI
except Exception:
    print("NOPIP"); sys.exit(3)
try:
    urllib.request.urlopen(urllib.request.Request(PyPI.url, method="HEAD"), timeout=10)
except urllib.error.HTTPError:
    pass  # the server answered over verified TLS
except (urllib.error.URLError, OSError) as exc:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE" in str(reason):
        print("UNTRUSTED", reason); sys.exit(2)
    print("OFFLINE", reason); sys.exit(4)
print("OK", PyPI.url)
"""


def read_inotify_limit() -> int | None:
    """fs.inotify.max_user_watches; None where there is no inotify (not Linux)."""
    try:
        return int(INOTIFY_LIMIT.read_text().strip())
    except (OSError, ValueError):
        return None


def free_bytes(path: str) -> int | None:
    """Free space where `path` lives; None when this host cannot see it (a remote engine)."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def failed(checks: tuple[Check, ...]) -> bool:
    return any(c.status == "fail" for c in checks)


def run(load_settings: Callable[[], Settings]) -> tuple[Check, ...]:
    """Every check, in order; `load_settings` resolves the project's settings."""
    checks: list[Check] = []
    info = None
    try:
        info = engine.engine_info()
        checks.append(Check("engine", "pass", f"Docker Engine {info.server_version}"))
    except DevstackError as exc:
        checks.append(Check("engine", "fail", _one_line(exc), "start Docker, or fix DOCKER_HOST"))
    checks.append(_compose() if info else _skip("compose", "the engine does not answer"))
    checks.append(_buildkit(info.server_version) if info else _skip("buildkit", "no engine"))

    settings, stack, config_check = _project(load_settings)
    checks.append(config_check)
    checks.append(_ports(stack) if stack and info else _skip_project("ports", bool(info)))
    checks.append(_inotify(settings) if settings else _skip_project("inotify", True))
    checks.append(_disk(info.root_dir) if info else _skip("disk", "the engine does not answer"))
    if stack and info:
        checks.append(_location(stack))
    image = _probe_image(stack) if stack and info else None
    if stack and info and image:
        checks.append(_ca_trust(stack, image))
        skipped = stack.delivery.mount_check()
        checks.append(_skip("bind-mount", skipped) if skipped else _bind_mount(stack, image))
    else:
        why = "no local image with Python to probe with; `devstack up --build` first"
        for name in ("ca-trust", "bind-mount"):
            ready = stack is not None and info is not None
            checks.append(_skip(name, why) if ready else _skip_project(name, bool(info)))
    if stack:  # the project against what its compose files and image say (app_checks)
        checks.extend(app_checks.run(stack, image if info else None))
    return tuple(checks)


# ---- engine ------------------------------------------------------------------------------


def _compose() -> Check:
    try:
        version = engine.compose_version()
    except DevstackError as exc:
        return Check("compose", "fail", _one_line(exc), "install the Docker Compose v2 plugin")
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 2:
        return Check("compose", "fail", f"compose {version}", "install the Compose v2 plugin")
    return Check("compose", "pass", f"compose {version}")


def _buildkit(server_version: str, environ: dict[str, str] | None = None) -> Check:
    environ = dict(os.environ) if environ is None else environ
    if environ.get("DOCKER_BUILDKIT") == "0":
        return Check(
            "buildkit",
            "fail",
            "DOCKER_BUILDKIT=0 turns BuildKit off (build secrets need it)",
            "unset DOCKER_BUILDKIT",
        )
    parts = [int(p) if p.isdigit() else 0 for p in server_version.split("+")[0].split(".")[:2]]
    if tuple(parts) < (18, 9):
        return Check(
            "buildkit", "fail", f"engine {server_version} predates BuildKit", "upgrade Docker"
        )
    return Check("buildkit", "pass", f"BuildKit available (engine {server_version})")


def _disk(root: str, free: Callable[[str], int | None] | None = None) -> Check:
    left = (free or free_bytes)(root)
    if left is None:
        return Check("disk", "skip", f"cannot see the engine's data root {root} from this host")
    text = f"{left / 2**30:.1f} GiB free in {root}"
    fix = "free space: `docker system prune` (and `docker builder prune`)"
    if left < DISK_FAIL:
        return Check("disk", "fail", text, fix)
    if left < DISK_WARN:
        return Check("disk", "warn", text, fix)
    return Check("disk", "pass", text)


# ---- project ----------------------------------------------------------------------------


def _project(load: Callable[[], Settings]) -> tuple[Settings | None, Stack | None, Check]:
    try:
        settings = load()
    except DevstackError as exc:
        if "no compose file" in exc.message:
            return None, None, Check("config", "skip", exc.message, exc.hint or "")
        return None, None, Check("config", "fail", _one_line(exc), exc.hint or "")
    try:
        stack = open_stack(settings)
    except DevstackError as exc:
        return settings, None, Check("config", "fail", _one_line(exc), exc.hint or "")
    names = ", ".join(sorted(stack.project.services))
    return settings, stack, Check("config", "pass", f"project {stack.name}: {names}")


def _ports(stack: Stack) -> Check:
    own = {p.host_port for c in stack.containers() if c.state == "running" for p in c.ports}
    taken, checked = [], []
    for name, service in sorted(stack.project.services.items()):
        for port in service.ports:
            for number in _published(port.get("published")):
                host = str(port.get("host_ip") or overlay.LOOPBACK)
                checked.append(f"{host}:{number}")
                if number not in own and not _free(host, number):
                    taken.append((f"{host}:{number} ({name})", number))
    if taken:
        first = taken[0][1]
        return Check(
            "ports",
            "fail",
            "taken: " + ", ".join(t for t, _ in taken),
            f"stop what listens there (`ss -ltnp 'sport = :{first}'`) or change the published port",
        )
    if not checked:
        return Check("ports", "pass", "no published ports")
    return Check("ports", "pass", "free: " + ", ".join(checked))


def _published(value: object) -> list[int]:
    text = str(value or "")
    low, _, high = text.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        return []
    return list(range(int(low), int(high or low) + 1))


def _free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _inotify(settings: Settings) -> Check:
    limit = read_inotify_limit()
    if limit is None:
        return Check("inotify", "skip", "no inotify on this system (file watching polls)")
    dirs = _count_dirs(settings.code_dir, stop=limit + 1)
    text = f"{dirs} directories to watch in {settings.code_dir}, limit {limit}"
    fix = "raise it: `sudo sysctl fs.inotify.max_user_watches=524288` (persist in /etc/sysctl.d/)"
    if dirs > limit:
        return Check("inotify", "fail", text, fix)
    if dirs > INOTIFY_SHARE * limit:
        return Check("inotify", "warn", text, fix)
    return Check("inotify", "pass", text)


def _count_dirs(root: Path, *, stop: int) -> int:
    count = 1
    for _dirpath, dirnames, _files in os.walk(root):
        count += len(dirnames)
        if count >= stop:
            break
    return count


def _probe_image(stack: Stack) -> str | None:
    """A local image to probe with: the app's own, else a local Python base image."""
    images = certs.service_images(stack.project)
    names = list(images.values())
    app = images.get(stack.project.app) or next(iter(images.values()), "")
    env_image = os.environ.get("PYTHON_IMAGE")
    candidates = [app, *(n for n in names if n != app), *([env_image] if env_image else [])]
    candidates += FALLBACK_IMAGES
    local = engine.image_ids(candidates)
    return next((c for c in candidates if c in local), None)


def _ca_trust(stack: Stack, image: str) -> Check:
    settings = stack.settings
    mounts: list[tuple[Path, str, bool]] = []
    env: dict[str, str] = {}
    if settings.ca_bundle:
        bundles = certs.combined_bundles(stack.project, settings)
        combined = bundles.get(stack.project.app) or next(iter(bundles.values()))
        mounts = [
            (settings.ca_bundle, certs.EXTRA_PATH, True),
            (combined, certs.COMBINED_PATH, True),
        ]
        env = dict(certs.ENVIRONMENT)
    code, out = engine.run_throwaway(
        image, ["python3", "-c", _TLS_PROBE], mounts=mounts, env=env, timeout=60
    )
    last = (out.splitlines() or [""])[-1]
    if code == 0:
        return Check("ca-trust", "pass", f"a container of {image} trusts the package index")
    if code == 4:
        return Check("ca-trust", "warn", f"skipped offline: {last}", "check the network or DNS")
    if code == 2:
        host = certs.host_bundle()
        fix = (
            "ca_bundle is set but lacks the CA that signed it; add that CA to the bundle"
            if settings.ca_bundle
            else f'set ca_bundle = "{host or "/path/to/ca-bundle.pem"}" in [tool.devstack]'
        )
        return Check("ca-trust", "fail", f"{image}: {last[:200]}", fix)
    return Check("ca-trust", "skip", f"cannot probe with {image}: {last[:200]}")


def _location(stack: Stack) -> Check:
    """Where the engine is and how the code reaches it (mounted, or synced)."""
    return Check("engine-files", "pass", stack.delivery.engine_files(stack.settings.code_dir))


_NOT_SEEN = Check(
    "bind-mount",
    "fail",
    "the engine's host lacks the project directory: the engine runs on another machine",
    "set DEVSTACK_REMOTE=1 so devstack syncs the code instead of mounting it",
)


def _bind_mount(stack: Stack, image: str) -> Check:
    """Write a file into the code directory as the app's user (the host user; as root, the
    code directory's owner, without capabilities when that is root) and see whose it is."""
    settings = stack.settings
    user = overlay.app_user(settings)
    uid = int(user.split(":", 1)[0])
    me = os.getuid()
    expected = me if me != 0 else settings.code_dir.stat().st_uid  # you, or the code's owner
    whose = "you" if expected == me else f"uid {expected}, the owner of {settings.code_dir}"
    name = f".devstack-doctor-{uuid.uuid4().hex[:8]}"
    host_file = settings.code_dir / name
    try:
        code, out = engine.run_throwaway(
            image,
            ["sh", "-c", f"ls /devstack-probe >/dev/null && touch /devstack-probe/{name}"],
            user=user,
            mounts=[(settings.code_dir, "/devstack-probe", False)],
            drop_capabilities=overlay.is_root(user),
            timeout=60,
        )
        if code != 0 and "bind source path does not exist" in out:
            return _NOT_SEEN
        if code != 0:
            detail = f"uid:gid {user} cannot use {settings.code_dir}: {out[-200:]}"
            fix = 'set app_user = "UID:GID" to the owner of the code directory'
            if "ls:" not in out:  # it can read the tree, only not write: serving works
                return Check("bind-mount", "warn", detail, fix + " if the app writes there")
            return Check("bind-mount", "fail", detail, fix)
        try:
            owner = host_file.stat().st_uid
        except FileNotFoundError:  # written into a directory of the same name elsewhere
            return _NOT_SEEN
    finally:
        with suppress(OSError):
            host_file.unlink()
    if owner != expected:
        remapped = " (a remapped engine?)" if owner != uid else ""
        return Check(
            "bind-mount",
            "fail",
            f"files the app writes as {user} come back owned by uid {owner}, not {whose}{remapped}",
            "remove app_user from [tool.devstack] (the default is the right owner)"
            if settings.app_user
            else f'set app_user = "{expected}:{os.getgid()}" in [tool.devstack]',
        )
    return Check("bind-mount", "pass", f"the app runs as {user}; files it writes belong to {whose}")


# ---- helpers -------------------------------------------------------------------------------


def _skip(name: str, why: str) -> Check:
    return Check(name, "skip", why)


def _skip_project(name: str, engine_ok: bool) -> Check:
    if not engine_ok:
        return _skip(name, "the engine does not answer")
    return Check(
        name, "skip", "no valid project here", "run in a project (-C DIR) or `devstack init`"
    )


def _one_line(exc: DevstackError) -> str:
    return exc.message.splitlines()[0] if exc.message else type(exc).__name__
