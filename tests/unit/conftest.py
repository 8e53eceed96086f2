"""Fixtures shared by the core's unit tests."""

from tests.unit.fake_engine import synced  # noqa: F401 (the sync delivery, its transport patched)
