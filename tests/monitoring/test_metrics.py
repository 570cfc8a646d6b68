"""/metrics: off without METRICS_TOKEN, only for its bearer, and every figure read from the
real state: outbox rows and the delivery's totals (counted by another process), sign-ups
through the service, registrations, a real Redis queue, requests by view. A scrape's query
count does not grow with the data."""

import multiprocessing
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config import broker
from config.celery import app
from events.models import Notification, Registration, WebhookEndpoint, WebhookMessage
from events.outbox import delivery
from events.services import invitations
from events.services.registration import register
from tests.factories import (
    EventFactory,
    InvitationFactory,
    RegistrationFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
)
from tests.monitoring.helpers import TOKEN, scrape, value, value_or_zero
from tests.notifications.conftest import point_django_at
from tests.notifications.smtp import ScriptedSMTPServer
from tests.test_redis_outage import redis_down  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Notification.Status


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def owe(kind: str, *, status: str = Status.PENDING, age: timedelta = timedelta()) -> Notification:
    row = Notification.objects.create(
        key=f"{kind}:{Notification.objects.count()}:{time.monotonic_ns()}",
        kind=kind,
        email="ada@example.com",
        status=status,
    )
    Notification.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def test_metrics_are_off_without_a_token(settings):
    settings.METRICS_TOKEN = ""

    response = Client().get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, 401),
        ("", 401),
        (f"Basic {TOKEN}", 401),
        ("Bearer ", 401),
        ("Bearer not-the-token", 403),
        (f"Bearer {TOKEN}x", 403),
        (f"Bearer {TOKEN[:-1]}", 403),
        (f"Bearer {TOKEN}", 200),
        (f"bearer {TOKEN}", 200),
    ],
)
def test_metrics_answer_only_their_bearer_token(authorization, expected):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = Client().get(reverse("metrics"), **headers)

    assert response.status_code == expected
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    if expected == 200:
        assert response["Content-Type"].startswith("text/plain; version=")
        assert b"feedback_outbox_pending_messages" in response.content
    else:
        assert b"feedback_" not in response.content


def test_the_outbox_shows_what_is_owed_per_kind_and_the_oldest_age():
    owe(Kind.CONFIRMED, age=timedelta(minutes=10))
    owe(Kind.CONFIRMED, age=timedelta(minutes=1))
    owe(Kind.REMINDER, status=Status.SENDING, age=timedelta(seconds=30))
    owe(Kind.CONFIRMED, status=Status.SENT, age=timedelta(days=3))  # done: not owed
    owe(Kind.SURVEY, status=Status.FAILED, age=timedelta(days=2))

    samples = scrape()

    pending = "feedback_outbox_pending_messages"
    assert value(samples, pending, kind="confirmed") == 2
    assert value(samples, pending, kind="reminder") == 1
    assert value(samples, pending, kind="survey") == 0
    oldest = "feedback_outbox_oldest_pending_age_seconds"
    assert 600 <= value(samples, oldest, kind="confirmed") < 660
    assert 30 <= value(samples, oldest, kind="reminder") < 90
    assert value(samples, oldest, kind="survey") == 0


def test_the_webhook_backlog_shows_what_is_owed_and_the_oldest_age():
    team = TeamFactory()
    WebhookEndpoint.objects.create(
        team=team, url="https://hooks.example.com/", event_types=["registration.created"]
    )
    session = SessionFactory(event=EventFactory(team=team), capacity=5)
    for _ in range(3):
        register(user=UserFactory(), session=session)  # each owes registration.created
    first, _, last = WebhookMessage.objects.order_by("pk")
    WebhookMessage.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    WebhookMessage.objects.filter(pk=last.pk).update(status=WebhookMessage.Status.SENT)

    samples = scrape()

    assert value(samples, "feedback_webhooks_pending_messages") == 2
    assert 300 <= value(samples, "feedback_webhooks_oldest_pending_age_seconds") < 360


def deliver_in_another_process(ids: list[int]) -> int:
    """Deliver `ids` from a forked process (as a Celery worker would, on its own connection);
    its exit status."""
    connections.close_all()  # the child must not share the parent's socket
    child = multiprocessing.get_context("fork").Process(target=_deliver, args=(ids,))
    child.start()
    child.join(60)
    return child.exitcode


def _deliver(ids: list[int]) -> None:
    for pk in ids:
        delivery.deliver(notification_id=pk)
    connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_emails_sent_failed_and_retried_are_counted_across_processes(settings):
    before = scrape()
    for _ in range(4):
        register(user=UserFactory(), session=SessionFactory())
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    with ScriptedSMTPServer() as server:
        point_django_at(settings, server.port)
        # One message tried later, one refused for good, two accepted.
        server.mailbox.data_replies = ["451 4.3.0 try later", "550 5.1.1 no such user"]
        assert deliver_in_another_process(ids) == 0
        assert len(server.mailbox.messages) == 2

    after = scrape()

    def grew(outcome: str) -> float:
        name = f"feedback_emails_{outcome}_total"
        return value(after, name) - value_or_zero(before, name)

    assert (grew("sent"), grew("failed"), grew("retried"), grew("skipped")) == (2, 1, 1, 0)
    statuses = sorted(Notification.objects.values_list("status", flat=True))
    assert statuses == ["failed", "pending", "sent", "sent"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_row_taken_back_from_a_stopped_worker_counts_as_retried():
    before = scrape()
    row = owe(Kind.CONFIRMED)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING,
        attempts=1,
        lease_token="gone",
        lease_expires_at=timezone.now() - timedelta(minutes=1),
    )

    delivery.requeue_due()

    name = "feedback_emails_retried_total"
    assert value(scrape(), name) - value_or_zero(before, name) == 1


