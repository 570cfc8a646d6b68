"""The outbox's doorbell: a committed row rings for a drain task unless one is already on its
way; a drain clears the bell before it claims anything and sends every due row once."""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Notification
from events.outbox import delivery, doorbell, tasks
from events.outbox.tasks import deliver_pending
from events.services.registration import register
from events.speed import fastcache
from tests.celery_worker import wait_for
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = Notification.Status


@pytest.fixture
def drains(monkeypatch) -> list[str]:
    """The drain tasks published (recorded, not sent: no message is left for a later
    test's worker). The bell starts clear."""
    published: list[str] = []
    monkeypatch.setattr(deliver_pending, "delay", lambda: published.append("drain"))
    fastcache.delete(doorbell.DOORBELL)
    yield published
    fastcache.delete(doorbell.DOORBELL)


def sign_up(capture, session=None):
    with capture(execute=True):
        return register(user=UserFactory(), session=session or SessionFactory(capacity=50))


def test_a_burst_of_sign_ups_publishes_one_drain(drains, django_capture_on_commit_callbacks):
    session = SessionFactory(capacity=50)
    for _ in range(5):
        sign_up(django_capture_on_commit_callbacks, session)
    assert drains == ["drain"]
    assert Notification.objects.filter(status=Status.PENDING).count() == 5


def test_nothing_rings_before_the_change_commits(drains, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        register(user=UserFactory(), session=SessionFactory())
        assert drains == []
    assert drains == []
    for callback in callbacks:
        callback()
    assert drains == ["drain"]


def test_a_row_committed_after_a_drain_started_rings_again(
    drains, django_capture_on_commit_callbacks
):
    sign_up(django_capture_on_commit_callbacks)
    doorbell.answer_doorbell()  # the drain task starts
    sign_up(django_capture_on_commit_callbacks)
    sign_up(django_capture_on_commit_callbacks)
    assert drains == ["drain", "drain"]


def test_the_drain_clears_the_bell_and_sends_every_due_row_once(
    drains, smtp, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=50)
    people = [sign_up(django_capture_on_commit_callbacks, session).user for _ in range(3)]
    later = sign_up(django_capture_on_commit_callbacks, session)
    waiting = Notification.objects.get(registration=later)
    Notification.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)  # backing off: not due yet
    )

    assert tasks.deliver_pending() == 3
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(p.email for p in people)
    assert Notification.objects.filter(status=Status.SENT).count() == 3
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (Status.PENDING, 0)
    # The bell is clear: the next commit publishes a drain at once.
    sign_up(django_capture_on_commit_callbacks)
    assert drains == ["drain", "drain"]
    # Run twice, it sends nothing twice.
    assert tasks.deliver_pending() == 1
    assert len(smtp.messages) == 4


def test_a_drain_that_hits_its_limit_rings_for_a_fresh_task(
    drains, smtp, monkeypatch, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=50)
    for _ in range(5):
        sign_up(django_capture_on_commit_callbacks, session)
    drains.clear()
    original = delivery.drain
    monkeypatch.setattr(delivery, "drain", lambda: original(batch=2, limit=2))

    assert tasks.deliver_pending() == 2
    assert drains == ["drain"]  # published at once, although the bell was set
    assert Notification.objects.filter(status=Status.PENDING).count() == 3


def test_the_sweep_rings_even_when_a_lost_drain_holds_the_bell(
    drains, django_capture_on_commit_callbacks
):
    row = Notification.objects.get(registration=sign_up(django_capture_on_commit_callbacks))
    assert drains == ["drain"]  # ...and say that message was lost: the bell stays set
    Notification.objects.filter(pk=row.pk).update(
        created_at=row.created_at - delivery.SWEEP_GRACE - timedelta(seconds=1)
    )
    tasks.sweep_outbox()
    assert drains == ["drain", "drain"]


def test_a_cache_outage_when_ringing_is_logged_and_the_row_waits_for_the_sweep(
    drains, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def cache_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(fastcache, "add", cache_down)
    with caplog.at_level(logging.WARNING, logger="events.outbox.doorbell"):
        registration = sign_up(django_capture_on_commit_callbacks)

    assert registration.status == "confirmed"
    assert Notification.objects.get(registration=registration).status == Status.PENDING
    assert "the sweep will retry" in caplog.text
    assert drains == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_drains_running_side_by_side_send_each_email_once(smtp, drains):
    session = SessionFactory(capacity=60)
    for _ in range(40):
        register(user=UserFactory(), session=session)
    barrier = threading.Barrier(4)
    sent: list = [None] * 4

    def work(index: int) -> None:
        try:
            barrier.wait()
            outcomes, _ = delivery.drain(batch=5)
            sent[index] = sum(o.sent for o in outcomes.values())
        except Exception as error:  # noqa: BLE001 - reported below
            sent[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(n, int) for n in sent), sent
    assert sum(sent) == 40
    assert len(smtp.messages) == 40
    assert len({m["X-Envelope-To"] for m in smtp.messages}) == 40
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_sign_ups_reaches_every_mailbox_through_the_worker(worker, smtp):
    fastcache.delete(doorbell.DOORBELL)
    session = SessionFactory(capacity=30)
    people = [UserFactory() for _ in range(12)]
    for person in people:
        register(user=person, session=session)

    def all_sent():
        """every confirmation to be sent"""
        return Notification.objects.filter(status=Status.SENT).count() == len(people)

    wait_for(all_sent)
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(p.email for p in people)
