"""Log line parsing and time ordering; secret redaction (no engine)."""

from __future__ import annotations

from pathlib import Path

from devstack import logs
from devstack.cli.redact import MASK, Redactor, secret_values


def test_parse_compose_log_line() -> None:
    line = logs.parse("app-1  | 2024-05-01T10:00:00.123456789Z INFO: started")
    assert line == logs.LogLine("app", "2024-05-01T10:00:00.123456789Z", "INFO: started")
    assert logs.parse("redis-db-2 | 2024-05-01T10:00:00Z x").service == "redis-db"  # type: ignore[union-attr]
    assert logs.parse("garbage") is None


def test_sort_key_orders_fractions_as_times() -> None:
    a, b = "2024-05-01T10:00:01.5Z", "2024-05-01T10:00:01.123456789Z"
    assert logs._sort_key(b) < logs._sort_key(a)


def test_secret_values_from_env_file_and_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# c\nREDIS_PASSWORD=s3cr3t-value\nAPP_PORT=8080\nexport API_TOKEN='tok-123456'\n"
    )
    found = secret_values(tmp_path, {"DB_SECRET": "abcdef", "HOME": "/root"})
    assert found == {"s3cr3t-value", "tok-123456", "abcdef"}


def test_redactor_masks_every_occurrence() -> None:
    r = Redactor({"abc", "abcdef"})
    assert r("x abcdef y abc") == f"x {MASK} y {MASK}"
