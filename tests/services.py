"""Which real services this run has. A test that needs a missing one skips, except under CI."""

import os
import socket
from functools import cache
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@cache
def redis_missing() -> str | None:
    """Why Redis cannot be used, or None when it can."""
    if not settings.REDIS_URL:
        return "REDIS_URL is not set, so there is no Redis to test against"
    url = urlparse(settings.REDIS_URL)
    if not _port_open(url.hostname or "127.0.0.1", url.port or 6379):
        return f"Redis at {settings.REDIS_URL} is not answering"
    return None


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot be used, or None when the suite runs on it."""
    if connection.vendor != "postgresql":
        return "DATABASE_URL does not point at PostgreSQL (the suite runs on SQLite)"
    return None


def browser_missing() -> str | None:
    """Why the browser tests cannot run: they drive Debian's chromium with Playwright."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    return None


CHROMIUM = "/usr/bin/chromium"
DOVECOT = "/usr/sbin/dovecot"


def imap_missing() -> str | None:
    """Why the calendar-reply tests cannot start their IMAP server: Debian's dovecot."""
    if not os.path.exists(DOVECOT):
        return f"{DOVECOT} is not installed (apt-get install dovecot-imapd)"
    return None


MISSING = {
    "redis": redis_missing,
    "postgres": postgres_missing,
    "browser": browser_missing,
    "imap": imap_missing,
}


def require(service: str) -> None:
    import pytest

    reason = MISSING[service]()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"{reason}; CI must run this test, not skip it")
    pytest.skip(reason)
