"""/healthz/live (the process answers, nothing else asked) and /healthz/ready (database,
cache, broker, beat's heartbeat, the outbox backlog), with a JSON body a monitor can read;
the old /healthz answers as before (tests/test_pages.py, tests/test_redis_outage.py)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Notification
from events.tasks import HEARTBEAT_KEY, heartbeat
from tests.test_redis_outage import redis_down  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def ready(query: str = ""):
    return Client().get(reverse("healthz_ready") + query)


def owe(n: int, *, age: timedelta) -> None:
    for i in range(n):
        row = Notification.objects.create(
            key=f"confirmed:{age}:{i}", kind="confirmed", email="ada@example.com"
        )
        Notification.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)


def test_liveness_answers_without_asking_any_dependency(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get(reverse("healthz_live"))

    assert response.status_code == 200
    assert response.json() == {"status": "pass"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.redis
def test_ready_when_every_dependency_answers_and_beat_ran_lately():
    heartbeat()  # what a worker does when beat sends it, every minute

    response = ready()

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pass"
    assert set(body["checks"]) == {"database", "cache", "broker", "beat", "outbox"}
    assert all(check["status"] == "pass" for check in body["checks"].values())
    assert body["checks"]["beat"]["age_seconds"] < 5
    assert body["checks"]["outbox"]["backlog"] == 0


@pytest.mark.redis
def test_not_ready_while_redis_is_down_and_the_body_says_what_failed(redis_down):  # noqa: F811
    response = ready()

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert response.json()["status"] == "fail"
    assert checks["database"]["status"] == "pass"
    assert checks["cache"]["status"] == "fail"
    assert checks["broker"]["status"] == "fail"
    assert checks["cache"]["error"] == "ConnectionError"
    # Within the short timeouts: a monitor is not kept waiting on a dead server.
    assert checks["broker"]["duration_ms"] < 3000


@pytest.mark.redis
def test_not_ready_when_beats_heartbeat_is_stale(settings):
    settings.HEALTH_BEAT_MAX_AGE = 180
    cache.set(HEARTBEAT_KEY, (timezone.now() - timedelta(minutes=5)).isoformat(), None)

    response = ready()

    assert response.status_code == 503
    beat = response.json()["checks"]["beat"]
    assert beat["status"] == "fail"
    assert beat["error"] == "stale"
    assert 300 <= beat["age_seconds"] < 330
    assert beat["max_age_seconds"] == 180


@pytest.mark.redis
def test_not_ready_when_beat_never_ran():
    response = ready()

    assert response.status_code == 503
    assert response.json()["checks"]["beat"]["error"] == "never seen"


@pytest.mark.redis
def test_not_ready_when_mail_has_waited_too_long_in_numbers(settings):
    settings.HEALTH_OUTBOX_BACKLOG = 3
    settings.HEALTH_OUTBOX_BACKLOG_AGE = 600
    heartbeat()
    owe(3, age=timedelta(minutes=20))
    owe(10, age=timedelta(minutes=1))  # a fresh fan-out has not had time to leave

    assert ready().status_code == 200
    assert ready().json()["checks"]["outbox"]["backlog"] == 3

    owe(1, age=timedelta(minutes=30))

    response = ready()
    assert response.status_code == 503
    outbox = response.json()["checks"]["outbox"]
    assert (outbox["status"], outbox["backlog"], outbox["threshold"]) == ("fail", 4, 3)


@pytest.mark.redis
def test_only_the_named_checks_are_asked_when_a_load_balancer_says_so():
    response = ready("?only=database,cache")  # beat has never run: not asked

    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache"}
    assert ready("?only=database,nonsense").status_code == 400
