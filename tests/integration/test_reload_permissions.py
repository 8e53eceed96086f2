"""The reloaders (warm and RELOAD_MODE=uvicorn) on a bind-mounted tree the server's user cannot
fully read, as the seed's compose file makes it: a database's data directory under the project
(`$PWD/data`, uid 999, mode 0700) and devstack's own `.devstack/` (root, 0700). Each unreadable
directory gets one warning line; edits everywhere else still reload; nothing crashes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.integration.test_image_runtime import (
    Container,
    get_json,
    image,
    start,
    wait_until,
)

__all__ = ["image", "start"]  # fixtures shared with test_image_runtime

PACKAGES = ("a_first", "m_middle", "z_last")  # whatever order the directory lists them in
MAIN = """import importlib

from fastapi import FastAPI

{imports}

app = FastAPI()


def late() -> str:
    try:
        return str(importlib.import_module("late.value").VALUE)
    except ImportError:
        return "none"


@app.get("/")
def root() -> dict[str, str]:
    return {{{values}, "late": late()}}
"""


def write_tree(code: Path) -> None:
    imports = "\n".join(f"from {p}.value import VALUE as {p}" for p in PACKAGES)
    values = ", ".join(f'"{p}": {p}' for p in PACKAGES)
    (code / "main.py").write_text(MAIN.format(imports=imports, values=values))
    for package in PACKAGES:
        (code / package).mkdir()
        (code / package / "__init__.py").write_text("")
        (code / package / "value.py").write_text('VALUE = "v0"\n')
    # The database's data directory, as postgres leaves it, and devstack's state directory.
    for private, uid in (("data", 999), (".devstack", 0)):
        (code / private / "sub").mkdir(parents=True)
        (code / private / "sub" / "x.py").write_text("X = 1\n")
        for path in (code / private, code / private / "sub", code / private / "sub" / "x.py"):
            os.chown(path, uid, uid)
        (code / private).chmod(0o700)
    code.chmod(0o755)


@pytest.mark.parametrize("mode", ["warm", "uvicorn"])
def test_unreadable_directories_are_skipped_and_the_rest_reloads(
    start: object, tmp_path: Path, mode: str
) -> None:
    code = tmp_path / "project"
    code.mkdir()
    write_tree(code)
    app: Container = start(  # type: ignore[operator]
        "-e", f"RELOAD_MODE={mode}", "-v", f"{code}:/app", command=("/start-reload.sh",)
    )  # fmt: skip
    url = app.url()
    wait_until(lambda: get_json(url)["z_last"] == "v0", 30)
    for n, package in enumerate(PACKAGES, 1):
        (code / package / "value.py").write_text(f'VALUE = "v{n}"\n')
        wait_until(lambda p=package, v=f"v{n}": get_json(url)[p] == v, 15)
    # A package created after the start (a checkout) is watched too, from its first file.
    (code / "late").mkdir()
    (code / "late" / "__init__.py").write_text("")
    (code / "late" / "value.py").write_text('VALUE = "l0"\n')
    wait_until(lambda: get_json(url)["late"] == "l0", 15)
    (code / "late" / "value.py").write_text('VALUE = "l1"\n')
    wait_until(lambda: get_json(url)["late"] == "l1", 15)
    # The database keeps writing under its directory: no crash, no second warning.
    (code / "data" / "sub" / "more").mkdir()
    time.sleep(1)
    logs = app.logs()
    assert app.inspect("{{.State.Running}}") == "true", logs
    warnings = [line for line in logs.splitlines() if "not watching" in line]
    assert len(warnings) == 1, logs
    assert "/app/data (permission denied, owned by uid 999, mode 0700)" in warnings[0]
    assert ".devstack" not in logs
    assert "Traceback" not in logs
