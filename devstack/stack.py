"""A project opened for work: settings, the resolved compose model, the overlay, the engine."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from devstack import checkouts, merged
from devstack.checkouts import CHECKOUT_LABEL
from devstack.config import Settings
from devstack.delivery import Delivery, for_location
from devstack.delivery.base import CodeTarget
from devstack.delivery.bind import BindMount
from devstack.delivery.location import locate
from devstack.engine import ContainerState, Engine, EngineClient
from devstack.project import Project, from_config
from devstack.runtime import Runtime, choose

_CACHE = "model.json"
_OVERLAY_FORMAT = 2  # raised when the overlay's shape changes: a cached one is written again
_MERGED = "merged.json"  # `compose config` of the user's files plus the overlay, as printed
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Stack:
    settings: Settings
    project: Project
    engine: EngineClient  # the user's files plus the overlay
    delivery: Delivery = field(default_factory=BindMount)  # how the code gets there, chosen once
    key: str = ""  # the fingerprint of what the model was resolved from ("": not cached)
    runtime: Runtime | None = None  # what runs in the app container (None: the recipe's)
    overlay: Path | None = None  # the generated overlay, among the engine's files
    model: Mapping[str, Any] = field(default_factory=dict)  # the user's files, resolved (cached)
    inputs: tuple[str, ...] = ()  # other files the model was read from (env_file, extends, include)
    variables: frozenset[str] = frozenset()  # those the compose files interpolate

    @property
    def name(self) -> str:
        return self.project.name

    @property
    def code(self) -> CodeTarget:
        return code_target(self.settings)

    def config_yaml(self) -> str:
        """The merged compose configuration as `docker compose config` prints it: kept
        beside the model while its inputs and the overlay are unchanged (devstack.merged),
        so that `devstack config` need not run compose again."""
        text = merged.read(self.merged_path, self.merged_key()).get("yaml")
        if isinstance(text, str):
            return text
        text = self.engine.config_yaml()
        merged.keep(self.merged_path, self.merged_key(), yaml=text)
        return text

    def readiness(self) -> dict[str, str]:
        """How each service will be judged ready (devstack.readiness.probes.described), kept
        beside the merged configuration while it holds and every image whose HEALTHCHECK it
        read still says the same (so `devstack config` need not import the probes)."""
        kept = merged.read(self.merged_path, self.merged_key())
        how = merged.readiness(kept, self.engine.image_healthcheck)
        if how:
            return how
        from devstack.readiness import probes

        consulted: dict[str, bool | None] = {}
        how = probes.described(self.project, self.engine, consulted=consulted)
        merged.keep(self.merged_path, self.merged_key(), ready=how, images=consulted)
        return how

    @property
    def merged_path(self) -> Path:
        return self.settings.state_dir / _MERGED

    def merged_key(self) -> str | None:
        """What merged.json is valid for: the model's key and the overlay's stamp."""
        overlay = self.overlay
        try:
            st = overlay.stat() if overlay and self.key else None
        except OSError:
            st = None
        return None if st is None else f"{self.key}:{overlay}:{st.st_mtime_ns}:{st.st_size}"

    def containers(self) -> list[ContainerState]:
        return self.engine.containers(self.name)

    def stop_delivery(self) -> str:
        """Stop what the delivery runs beside the stack (a background sync): what stopped."""
        return self.delivery.stop(self)

    def ensure_ours(self, on_note: Callable[[str], None] | None = None) -> None:
        """Stop before touching a stack of the same name made from another directory
        (devstack.checkouts)."""
        checkouts.ensure_ours(
            self.name,
            self.settings.project_dir,
            [(c.working_dir, c.state) for c in self.engine.containers(self.name, oneoff=None)],
            self.engine.volume_labels(self.name),
            abandoned=self.delivery.abandoned,
            on_note=on_note,
        )

    def claim_volumes(self) -> None:
        """Create the project's named volumes that do not exist yet, labelled as compose
        labels its own plus the checkout that made them (what `ensure_ours` reads). A
        volume compose made without a config hash is adopted by compose as it is."""
        if not self.project.volumes:
            return
        existing = self.engine.volume_labels(self.name)
        for key, spec in self.project.volumes.items():
            name = str(spec.get("name") or f"{self.name}_{key}")
            if name in existing:
                continue
            labels = {str(k): str(v) for k, v in (spec.get("labels") or {}).items()}
            labels |= {
                "com.docker.compose.project": self.name,
                "com.docker.compose.volume": key,
                CHECKOUT_LABEL: str(self.settings.project_dir),
            }
            options = {str(k): str(v) for k, v in (spec.get("driver_opts") or {}).items()}
            driver = str(spec["driver"]) if spec.get("driver") else None
            self.engine.create_volume(name, labels=labels, driver=driver, options=options)


def code_target(settings: Settings) -> CodeTarget:
    """The code directory here and its path in the app container (the runtime's placement,
    which `open_stack` puts in the settings)."""
    return CodeTarget(settings.code_dir, settings.mount_path)


def _fingerprint(settings: Settings, used: set[str]) -> str:
    """What the resolved model depends on: files, the .env file, settings, compose env vars
    and every variable the compose files interpolate (`used`: `${APP_PORT}`)."""
    h = hashlib.sha256(repr(settings).encode())
    for path in (*settings.compose_files, settings.project_dir / ".env"):
        try:
            st = path.stat()
            h.update(f"{path}:{st.st_mtime_ns}:{st.st_size}".encode())
        except FileNotFoundError:
            h.update(f"{path}:-".encode())
    for key in sorted(os.environ):
        if key.startswith(("COMPOSE_", "DOCKER_")) or key.endswith("_IMAGE") or key in used:
            h.update(f"{key}={os.environ[key]}".encode())
    return h.hexdigest()


def interpolated(settings: Settings) -> set[str]:
    """The variables the compose files interpolate (`${APP_PORT}`)."""
    used: set[str] = set()
    for path in settings.compose_files:
        with contextlib.suppress(OSError):
            used.update(_VARIABLE.findall(path.read_text(errors="replace")))
    return used


# A variant of the stack (devstack.testrun's throw-away copy): given the resolved model and
# project, the compose files to pass after the overlay.
Layers = Callable[[dict[str, Any], Project], list[Path]]


def open_stack(settings: Settings, *, layers: Layers | None = None) -> Stack:
    """Resolve the user's compose files (cached while nothing they depend on changes);
    `layers` adds a variant's own files after the overlay."""
    if settings.profiles:  # every compose command reads the active profiles from here
        os.environ["COMPOSE_PROFILES"] = ",".join(settings.profiles)
    base = Engine(
        project_dir=settings.project_dir,
        files=settings.compose_files,
        project_name=settings.project_name,
    )
    cache = settings.state_dir / _CACHE
    delivery = for_location(locate())  # the overlay's app fragment depends on it
    used = interpolated(settings)
    key = f"{_fingerprint(settings, used)}:delivery={delivery.kind}:overlay={_OVERLAY_FORMAT}"
    saved_key = key
    saved = _cached(cache, key)
    config = saved["config"] if saved else base.config()
    project = from_config(config, settings)
    # The recipe's image or the project's own, chosen once; it says where the code goes,
    # and every part of devstack then reads that from the settings (code_dir, mount_path).
    runtime = choose(config, project.app, settings)
    where = runtime.placement
    settings = replace(settings, code_path=where.source, mount_path=where.target)
    key += ":" + hashlib.sha256(_runtime_facts(runtime).encode()).hexdigest()[:16]
    # The overlay written with a cached model still holds (its inputs are in the key), so
    # read commands need not import yaml to write it again.
    path = Path(str(saved.get("overlay", ""))) if saved else Path()
    stale = saved is None or saved.get("runtime") != key  # the runtime's facts changed
    if stale or settings.ca_bundle or not path.is_absolute() or not path.is_file():
        path = _write_overlay(project, settings, runtime, delivery)
        inputs = saved["inputs"] if saved else {str(p): _stamp(p) for p in _referenced(settings)}
        cache.write_text(
            json.dumps(
                {
                    "key": saved_key,
                    "config": config,
                    "overlay": str(path),
                    "inputs": inputs,
                    "runtime": key,
                }
            )
        )
    else:
        inputs = saved["inputs"] if saved else {}
    stamps = json.dumps(inputs, sort_keys=True).encode()
    key = f"{key}:{hashlib.sha256(stamps).hexdigest()[:16]}"  # the env_files' stamps too
    engine = Engine(
        project_dir=settings.project_dir,
        files=[*settings.compose_files, path, *(layers(config, project) if layers else [])],
        project_name=project.name,
    )
    return Stack(
        settings=settings,
        project=project,
        engine=engine,
        delivery=delivery,
        key=key,
        runtime=runtime,
        overlay=path,
        model=config,
        inputs=tuple(sorted(inputs)),
        variables=frozenset(used),
    )


