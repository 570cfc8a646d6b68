"""Waiting for what a real Celery worker (the `worker` fixture of tests/conftest.py) does."""

import time

import pytest


def wait_for(condition, timeout: float = 20.0):
    """Poll until `condition()` is truthy (and return it), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"gave up after {timeout}s waiting for {condition.__doc__ or condition}")
