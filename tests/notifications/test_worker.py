"""The outbox end to end: a real Celery worker on the real Redis broker delivering to a real SMTP
server. Transactional database: the worker thread reads committed rows on its own connection."""

from datetime import timedelta

import pytest
from kombu.exceptions import OperationalError

from config.celery import app
from events.models import Notification
from events.outbox import delivery, doorbell, tasks
from events.outbox.tasks import deliver_pending
from events.services.registration import register
from tests.celery_worker import wait_for
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import bodies, calendar_part, parse_calendar

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

Status = Notification.Status


def row_in(status: str):
    def check():
        """the outbox row to reach the status"""
        return Notification.objects.filter(status=status).first()

    return check


def test_a_confirmation_is_delivered_by_the_worker_and_reads_back(worker, smtp):
    user = UserFactory()
    session = SessionFactory(location="Room 1, Example HQ")

    register(user=user, session=session)

    row = wait_for(row_in(Status.SENT))
    [message] = smtp.to(user.email)
    assert message["Subject"] == f"[Feedback Sessions] You're in: {session.event.title}"
    text, _ = bodies(message)
    assert "Your seat is confirmed." in text
    invite = parse_calendar(calendar_part(message))
    assert (invite.method, invite.sequence) == ("REQUEST", 0)
    assert row.attempts == 1


def test_the_sweep_recovers_a_row_whose_task_was_lost_when_redis_was_down(
    monkeypatch, worker, smtp
):
    user = UserFactory()

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(deliver_pending, "delay", broker_down)
        register(user=user, session=SessionFactory())  # commits; ringing the outbox fails

    row = Notification.objects.get()
    assert row.status == Status.PENDING
    assert smtp.messages == []
    # A minute later the beat's sweep runs, on the worker.
    Notification.objects.filter(pk=row.pk).update(
        created_at=row.created_at - delivery.SWEEP_GRACE - timedelta(seconds=1)
    )
    tasks.sweep_outbox.delay()

    wait_for(row_in(Status.SENT))
    assert len(smtp.to(user.email)) == 1


def test_a_transient_smtp_failure_is_retried_by_the_worker_until_it_goes_through(
    monkeypatch, worker, smtp
):
    monkeypatch.setattr(delivery, "backoff", lambda attempt: 0.5)
    smtp.data_replies = ["451 4.3.0 try later", "421 4.7.0 too busy, come back"]
    user = UserFactory()

    register(user=user, session=SessionFactory())

    row = wait_for(row_in(Status.SENT))
    assert row.attempts == 3
    assert smtp.data_commands == 3
    assert len(smtp.to(user.email)) == 1


def test_a_permanent_smtp_failure_ends_failed_with_the_reason(worker, smtp):
    smtp.data_replies = ["550 5.1.1 no such user"]
    user = UserFactory()

    register(user=user, session=SessionFactory())

    row = wait_for(row_in(Status.FAILED))
    assert "550" in row.last_error and "no such user" in row.last_error
    assert row.attempts == 1
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("old_name", "arguments"),
    [
        ("events.tasks.deliver_notification", lambda row: [row.pk]),
        ("events.tasks.deliver_batch", lambda row: [[row.pk]]),
        ("events.tasks.deliver_pending", lambda row: []),
        ("events.tasks.sweep_outbox", lambda row: []),
    ],
)
def test_a_task_an_old_process_published_under_its_old_name_still_delivers(
    monkeypatch, worker, smtp, old_name, arguments
):
    """A rolling deploy: a web process or worker from before the outbox was a package
    publishes under the old names (events.tasks.*); the new worker runs them."""
    user = UserFactory()
    with monkeypatch.context() as patch:
        patch.setattr(doorbell, "ring", lambda *args, **kwargs: None)  # nothing published
        register(user=user, session=SessionFactory())
    row = Notification.objects.get()
    # Past the sweep's grace, for the old sweep_outbox to pick it up.
    Notification.objects.filter(pk=row.pk).update(
        created_at=row.created_at - delivery.SWEEP_GRACE - timedelta(seconds=1)
    )

    app.send_task(old_name, args=arguments(row))

    wait_for(row_in(Status.SENT))
    assert len(smtp.to(user.email)) == 1
