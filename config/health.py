"""The checks behind /healthz/ready, each a function returning its JSON entry: "status" is
"pass" or "fail", with what it observed. They are cheap (a query each, bounded) and never
raise: a failing dependency is a "fail" with the error's class, never a 500."""

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from events.models import Notification
from events.tasks import HEARTBEAT_KEY

from . import broker

Check = Callable[[], dict[str, Any]]
OWED = [Notification.Status.PENDING, Notification.Status.SENDING]


def _timed(probe: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"status": "pass", **(probe() or {})}
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        result = {"status": "fail", "error": error.__class__.__name__}
    result["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def database() -> dict[str, Any]:
    def probe() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    return _timed(probe)


def cache_check() -> dict[str, Any]:
    def probe() -> None:
        # The Redis cache answers from memory while Redis is down: ask Redis itself.
        ping = getattr(cache, "ping", None)
        if ping is not None:
            ping()

    return _timed(probe)


def broker_check() -> dict[str, Any]:
    return _timed(lambda: broker.ping())


def heartbeat_age(now: datetime | None = None) -> tuple[str | None, float | None]:
    """When a worker last ran beat's heartbeat (ISO 8601), and how many seconds ago."""
    seen = cache.get(HEARTBEAT_KEY)
    if not seen:
        return None, None
    age = ((now or timezone.now()) - datetime.fromisoformat(seen)).total_seconds()
    return seen, max(0.0, age)


def beat() -> dict[str, Any]:
    limit = settings.HEALTH_BEAT_MAX_AGE

    def probe() -> dict[str, Any]:
        seen, age = heartbeat_age()
        found = {"last_seen": seen, "age_seconds": age, "max_age_seconds": limit}
        if age is None or age > limit:
            return {**found, "status": "fail", "error": "stale" if seen else "never seen"}
        return found

    return _timed(probe)


def outbox() -> dict[str, Any]:
    limit = settings.HEALTH_OUTBOX_BACKLOG
    after = settings.HEALTH_OUTBOX_BACKLOG_AGE

    def probe() -> dict[str, Any]:
        # Counted up to the limit only: the answer is the same, and stays cheap, however
        # large the backlog grows (the partial index notification_owed_kind serves it).
        since = timezone.now() - timedelta(seconds=after)
        late = Notification.objects.filter(status__in=OWED, created_at__lt=since)
        backlog = late.values("pk")[: limit + 1].count()
        found = {"backlog": backlog, "threshold": limit, "older_than_seconds": after}
        if backlog > limit:
            return {**found, "status": "fail", "error": "backlog"}
        return found

    return _timed(probe)


CHECKS: dict[str, Check] = {
    "database": database,
    "cache": cache_check,
    "broker": broker_check,
    "beat": beat,
    "outbox": outbox,
}


def readiness(only: list[str] | None = None) -> tuple[bool, dict[str, Any]]:
    """Whether every check (or those named in `only`) passes, and the JSON body."""
    names = [name for name in CHECKS if not only or name in only]
    checks = {name: CHECKS[name]() for name in names}
    ready = all(check["status"] == "pass" for check in checks.values())
    return ready, {"status": "pass" if ready else "fail", "checks": checks}