def test_sign_ups_are_counted_by_outcome(client_for):
    session = SessionFactory(capacity=1)
    full = SessionFactory(capacity=1, waitlist_enabled=False)
    RegistrationFactory(session=full)
    full.seats_taken = 1
    full.save(update_fields=["seats_taken"])
    before = scrape()

    first, second, third = (client_for(UserFactory()) for _ in range(3))
    assert first.post(reverse("events:register", args=[session.pk])).status_code == 302
    assert second.post(reverse("events:register", args=[session.pk])).status_code == 302
    third.post(reverse("events:register", args=[full.pk]))  # full, no waitlist: refused

    after = scrape()

    def grew(outcome: str) -> float:
        name = "feedback_sign_ups_total"
        return value_or_zero(after, name, outcome=outcome) - value_or_zero(
            before, name, outcome=outcome
        )

    assert (grew("confirmed"), grew("waitlisted"), grew("refused")) == (1, 1, 1)
    states = sorted(Registration.objects.values_list("status", flat=True))
    assert states == ["confirmed", "confirmed", "waitlisted"]


def test_an_accepted_invitation_counts_as_a_sign_up_once_it_commits(
    django_capture_on_commit_callbacks,
):
    session = SessionFactory()
    invitation = InvitationFactory(event=session.event, email="ann@example.com")
    ann = UserFactory(email="ann@example.com")
    name = "feedback_sign_ups_total"
    before = value_or_zero(scrape(), name, outcome="confirmed")

    with django_capture_on_commit_callbacks() as callbacks:
        invitations.accept(invitation=invitation, user=ann, session=session)
    assert value_or_zero(scrape(), name, outcome="confirmed") == before  # not yet committed
    for callback in callbacks:
        callback()

    assert value_or_zero(scrape(), name, outcome="confirmed") == before + 1


def test_registrations_are_counted_per_state():
    for state, n in (("confirmed", 3), ("waitlisted", 2), ("cancelled", 1)):
        for _ in range(n):
            RegistrationFactory(status=state)

    samples = scrape()

    for state in Registration.Status.values:
        expected = {"confirmed": 3, "waitlisted": 2, "cancelled": 1}.get(state, 0)
        assert value(samples, "feedback_registrations", state=state) == expected


@pytest.mark.redis
def test_a_celery_queue_shows_its_length_and_the_age_of_its_oldest_message():
    queue = app.conf.task_default_queue  # the run's own: no worker is consuming it here
    app.control.purge()
    try:
        app.send_task(
            "events.tasks.heartbeat", queue=queue, headers={"published_at": time.time() - 120}
        )
        app.send_task("events.tasks.heartbeat", queue=queue)
        app.send_task("events.tasks.heartbeat", queue=queue)

        samples = scrape()
        # Each message says when it left (config.broker.stamp on every publish).
        newest = broker.redis_client().lindex(queue, 0)
        stamped = broker._published_at(newest)
    finally:
        app.control.purge()

    assert value(samples, "feedback_broker_up") == 1
    assert value(samples, "feedback_celery_queue_messages", queue=queue) == 3
    age = value(samples, "feedback_celery_queue_oldest_message_age_seconds", queue=queue)
    assert 120 <= age < 150
    assert stamped is not None
    assert abs(time.time() - stamped) < 30
    for name in ("mail", "hooks", "sweeps", "default"):
        assert ("feedback_celery_queue_messages", frozenset({("queue", name)})) in samples


@pytest.mark.redis
def test_a_scrape_during_a_broker_outage_still_answers_and_says_the_broker_is_down(
    redis_down,  # noqa: F811 - the fixture imported above
):
    samples = scrape()

    assert value(samples, "feedback_broker_up") == 0
    assert value(samples, "feedback_registrations", state="confirmed") == 0


def test_requests_are_counted_and_timed_by_view_never_by_path():
    session = SessionFactory()
    before = scrape()
    client = Client()

    assert client.get(reverse("events:detail", args=[session.event.pk])).status_code == 200
    assert client.get("/no-such-page/secret-token-abc").status_code == 404

    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value_or_zero(after, name, **labels) - value_or_zero(before, name, **labels)

    view = {"view": "events:detail", "method": "GET"}
    assert grew("feedback_http_requests_total", status="200", **view) == 1
    assert grew("feedback_http_request_duration_seconds_count", **view) == 1
    assert grew("feedback_http_request_duration_seconds_sum", **view) > 0
    unresolved = {"view": "<unresolved>", "method": "GET", "status": "404"}
    assert grew("feedback_http_requests_total", **unresolved) == 1
    labels = {v for _, pairs in after for _, v in pairs}
    # Never the path: no label carries one, nor the token in it.
    assert not any("/" in label or "secret-token" in label for label in labels)


def scrape_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        scrape()
    return len(queries)


def test_a_scrape_asks_the_same_queries_at_5_and_200_rows():
    def add(n: int) -> None:
        kinds = Kind.values
        for i in range(n):
            owe(kinds[i % len(kinds)], age=timedelta(minutes=i))
            RegistrationFactory(status=Registration.Status.values[i % 3])

    add(5)
    at_5 = scrape_queries()
    add(195)
    at_200 = scrape_queries()

    assert at_5 == at_200
    assert at_5 <= 5  # the retention sweep's failures are the fifth


def test_the_queues_watched_are_the_four_known_and_every_routed_one():
    saved = app.conf.task_routes, app.conf.task_queues
    app.conf.update(
        task_routes=[{"events.outbox.tasks.*": {"queue": "mail-eu"}}],
        task_queues=None,
    )
    try:
        names = broker.queue_names()
    finally:
        app.conf.update(task_routes=saved[0], task_queues=saved[1])

    assert {"mail", "hooks", "sweeps", "default", "mail-eu", app.conf.task_default_queue} <= set(
        names
    )