def _runtime_facts(runtime: Runtime) -> str:
    """What the overlay takes from the runtime (the Dockerfile and the app's file included)."""
    return repr(
        (
            runtime.kind,
            runtime.placement,
            runtime.entrypoint(),
            runtime.command(),
            runtime.mounts(),
            runtime.kept_volumes(),
        )
    )


def _write_overlay(
    project: Project, settings: Settings, runtime: Runtime, delivery: Delivery
) -> Path:
    from devstack import overlay  # yaml only when the overlay is written again (start-up)

    fragment = delivery.app_fragment(runtime, settings.state_dir)
    return overlay.write(project, settings, fragment, kept=runtime.kept_volumes())


def _cached(cache: Path, key: str) -> dict[str, Any] | None:
    """The saved model (and overlay path) when it was saved under `key`."""
    try:
        saved = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    inputs = saved.get("inputs")
    if not isinstance(inputs, dict) or any(_stamp(Path(p)) != s for p, s in inputs.items()):
        return None  # an env_file or an extended file changed: compose inlines them
    return cast(dict[str, Any], saved) if isinstance(saved.get("config"), dict) else None


def _stamp(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def _referenced(settings: Settings) -> set[Path]:
    """Files the compose files name whose contents compose puts into the model (env_file,
    extends' file, included files and theirs), read when the model is resolved again (yaml
    is imported then only)."""
    import yaml

    from devstack import composefiles

    found: set[Path] = set()
    pending = list(settings.compose_files)
    seen: set[Path] = set()
    while pending:
        compose_file = pending.pop()
        if compose_file in seen or len(seen) > 50:
            continue
        seen.add(compose_file)
        try:
            data = yaml.load(compose_file.read_text(), Loader=composefiles.loader())
        except (OSError, yaml.YAMLError):
            continue
        included = [compose_file.parent / name for name in composefiles.includes(data)]
        found.update(included)
        pending += included
        services = data.get("services") if isinstance(data, dict) else None
        for svc in services.values() if isinstance(services, dict) else ():
            if not isinstance(svc, dict):
                continue
            env = svc.get("env_file")
            names = [e.get("path") if isinstance(e, dict) else e for e in _listed(env)]
            extends = svc.get("extends")
            names.append(extends.get("file") if isinstance(extends, dict) else None)
            for name in names:
                if isinstance(name, str):  # relative to the file, or to --project-directory
                    found |= {compose_file.parent / name, settings.project_dir / name}
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []
