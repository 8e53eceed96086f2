"""ca_bundle in the overlay, the combined bundles and the build-failure hint (no engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack import certs, config, overlay
from devstack.delivery.bind import BindMount
from devstack.project import from_config
from devstack.runtime.recipe import Recipe

CONFIG = {
    "name": "demo",
    "services": {
        "app": {"build": {"context": "."}},
        "cache": {"image": "redis:7"},
    },
}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "extra.pem").write_text("EXTRA CA\n")
    host = tmp_path / "host.pem"
    host.write_text("HOST CAS\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(host))
    images = {"app": "demo-app", "cache": "redis:7"}
    monkeypatch.setattr(certs, "service_images", lambda project: images)
    monkeypatch.setattr(certs.engine, "image_ids", lambda names: {"redis:7": "sha256:abc"})
    monkeypatch.setattr(
        certs.engine, "read_image_file", lambda image, paths: (paths[0], b"IMAGE CAS\n")
    )
    return config.load(tmp_path, environ={}, overrides={"ca_bundle": "extra.pem"})


def test_overlay_passes_a_build_secret_and_mounts_combined_bundles(
    settings: config.Settings,
) -> None:
    data = overlay.render(from_config(CONFIG, settings), settings, mounted(settings))
    extra = str(settings.project_dir / "extra.pem")
    assert data["secrets"] == {"ca_bundle": {"file": extra}}
    app, cache = data["services"]["app"], data["services"]["cache"]
    assert app["build"] == {"secrets": ["ca_bundle"]}
    assert "build" not in cache  # only services devstack builds get the secret
    for name, spec in (("app", app), ("cache", cache)):
        mounts = {m["target"]: m for m in spec["volumes"]}
        assert mounts[certs.EXTRA_PATH]["source"] == extra
        assert mounts[certs.COMBINED_PATH]["read_only"] is True
        assert mounts[certs.COMBINED_PATH]["source"] == str(
            settings.state_dir / "ca" / f"{name}.pem"
        )
        assert spec["environment"]["SSL_CERT_FILE"] == certs.COMBINED_PATH
        assert spec["environment"]["PIP_CERT"] == certs.COMBINED_PATH
        assert spec["environment"]["NODE_EXTRA_CA_CERTS"] == certs.EXTRA_PATH
    assert "/app" in {m["target"] for m in app["volumes"]}  # the code mount is kept


def test_combined_bundle_appends_extra_to_image_cas_or_host_cas_before_a_build(
    settings: config.Settings,
) -> None:
    project = from_config(CONFIG, settings)
    paths = certs.combined_bundles(project, settings)
    cache = paths["cache"].read_text()
    assert cache.startswith("IMAGE CAS\n") and cache.endswith("EXTRA CA\n")
    app = paths["app"].read_text()  # demo-app is not built yet: the host's bundle stands in
    assert app.startswith("HOST CAS\n") and app.endswith("EXTRA CA\n")


def test_combined_bundle_is_rewritten_in_place(
    settings: config.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = from_config(CONFIG, settings)
    path = certs.combined_bundles(project, settings)["app"]
    inode = path.stat().st_ino
    monkeypatch.setattr(certs.engine, "image_ids", lambda names: dict.fromkeys(names, "sha256:x"))
    certs.combined_bundles(project, settings)
    assert path.stat().st_ino == inode  # a running container's bind mount sees the change
    assert path.read_text().startswith("IMAGE CAS\n")


def test_no_ca_bundle_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    settings = config.load(tmp_path, environ={})
    data = overlay.render(from_config(CONFIG, settings), settings, mounted(settings))
    assert "secrets" not in data and "environment" not in data["services"]["app"]


def test_host_bundle_prefers_ssl_cert_file(tmp_path: Path) -> None:
    pem = tmp_path / "mine.pem"
    pem.write_text("x")
    assert certs.host_bundle({"SSL_CERT_FILE": str(pem)}) == pem
    assert certs.host_bundle({"SSL_CERT_FILE": str(tmp_path / "missing")}) in (
        None,
        *(Path(p) for p in certs.HOST_BUNDLES),
    )


@pytest.mark.parametrize(
    "stderr",
    [
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
        "SSLError(SSLCertVerificationError(1, 'certificate verify failed'))",
        "x509: certificate signed by unknown authority",
    ],
)
def test_build_hint_suggests_ca_bundle_with_the_host_bundle(
    stderr: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = tmp_path / "host.pem"
    pem.write_text("x")
    monkeypatch.setenv("SSL_CERT_FILE", str(pem))
    hint = certs.build_hint(stderr, ["docker", "compose", "build"])
    assert hint is not None
    assert f'ca_bundle = "{pem}"' in hint and "DEVSTACK_CA_BUNDLE" in hint


def test_build_hint_when_the_secret_is_already_passed(tmp_path: Path) -> None:
    dev = tmp_path / "compose.dev.yaml"
    dev.write_text("services:\n  app:\n    build:\n      secrets:\n      - ca_bundle\n")
    hint = certs.build_hint("certificate verify failed", ["docker", "compose", "-f", str(dev)])
    assert hint is not None and "--mount=type=secret,id=ca_bundle" in hint


def test_build_hint_ignores_other_failures() -> None:
    assert certs.build_hint("exit code: 7", ["docker", "compose", "build"]) is None


def mounted(settings: config.Settings) -> dict[str, Any]:
    """The bind mount's app fragment for `settings`."""
    return BindMount().app_fragment(Recipe(settings), settings.state_dir)
