"""Degrade, don't fail: with Redis unreachable (the cache, and the broker too), signing up,
creating an account and logging in still work, rate limits count in each process instead of
failing, the log says so once, and the email stays owed in the outbox."""

import logging
import time

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from accounts.models import User
from config import cache as redis_cache
from config.celery import app
from events import ratelimit
from events.models import Notification, Registration
from events.speed import fastcache
from tests.factories import PASSWORD, SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings, monkeypatch, caplog):
    """Nothing listens where the cache and the broker are; short socket timeouts, so a call
    that waits on Redis shows as a failure, not a hang."""
    caches = {}
    for alias, config in settings.CACHES.items():
        assert "redis" in config["BACKEND"].lower(), "the Redis cache is what this tests"
        options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        caches[alias] = {**config, "LOCATION": NOBODY_LISTENS, "OPTIONS": options}
    settings.CACHES = caches
    # The broker: a fresh connection pool on a dead address, restored afterwards.
    broker = {"broker_url": NOBODY_LISTENS}
    saved = {name: app.conf[name] for name in broker}
    app.conf.update(broker)
    reset_broker_pool()
    monkeypatch.setattr(ratelimit, "now", lambda: 1_800_000_010.0)  # one rate-limit window
    monkeypatch.setattr(redis_cache, "outages", redis_cache.Outages())  # a fresh process
    caplog.set_level(logging.WARNING)
    try:
        yield
    finally:
        app.conf.update(saved)
        reset_broker_pool()


def reset_broker_pool() -> None:
    app.amqp._producer_pool = None
    app._pool = None


def outage_warnings(caplog) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "Redis" in r.getMessage() and "cache" in r.getMessage()
    ]


def test_a_session_sign_up_goes_through_and_its_email_waits_in_the_outbox(
    redis_down, caplog, django_capture_on_commit_callbacks
):
    session = SessionFactory()
    client = Client()
    client.force_login(UserFactory())

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("events:register", args=[session.pk]))

    assert response.status_code == 302
    # Nothing waits long on the dead servers (a person would give up on a slow page).
    assert time.monotonic() - started < 4
    registration = Registration.objects.get()
    assert registration.status == Registration.Status.CONFIRMED
    assert Notification.objects.get().status == Notification.Status.PENDING
    assert outage_warnings(caplog), caplog.text
    assert "the sweep will retry" in caplog.text  # the doorbell could not ring either


def test_creating_an_account_and_logging_in_still_work(redis_down, mailoutbox):
    client = Client()
    response = client.post(
        reverse("account_signup"),
        {"email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.filter(email="ada@example.com").exists()
    # The address to confirm is owed in PostgreSQL; a worker sends it once Redis is back.
    assert Notification.objects.get(email="ada@example.com").status == "pending"
    deliver_pending()
    assert len(mailoutbox) == 1

    UserFactory(email="grace@example.com")
    response = Client().post(
        reverse("account_login"), {"login": "grace@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.wsgi_request.user.is_authenticated


def test_rate_limits_still_count_in_each_process(redis_down):
    session = SessionFactory()
    client = Client()
    client.force_login(UserFactory())
    url = reverse("events:register", args=[session.pk])
    statuses = [client.post(url).status_code for _ in range(20)]

    assert 429 not in statuses
    assert client.post(url).status_code == 429


def test_the_outage_is_logged_once_not_on_every_request(redis_down, caplog):
    client = Client()
    for n in range(10):
        client.get(reverse("events:invitation", args=[f"forged-{n}"]))

    assert len(outage_warnings(caplog)) == 1


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("get", reverse("events:invitation", args=["forged"]), 404),
        ("get", reverse("events:user_feed", args=["guess"]), 404),
        ("get", reverse("events:survey", args=["forged"]), 404),
        ("get", reverse("events:call_confirm", args=["forged"]), 404),
        ("get", reverse("events:checkin_qr", args=["forged"]), 404),
        ("post", reverse("events:cancel", args=[999999]), 404),
        ("post", reverse("events:offer", args=[999999]), 404),
        ("post", reverse("events:call", args=["no-such-call"]), 404),
    ],
)
def test_every_rate_limited_page_answers_as_usual(redis_down, user_client, method, url, expected):
    assert getattr(user_client, method)(url).status_code == expected


def test_healthz_says_the_cache_is_down(redis_down):
    response = Client().get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["cache"].startswith("error")


def test_after_an_outage_redis_is_tried_again_within_seconds_and_counts_are_shared_again(
    monkeypatch, caplog
):
    backend = caches["default"]  # the real, reachable Redis
    outages = redis_cache.Outages()
    now = [1000.0]
    outages.clock = lambda: now[0]
    monkeypatch.setattr(redis_cache, "outages", outages)
    outages.failed(backend.server, ConnectionError("Connection refused"))

    assert fastcache.hit("during", timeout=60) == 1  # counted in this process's memory
    assert backend._cache.get_client().exists(backend.make_and_validate_key("during")) == 0

    now[0] += redis_cache.RETRY_AFTER + 1
    with caplog.at_level(logging.INFO, logger="config.cache"):
        assert fastcache.hit("after", timeout=60) == 1
    assert backend._cache.get_client().exists(backend.make_and_validate_key("after")) == 1
    assert "Redis cache answers again" in caplog.text
