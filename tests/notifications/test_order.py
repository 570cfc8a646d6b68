"""Mail in order (DESIGN invariant 8): the messages about one registration leave in the order
they were owed, even when the first one is retried; one whose news went stale before it could
leave is skipped, not sent as if current; and a calendar CANCEL goes only to someone an
invite reached."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Notification
from events.outbox import delivery
from events.services.registration import cancel, register
from events.services.scheduling import update_session
from tests.factories import SessionFactory, UserFactory, organizer_of
from tests.notifications.helpers import calendar_part, invites

pytestmark = pytest.mark.django_db
Kind, Status = Notification.Kind, Notification.Status


def workers_run() -> None:
    """What the workers do with every row due now (a drain, as the doorbell starts)."""
    delivery.drain()


def retry_time_comes() -> None:
    Notification.objects.filter(status=Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def subjects(smtp, user) -> list[str]:
    return [m["Subject"].split("] ", 1)[1].split(":")[0] for m in smtp.to(user.email)]


def test_a_confirmation_retried_after_a_451_is_not_sent_after_the_cancellation(smtp):
    user = UserFactory()
    registration = register(user=user, session=SessionFactory())
    smtp.data_replies = ["451 4.3.0 try later"]
    workers_run()  # "you're in" meets a 451: retried in half a minute
    cancel(registration=registration, actor=user)
    workers_run()  # the cancellation waits for the confirmation owed before it
    assert smtp.to(user.email) == []

    retry_time_comes()
    workers_run()

    # No invite ever reached them, so there is no calendar entry to remove: the
    # confirmation is skipped as stale, and the cancellation goes out as news alone.
    [message] = smtp.to(user.email)
    assert subjects(smtp, user) == ["Cancelled"]
    assert calendar_part(message) is None
    confirmation = Notification.objects.get(kind=Kind.CONFIRMED)
    assert confirmation.status == Status.SKIPPED
    assert "given up" in confirmation.last_error
    cancellation = Notification.objects.get(kind=Kind.CANCELLED)
    assert cancellation.status == Status.SENT
    assert "calendar" not in cancellation.payload
    assert "no invite had reached them" in cancellation.last_error


def test_an_update_retried_after_a_451_is_skipped_once_the_person_has_cancelled(smtp):
    user = UserFactory()
    session = SessionFactory()
    registration = register(user=user, session=session)
    workers_run()  # the invite is in their calendar
    update_session(session=session, actor=organizer_of(session.event), location="Room 9")
    smtp.data_replies = ["451 4.3.0 try later"]
    workers_run()
    cancel(registration=registration, actor=user)
    workers_run()

    retry_time_comes()
    workers_run()

    found = invites(smtp.to(user.email))
    assert [i.method for i in found] == ["REQUEST", "CANCEL"]
    assert found[0].sequence < found[1].sequence
    assert Notification.objects.get(kind=Kind.SESSION_CHANGED).status == Status.SKIPPED


def test_an_update_owed_while_the_confirmation_waits_for_its_retry_goes_out_after_it(smtp):
    user = UserFactory()
    session = SessionFactory()
    register(user=user, session=session)
    smtp.data_replies = ["451 4.3.0 try later"]
    workers_run()
    update_session(session=session, actor=organizer_of(session.event), location="Room 9")
    workers_run()
    assert smtp.to(user.email) == []

    retry_time_comes()
    workers_run()

    assert subjects(smtp, user) == ["You're in", "Changed"]
    found = invites(smtp.to(user.email))
    assert [(i.method, i.sequence) for i in found] == [("REQUEST", 0), ("REQUEST", 1)]
    assert "Room 9" in found[1].location


def test_a_row_waiting_behind_an_earlier_one_is_handed_out_once_that_one_is_sent(smtp, enqueued):
    user = UserFactory()
    session = SessionFactory()
    registration = register(user=user, session=session)
    first = Notification.objects.get()
    smtp.data_replies = ["451 4.3.0 try later"]
    delivery.deliver(notification_id=first.pk)
    update_session(session=session, actor=organizer_of(session.event), location="Room 9")
    second = Notification.objects.get(kind=Kind.SESSION_CHANGED)
    assert delivery.deliver(notification_id=second.pk) == delivery.Outcome()  # not its turn
    assert delivery.requeue_due(now=timezone.now() + timedelta(minutes=5)) == [first.pk]

    retry_time_comes()
    enqueued.clear()
    with pytest.MonkeyPatch.context() as patch:
        # Outside a test's transaction, on-commit work runs at once.
        patch.setattr("django.db.transaction.on_commit", lambda work, **_: work())
        assert delivery.deliver(notification_id=first.pk).sent

    assert enqueued == [second.pk]
    assert delivery.deliver(notification_id=second.pk).sent
    assert registration.pk == second.registration_id
