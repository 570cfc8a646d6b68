"""A claim is a lease (DESIGN invariant 8): its worker renews it while it works, so a slow relay
never lets the sweep hand its rows to a second worker; every write is fenced on it, so a worker
whose lease was taken over neither sends the row nor marks it; and a worker that dies is
replaced about a minute later, until the row's attempts run out."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Notification
from events.outbox import delivery
from events.services.registration import register
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = Notification.Status


def in_thread(work) -> threading.Thread:
    """`work` on a thread of its own, as another worker process would: its own connection."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_slow_relay_and_the_sweep_running_meanwhile_send_each_email_once(
    smtp, enqueued, monkeypatch
):
    # Time scaled down: a one-second lease, and a relay taking 0.6 s per message, so a batch of
    # six outlasts the lease several times over. (STUCK_AFTER: what the sweep went by before.)
    monkeypatch.setattr(delivery, "LEASE", timedelta(seconds=1), raising=False)
    monkeypatch.setattr(delivery, "RENEW_EVERY", timedelta(seconds=0.25), raising=False)
    monkeypatch.setattr(delivery, "STUCK_AFTER", timedelta(seconds=1))
    smtp.data_delay = 0.6
    session = SessionFactory(capacity=10)
    people = [UserFactory() for _ in range(6)]
    for person in people:
        register(user=person, session=session)
    first_done = threading.Event()

    def first_worker() -> None:
        delivery.drain()
        first_done.set()

    def sweep_and_second_worker() -> None:
        # The beat's sweep runs over and over, and a second worker takes whatever it frees.
        while not first_done.is_set():
            delivery.requeue_due()
            delivery.drain()
            time.sleep(0.1)

    threads = [in_thread(first_worker), in_thread(sweep_and_second_worker)]
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(p.email for p in people)
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}


def owed(count: int) -> list[Notification]:
    session = SessionFactory(capacity=count)
    for _ in range(count):
        register(user=UserFactory(), session=session)
    return list(Notification.objects.order_by("pk"))


def taken_for_dead() -> None:
    """The sweep runs as if the worker had stalled past its lease, and the rows it takes back
    are due again at once."""
    delivery.requeue_due(now=timezone.now() + timedelta(hours=1))
    Notification.objects.filter(status=Status.PENDING).update(next_attempt_at=None)


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_lease_was_taken_over_cannot_mark_the_row(smtp, enqueued):
    [row] = owed(1)
    smtp.hold = threading.Event()
    first = in_thread(lambda: delivery.deliver(notification_id=row.pk))
    assert smtp.arrived.wait(10)  # the message is with the relay, which takes its time

    # Meanwhile the first worker is taken for dead: the sweep takes the row back and a second
    # worker claims it.
    taken_for_dead()
    assert delivery.claim(row.pk)
    smtp.hold.set()
    first.join(timeout=30)

    row.refresh_from_db()
    # Still the second worker's to send and mark: the first one's "sent" did not land.
    assert (row.status, row.attempts, row.sent_at) == (Status.SENDING, 2, None)


@pytest.mark.django_db(transaction=True)
def test_a_worker_does_not_send_a_row_of_its_batch_that_another_worker_took_over(smtp, enqueued):
    mine, taken = owed(2)
    smtp.hold = threading.Event()
    first = in_thread(lambda: delivery.deliver_many(ids=[mine.pk, taken.pk]))
    assert smtp.arrived.wait(10)  # the first message of the batch is with the slow relay

    # The first worker is taken for dead; a second worker claims the other row.
    taken_for_dead()
    assert delivery.claim(taken.pk)
    smtp.hold.set()
    first.join(timeout=30)

    assert [m["X-Envelope-To"] for m in smtp.messages] == [mine.email]
    taken.refresh_from_db()
    # Its first claim is not counted: the first worker never got to it.
    assert (taken.status, taken.attempts) == (Status.SENDING, 1)


def test_a_row_left_by_a_killed_worker_is_taken_back_about_a_minute_later():
    [row] = owed(1)
    assert delivery.claim(row.pk)  # ...and the worker is killed: nobody renews the lease
    now = timezone.now()

    assert delivery.requeue_due(now=now + timedelta(seconds=30)) == []
    assert delivery.requeue_due(now=now + timedelta(seconds=50)) == [row.pk]

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "stopped while sending" in row.last_error


def kill_the_worker_on(row: Notification) -> list[int]:
    """A worker claims the row and dies on it (a message that crashes it); the sweep runs once
    the lease has run out and the retry is due. What the sweep hands out."""
    assert delivery.claim(row.pk)
    requeued = delivery.requeue_due(now=timezone.now() + timedelta(minutes=11))
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=None)  # time passes
    return requeued


def test_a_row_that_kills_its_worker_every_time_fails_once_its_attempts_run_out():
    [row] = owed(1)

    for _ in range(delivery.MAX_ATTEMPTS - 1):
        assert kill_the_worker_on(row) == [row.pk]
    assert kill_the_worker_on(row) == []

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, delivery.MAX_ATTEMPTS)
    assert "stopped while sending" in row.last_error
    assert delivery.claim(row.pk) is False


def test_a_row_retried_after_errors_fails_when_its_last_attempt_kills_the_worker():
    [row] = owed(1)
    Notification.objects.filter(pk=row.pk).update(
        attempts=delivery.MAX_ATTEMPTS - 1, last_error="451 4.3.0 try later"
    )

    assert kill_the_worker_on(row) == []

    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, delivery.MAX_ATTEMPTS)


def test_a_row_whose_lease_is_being_renewed_is_not_taken_back_however_long_ago_it_was_claimed():
    [row] = owed(1)
    assert delivery.claim(row.pk)
    now = timezone.now()
    # A slow relay: claimed half an hour ago, the lease renewed a moment ago.
    Notification.objects.filter(pk=row.pk).update(
        claimed_at=now - timedelta(minutes=30), lease_expires_at=now + timedelta(seconds=50)
    )

    assert delivery.requeue_due(now=now) == []

    row.refresh_from_db()
    assert row.status == Status.SENDING


def test_a_row_that_kills_its_worker_does_not_use_up_the_attempts_of_the_rest_of_its_batch(smtp):
    """A drain claims a batch and dies on its first row, again and again. Only that row was
    being sent: the rows behind it in the batch never reached the relay, so they keep their
    attempts, and once the bad row is given up they are sent, not failed unsent."""
    bad, *rest = owed(3)
    for _ in range(delivery.MAX_ATTEMPTS):
        claimed = delivery.claim_next(count=50, now=timezone.now(), token=delivery.new_token())
        assert claimed[0] == bad.pk  # ...and the worker dies on it
        taken_for_dead()

    bad.refresh_from_db()
    assert bad.status == Status.FAILED
    assert [r.status for r in Notification.objects.filter(pk__in=[r.pk for r in rest])] == [
        Status.PENDING,
        Status.PENDING,
    ]
    delivery.drain()
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(r.email for r in rest)
