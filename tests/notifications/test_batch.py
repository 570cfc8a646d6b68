"""A fan-out (a session moved, 5,000 attendees) is delivered in batches: one claim, a few
loads, then each message sent and marked on its own."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Notification
from events.outbox import delivery
from events.services.registration import register
from events.services.scheduling import update_session
from tests.factories import SessionFactory, UserFactory, organizer_of
from tests.notifications.helpers import deliver_pending

pytestmark = pytest.mark.django_db
Kind, Status = Notification.Kind, Notification.Status


def moved_session_with(attendees: int, django_capture_on_commit_callbacks):
    session = SessionFactory(capacity=attendees)
    people = [register(user=UserFactory(), session=session) for _ in range(attendees)]
    deliver_pending()  # their confirmations went out: the updates come after
    later = session.starts_at + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        update_session(
            session=session,
            actor=organizer_of(session.event),
            starts_at=later,
            ends_at=later + timedelta(hours=1),
        )
    return session, people


def test_a_moved_session_enqueues_its_updates_as_one_batch(
    enqueued, django_capture_on_commit_callbacks
):
    enqueued.clear()
    moved_session_with(3, django_capture_on_commit_callbacks)

    owed = set(Notification.objects.filter(kind=Kind.SESSION_CHANGED).values_list("pk", flat=True))
    assert set(enqueued) == owed and len(owed) == 3


def test_a_batch_sends_each_message_once_even_when_run_twice(
    smtp, enqueued, django_capture_on_commit_callbacks
):
    moved_session_with(4, django_capture_on_commit_callbacks)
    ids = list(Notification.objects.filter(kind=Kind.SESSION_CHANGED).values_list("pk", flat=True))

    first = delivery.deliver_many(ids=ids)
    second = delivery.deliver_many(ids=ids)

    assert all(outcome.sent for outcome in first.values()) and len(first) == 4
    assert second == {}
    assert len([m for m in smtp.messages if "Changed:" in m["Subject"]]) == 4
    assert set(Notification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.SENT
    }


def test_a_batch_leaves_rows_claimed_by_another_worker_alone(
    smtp, enqueued, django_capture_on_commit_callbacks
):
    moved_session_with(2, django_capture_on_commit_callbacks)
    mine, theirs = Notification.objects.filter(kind=Kind.SESSION_CHANGED).order_by("pk")
    assert delivery.claim(theirs.pk)  # another worker is sending it right now

    outcomes = delivery.deliver_many(ids=[mine.pk, theirs.pk])

    assert list(outcomes) == [mine.pk]
    assert Notification.objects.get(pk=theirs.pk).status == Status.SENDING


def test_a_batch_costs_the_same_few_queries_plus_two_per_message(
    smtp, enqueued, django_capture_on_commit_callbacks
):
    def queries_for(attendees: int) -> int:
        moved_session_with(attendees, django_capture_on_commit_callbacks)
        ids = list(
            Notification.objects.filter(kind=Kind.SESSION_CHANGED, status=Status.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        with CaptureQueriesContext(connection) as queries:
            outcomes = delivery.deliver_many(ids=ids)
        assert len(outcomes) == attendees and all(o.sent for o in outcomes.values())
        return len(queries)

    few, many = queries_for(3), queries_for(12)

    # Per message: the lease checked (and renewed) just before it leaves, and the row marked.
    assert many - few == 2 * (12 - 3)
    # claim, rows, their registrations, rows waiting behind them; and the batch's outcomes
    # added to the delivery's totals (one UPDATE, for /metrics)
    assert few == 4 + 2 * 3 + 1
