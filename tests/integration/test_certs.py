"""ca_bundle on the real engine: a base image that does not trust the host's proxy CA."""

from __future__ import annotations

import subprocess
import tarfile
import uuid
from pathlib import Path

from devstack.errors import ExitCode
from tests.integration.helpers import Project, docker

# Installs a small pure-Python package; combines the secret with the image's CAs when given.
# BuildKit's cache key ignores secrets, so a per-run nonce keeps an earlier run's layer out.
DOCKERFILE = """FROM devstack-local/python:3.11-bare
RUN --mount=type=secret,id=ca_bundle sh -c 'true NONCE; if [ -f /run/secrets/ca_bundle ]; then \
cat /etc/ssl/certs/ca-certificates.crt /run/secrets/ca_bundle > /tmp/ca.pem; \
export PIP_CERT=/tmp/ca.pem; fi; \
pip install --no-cache-dir --break-system-packages --retries 0 six; rc=$?; \
rm -f /tmp/ca.pem; exit $rc'
"""
COMPOSE = """services:
  app:
    build: .
    command: ["sleep", "infinity"]
"""
# A verified HTTPS request to the index pip uses, named by pip itself at run time.
REQUEST = (
    "import urllib.request, urllib.error\n"
    "from pip._internal.models.index import PyPI\n"
    "try:\n"
    "    urllib.request.urlopen(urllib.request.Request(PyPI.url, method='HEAD'), timeout=20)\n"
    "except urllib.error.HTTPError:\n"
    "    pass\n"
    "print('verified', PyPI.url)\n"
)


def test_ca_bundle_reaches_build_and_containers_but_no_layer(
    tmp_path: Path, project_name: str
) -> None:
    marker = f"devstack-marker-{uuid.uuid4().hex}"
    bundle = tmp_path / "bundle" / "extra.pem"
    bundle.parent.mkdir()
    host = Path("/etc/ssl/certs/ca-certificates.crt").read_text()
    bundle.write_text(f"# {marker}\n{host}")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(DOCKERFILE.replace("NONCE", uuid.uuid4().hex))
    (app / "compose.yaml").write_text(COMPOSE)
    (app / "devstack.toml").write_text('reload_command = "sleep infinity"\n')
    p = Project(dir=app, name=project_name)
    image = f"{project_name}-app"
    try:
        r = p.devstack("up", "--build", "--no-migrate")
        assert r.returncode == ExitCode.COMPOSE, r.stderr
        assert "build failed" in r.stderr
        assert "a TLS certificate was not trusted" in r.stderr
        assert 'set ca_bundle = "' in r.stderr and "Traceback" not in r.stderr

        (app / "devstack.toml").write_text(
            f'reload_command = "sleep infinity"\nca_bundle = "{bundle}"\n'
        )
        r = p.devstack("up", "--build", "--no-migrate")
        assert r.returncode == 0, r.stderr
        r = p.devstack("exec", "app", "python3", "-c", REQUEST)
        assert r.returncode == 0 and "verified https://" in r.stdout, r.stdout + r.stderr
        r = p.devstack("exec", "app", "sh", "-c", 'grep -c "" "$SSL_CERT_FILE"; echo $PIP_CERT')
        assert r.returncode == 0 and "/run/devstack/ca-bundle.pem" in r.stdout

        # the image: not in its history, nor in any layer
        assert marker not in docker("history", "--no-trunc", image)
        saved = tmp_path / "image.tar"
        docker("save", "-o", str(saved), image)
        with tarfile.open(saved) as outer:
            for member in outer.getmembers():
                data = outer.extractfile(member)
                if data is not None:
                    assert marker.encode() not in data.read(), member.name
        # ...but the running container sees it appended to the image's own CAs
        r = p.devstack("exec", "app", "sh", "-c", "cat /run/devstack/ca-bundle.pem")
        assert marker in r.stdout
        own = docker("run", "--rm", image, "cat", "/etc/ssl/certs/ca-certificates.crt")
        assert r.stdout.startswith(own.rstrip("\n"))
    finally:
        p.devstack("down", "-v")
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)
