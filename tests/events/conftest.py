"""Fixtures for the events tests."""

from tests.migrations import migrator  # noqa: F401 (a fixture for the migration tests)
