"""Webhooks end to end: services emit, a real Celery worker on the real Redis broker sends,
a real HTTP receiver (tests/webhooks/receiver.py) verifies each signature with the
`standardwebhooks` package. Transactional database: the worker reads committed rows."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from events.invite_parsing import Row
from events.models import Notification, SurveyRecipient, WebhookEndpoint, WebhookMessage
from events.outbox import tasks
from events.services import (
    attendance,
    invitations,
    open_calls,
    review,
    scheduling,
    surveys,
    waitlist,
)
from events.services import webhooks as service
from events.services.registration import cancel, register
from tests.celery_worker import wait_for
from tests.factories import (
    EventFactory,
    OpenCallFactory,
    SessionFactory,
    SurveyFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

Status = WebhookMessage.Status


@pytest.fixture
def owner():
    return UserFactory(email="owner@example.com")


@pytest.fixture
def team(owner):
    return TeamFactory(owner=owner)


def endpoint_for(team, owner, receiver, types=None) -> WebhookEndpoint:
    return service.create_endpoint(
        team=team,
        actor=owner,
        url=receiver.url,
        event_types=types or ["registration.created"],
    )


def all_in(status: str, count: int):
    def check():
        """every webhook message to reach the status"""
        rows = list(WebhookMessage.objects.all())
        return len(rows) == count and all(row.status == status for row in rows) and rows

    return check


def test_every_event_type_arrives_signed(loopback, receiver, worker, team, owner):
    endpoint = endpoint_for(team, owner, receiver, service.event_types())
    event = EventFactory(team=team)
    soon = timezone.now() + timedelta(hours=2)
    session = SessionFactory(
        event=event, capacity=1, starts_at=soon, ends_at=soon + timedelta(hours=1)
    )
    ada, bob = UserFactory(), UserFactory()
    seat = register(user=ada, session=session)  # created, confirmed
    attendance.check_in(registration=seat, actor=owner)  # checked in
    register(user=bob, session=session)  # created, waitlisted
    carol = register(user=UserFactory(), session=session)  # created, waitlisted
    review.reject(registration=carol, actor=owner)  # rejected
    cancel(registration=seat, actor=ada)  # cancelled; bob is offered the seat
    waitlist.expire_offers(now=timezone.now() + timedelta(days=1))  # bob's offer expired
    scheduling.update_session(session=session, actor=owner, location="Room 2")  # changed
    later = SessionFactory(event=event, capacity=5)
    yes, no = invitations.create_batch(
        event=event,
        session=later,
        rows=[Row(line=1, email="yes@example.com"), Row(line=2, email="no@example.com")],
        actor=owner,
        allow_any_account=True,
    )
    invitations.accept(invitation=yes, user=UserFactory(email="yes@example.com"))
    invitations.decline(invitation=no)
    survey = SurveyFactory(event=event, actor=owner)
    recipient = SurveyRecipient.objects.create(survey=survey, user=ada, session=session)
    surveys.answer(recipient=recipient, answers={})
    call = OpenCallFactory(organizer=owner, team=team)
    open_calls.set_status(call=call, actor=owner, published=True)
    submission = open_calls.submit(
        call=call, email="pool@example.com", profile={"name": "Pool"}, answers={}
    ).submission
    open_calls.confirm(submission=submission, nonce=submission.nonce)
    scheduling.cancel_session(session=later, actor=owner)  # cancelled

    expected = set(service.event_types())
    wait_for(lambda: expected <= receiver.types(), timeout=30)
    payloads = receiver.verified(endpoint.secret)  # raises on any bad signature
    assert {p["type"] for p in payloads} == expected
    by_type = {p["type"]: p["data"] for p in payloads}
    assert by_type["registration.offered"]["attendee"]["id"] == bob.pk
    assert by_type["registration.offer_expired"]["attendee"]["id"] == bob.pk
    assert by_type["registration.rejected"]["registration"]["id"] == carol.pk
    assert by_type["session.changed"]["session"]["location"] == "Room 2"
    assert by_type["invitation.declined"]["invitation"]["status"] == "declined"
    assert by_type["submission.confirmed"]["submitter"] == {"email": "pool@example.com"}
    assert "respondent" not in str(by_type["survey.response"])
    assert all(set(p) == {"type", "timestamp", "data"} for p in payloads)


def test_a_receiver_down_then_up_gets_every_event_and_each_webhook_id_once_after_dedup(
    loopback, receiver, worker, team, owner
):
    endpoint = endpoint_for(team, owner, receiver)
    session = SessionFactory(event=EventFactory(team=team), capacity=10)
    receiver.stop()
    for _ in range(5):
        register(user=UserFactory(), session=session)

    def retrying():
        """every message to have failed once and wait for a retry"""
        rows = list(WebhookMessage.objects.all())
        return len(rows) == 5 and all(r.attempts >= 1 and r.status == Status.PENDING for r in rows)

    wait_for(retrying)
    assert "Could not connect" in WebhookMessage.objects.first().last_error
    receiver.start()  # the same port

    rows = wait_for(all_in(Status.SENT, 5), timeout=30)
    payloads = receiver.verified(endpoint.secret)
    assert len(payloads) >= 5
    assert sorted(set(receiver.ids())) == sorted(row.webhook_id for row in rows)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # a success clears it


def test_a_broker_down_at_commit_delays_webhooks_until_the_sweep(
    monkeypatch, loopback, receiver, worker, team, owner
):
    endpoint_for(team, owner, receiver)

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.deliver_webhooks, "delay", broker_down)
        register(user=UserFactory(), session=SessionFactory(event=EventFactory(team=team)))

    assert WebhookMessage.objects.get().status == Status.PENDING
    time.sleep(0.5)
    assert receiver.requests == []
    WebhookMessage.objects.update(created_at=timezone.now() - timedelta(minutes=1))

    assert tasks.sweep_webhooks() == 1

    wait_for(all_in(Status.SENT, 1))
    assert len(receiver.requests) == 1


def test_a_slow_receiver_holds_the_worker_no_longer_than_the_timeout(
    loopback, receiver, worker, team, owner
):
    endpoint = endpoint_for(team, owner, receiver)
    receiver.delay = 30
    started = time.monotonic()
    register(user=UserFactory(), session=SessionFactory(event=EventFactory(team=team)))

    def attempted():
        """the first attempt to end"""
        return WebhookMessage.objects.filter(attempts=1).first()

    row = wait_for(attempted, timeout=20)
    assert time.monotonic() - started < 12
    assert row.status == Status.PENDING  # a timeout is retried
    assert "within 10 seconds" in row.last_error
    receiver.delay = 0
    # The worker is free again at once: the retry and a test event both go through.
    with transaction.atomic():
        WebhookMessage.objects.update(next_attempt_at=None)
        service.send_test(endpoint=endpoint, actor=owner)
    wait_for(all_in(Status.SENT, 2), timeout=20)


def test_a_huge_answer_is_cut_at_the_limit_and_the_delivery_counts(
    loopback, receiver, worker, team, owner
):
    endpoint_for(team, owner, receiver)
    receiver.status, receiver.huge = 200, 50 * 1024 * 1024

    register(user=UserFactory(), session=SessionFactory(event=EventFactory(team=team)))

    [row] = wait_for(all_in(Status.SENT, 1))
    assert row.response_code == 200


def test_a_410_disables_the_endpoint_and_tells_its_owners(
    loopback, receiver, worker, smtp, team, owner
):
    endpoint = endpoint_for(team, owner, receiver)
    receiver.status = 410
    session = SessionFactory(event=EventFactory(team=team), capacity=10)

    register(user=UserFactory(), session=session)

    [row] = wait_for(all_in(Status.FAILED, 1))
    assert row.response_code == 410
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert endpoint.disabled_reason == "The endpoint answered 410 Gone."
    [mail] = wait_for(lambda: smtp.to(owner.email))
    assert "is disabled" in mail["Subject"]
    register(user=UserFactory(), session=session)
    assert WebhookMessage.objects.count() == 1  # nothing more is owed to it


def test_an_endpoint_failing_for_24_hours_is_disabled_and_its_owners_are_mailed(
    loopback, receiver, worker, smtp, team, owner
):
    endpoint = endpoint_for(team, owner, receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=25)
    )
    receiver.status = 503

    register(user=UserFactory(), session=SessionFactory(event=EventFactory(team=team)))

    wait_for(lambda: WebhookEndpoint.objects.filter(disabled_at__isnull=False).exists())
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == "Every delivery failed for 24 hours."
    [mail] = wait_for(lambda: smtp.to(owner.email))
    assert endpoint.url in smtp.text(mail)
    assert "Every delivery failed for 24 hours." in smtp.text(mail)
    assert Notification.objects.get(kind="webhook_disabled").recipient == owner


def test_a_4xx_is_a_final_failure_and_5xx_retries_stop_after_24_hours(
    loopback, receiver, worker, team, owner
):
    endpoint_for(team, owner, receiver)
    receiver.status, receiver.body = 400, b"no thanks"
    register(user=UserFactory(), session=SessionFactory(event=EventFactory(team=team)))

    [row] = wait_for(all_in(Status.FAILED, 1))
    assert (row.attempts, row.response_code) == (1, 400)
    assert row.last_error == "Answered 400: no thanks."

    receiver.status = 500
    with transaction.atomic():
        service.send_again(message=row, actor=owner)
        WebhookMessage.objects.filter(pk=row.pk).update(give_up_at=timezone.now())
    [row] = wait_for(all_in(Status.FAILED, 1))
    assert row.last_error.startswith("Gave up after 24 hours. Answered 500")


def test_private_addresses_are_refused_at_send_time_in_production_settings(
    settings, receiver, worker, team, owner
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    endpoint_for(team, owner, receiver)

    register(user=UserFactory(), session=SessionFactory(event=EventFactory(team=team)))

    [row] = wait_for(all_in(Status.FAILED, 1))
    assert "127.0.0.1, a private, loopback or reserved address" in row.last_error
    assert receiver.requests == []
