"""The outbox (events.outbox): a row per owed email, keyed by (kind, recipient, object,
version), written in the change's transaction and handed to the broker only when it commits;
the sweep (delivery.requeue_due, tasks.sweep_outbox) finds rows whose task was lost."""

import logging
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from events.models import Notification, Registration
from events.outbox import delivery, tasks
from events.outbox.tasks import deliver_pending
from events.services import notices
from events.services.registration import cancel, register
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Status = Notification.Status


class Boom(Exception):
    pass


def test_a_sign_up_writes_one_pending_row_keyed_by_kind_recipient_object_and_version():
    session = SessionFactory()
    user = UserFactory()

    registration = register(user=user, session=session)

    row = Notification.objects.get()
    change = registration.changes.get()
    assert row.key == f"confirmed:reg{registration.pk}:user{user.pk}:{change.pk}"
    assert (row.kind, row.recipient, row.email) == (Kind.CONFIRMED, user, user.email)
    assert (row.registration, row.session) == (registration, session)
    assert row.status == Status.PENDING
    assert (row.attempts, row.sent_at, row.claimed_at, row.next_attempt_at) == (0, None, None, None)


def test_the_statuses_are_pending_sending_sent_failed_and_skipped():
    assert set(Status.values) == {"pending", "sending", "sent", "failed", "skipped"}


def test_owing_the_same_thing_twice_returns_the_first_row():
    registration = register(user=UserFactory(), session=SessionFactory())
    first = Notification.objects.get()

    with transaction.atomic():
        again = notices.owe_news(
            kind=Kind.CONFIRMED,
            user=registration.user,
            registration=registration,
            version=registration.changes.get().pk,
        )

    assert again.pk == first.pk
    assert Notification.objects.count() == 1


def test_the_database_refuses_a_second_row_with_the_same_key():
    register(user=UserFactory(), session=SessionFactory())
    row = Notification.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(key=row.key, kind=row.kind, email=row.email)


def test_another_version_of_the_same_message_is_a_new_row():
    registration = register(user=UserFactory(), session=SessionFactory())

    with transaction.atomic():
        for version in ("v2", "v3", "v2"):
            notices.owe_news(
                kind=Kind.SESSION_CHANGED,
                user=registration.user,
                registration=registration,
                version=version,
            )

    assert Notification.objects.filter(kind=Kind.SESSION_CHANGED).count() == 2


def test_the_row_is_rolled_back_with_the_change_that_caused_it(
    enqueued, django_capture_on_commit_callbacks
):
    session = SessionFactory()

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        register(user=UserFactory(), session=session)
        assert Notification.objects.count() == 1
        raise Boom

    assert Registration.objects.count() == 0
    assert Notification.objects.count() == 0
    assert callbacks == []
    assert enqueued == []


def test_delivery_is_enqueued_only_when_the_change_commits(
    enqueued, django_capture_on_commit_callbacks
):
    session = SessionFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        register(user=UserFactory(), session=session)
        assert enqueued == [], "nothing may reach the broker before the commit"

    row = Notification.objects.get()
    assert callbacks, "the delivery waits for the commit"
    assert enqueued == []
    for callback in callbacks:  # the commit (the sign-up's metrics count there too)
        callback()
    assert enqueued == [row.pk]


def test_a_change_owing_two_emails_enqueues_both_on_commit(
    enqueued, django_capture_on_commit_callbacks
):
    session = SessionFactory(capacity=1)
    seated = register(user=UserFactory(), session=session)
    register(user=UserFactory(), session=session)  # waitlisted, offered the seat next
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        cancel(registration=seated, actor=seated.user)

    rows = list(Notification.objects.order_by("pk"))
    assert [r.kind for r in rows] == [Kind.CANCELLED, Kind.OFFERED]
    assert enqueued == [r.pk for r in rows]


def test_a_broker_outage_at_commit_leaves_the_row_pending_for_the_sweep(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(deliver_pending, "delay", broker_down)  # the doorbell's drain task

    with (
        caplog.at_level(logging.WARNING, logger="events.outbox.doorbell"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        registration = register(user=UserFactory(), session=SessionFactory())

    # The sign-up stands; the email is still owed.
    registration.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    row = Notification.objects.get()
    assert row.status == Status.PENDING
    assert "the sweep will retry" in caplog.text


def test_the_sweep_leaves_fresh_rows_to_their_own_task():
    register(user=UserFactory(), session=SessionFactory())

    assert delivery.requeue_due() == []


def test_the_sweep_finds_rows_pending_past_the_grace_period_oldest_first():
    session = SessionFactory(capacity=5)
    for _ in range(3):
        register(user=UserFactory(), session=session)
    old, older, _fresh = Notification.objects.order_by("pk")
    now = timezone.now()
    Notification.objects.filter(pk=old.pk).update(created_at=now - timedelta(minutes=2))
    Notification.objects.filter(pk=older.pk).update(created_at=now - timedelta(minutes=5))

    assert delivery.requeue_due() == [older.pk, old.pk]


def test_the_sweep_waits_for_a_retry_that_is_not_due_yet():
    register(user=UserFactory(), session=SessionFactory())
    row = Notification.objects.get()
    now = timezone.now()
    Notification.objects.filter(pk=row.pk).update(
        created_at=now - timedelta(hours=1), next_attempt_at=now + timedelta(minutes=5)
    )

    assert delivery.requeue_due() == []
    assert delivery.requeue_due(now=now + timedelta(minutes=7)) == [row.pk]


def test_the_sweep_ignores_rows_sent_failed_skipped_or_being_sent():
    session = SessionFactory(capacity=5)
    for _ in range(4):
        register(user=UserFactory(), session=session)
    now = timezone.now()
    Notification.objects.update(created_at=now - timedelta(hours=1))
    for row, status in zip(
        Notification.objects.order_by("pk"),
        [Status.SENT, Status.FAILED, Status.SKIPPED, Status.SENDING],
        strict=True,
    ):
        Notification.objects.filter(pk=row.pk).update(status=status, claimed_at=now)

    assert delivery.requeue_due() == []


def test_the_sweep_takes_back_a_row_a_dead_worker_left_sending():
    register(user=UserFactory(), session=SessionFactory())
    row = Notification.objects.get()
    now = timezone.now()
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=now - timedelta(minutes=11), attempts=1
    )

    assert delivery.requeue_due(now=now) == [row.pk]

    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert "stopped while sending" in row.last_error
    assert delivery.claim(row.pk)


def test_the_sweep_does_not_take_a_row_that_is_still_being_sent():
    register(user=UserFactory(), session=SessionFactory())
    row = Notification.objects.get()
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING, claimed_at=timezone.now() - timedelta(minutes=2)
    )

    assert delivery.requeue_due() == []
    row.refresh_from_db()
    assert row.status == Status.SENDING


def test_the_sweep_task_hands_the_due_rows_to_the_broker(enqueued):
    session = SessionFactory(capacity=5)
    for _ in range(2):
        register(user=UserFactory(), session=session)
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))

    assert tasks.sweep_outbox() == 2

    assert enqueued == ids


@pytest.mark.django_db(transaction=True)
def test_owing_an_email_outside_a_transaction_is_refused(enqueued):
    registration = register(user=UserFactory(), session=SessionFactory())

    with pytest.raises(AssertionError, match="transaction"):
        notices.owe_news(
            kind=Kind.CONFIRMED, user=registration.user, registration=registration, version="x"
        )
