"""Reminders (events.services.reminders): 24 h and 1 h before by default (event.reminder_hours),
to confirmed attendees only, driven by Registration.remind_at and the beat sweep; each sent
once; moved when the session moves or the event's reminder hours change."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events import tasks
from events.models import Notification, Registration
from events.services import reminders, scheduling
from events.services.registration import cancel, register
from tests.factories import SessionFactory, UserFactory, organizer_of
from tests.notifications.helpers import bodies, deliver_pending

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
MINUTE = timedelta(minutes=1)


def reminder_hours() -> list[int]:
    return [
        n.payload["hours"] for n in Notification.objects.filter(kind=Kind.REMINDER).order_by("pk")
    ]


def remind_at(registration: Registration):
    registration.refresh_from_db()
    return registration.remind_at


def test_a_confirmed_attendee_is_due_a_reminder_a_day_before():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)

    assert remind_at(registration) == session.starts_at - timedelta(hours=24)


def test_the_sweep_sends_the_24h_then_the_1h_reminder_once_each_however_often_it_runs():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)
    start = session.starts_at

    assert reminders.queue_due(now=start - timedelta(hours=25)) == 0
    assert reminders.queue_due(now=start - timedelta(hours=24) + MINUTE) == 1
    assert reminders.queue_due(now=start - timedelta(hours=24) + MINUTE) == 0
    assert reminders.queue_due(now=start - timedelta(hours=2)) == 0
    assert remind_at(registration) == start - timedelta(hours=1)
    assert reminders.queue_due(now=start - timedelta(minutes=59)) == 1
    assert reminders.queue_due(now=start - timedelta(minutes=58)) == 0
    assert reminders.queue_due(now=start + MINUTE) == 0

    assert reminder_hours() == [24, 1]
    assert remind_at(registration) is None
    row = Notification.objects.filter(kind=Kind.REMINDER).first()
    assert (row.registration, row.recipient) == (registration, registration.user)


def test_two_sweeps_that_read_the_same_due_row_owe_one_reminder():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)
    due = registration.remind_at
    now = due + MINUTE

    reminders.queue_due(now=now)
    # A second sweep that loaded the row before the first moved remind_at on.
    Registration.objects.filter(pk=registration.pk).update(remind_at=due)
    reminders.queue_due(now=now)

    assert reminder_hours() == [24]


def test_the_beat_task_queues_what_is_due_now():
    now = timezone.now()
    session = SessionFactory(
        starts_at=now + timedelta(minutes=59), ends_at=now + timedelta(hours=2)
    )
    registration = register(user=UserFactory(), session=session)
    # As the service set it when this person signed up, a day ago.
    Registration.objects.filter(pk=registration.pk).update(
        remind_at=session.starts_at - timedelta(hours=1)
    )

    assert tasks.queue_reminders() == 1
    assert tasks.queue_reminders() == 0

    assert reminder_hours() == [1]
    assert remind_at(registration) is None


def test_only_confirmed_attendees_are_reminded():
    session = SessionFactory(capacity=2)
    confirmed = register(user=UserFactory(), session=session)
    leaving = register(user=UserFactory(), session=session)
    waiting = register(user=UserFactory(), session=session)  # full: waitlisted, then offered
    applied = register(
        user=UserFactory(), session=SessionFactory(event__registration_mode="approval")
    )
    cancel(registration=leaving, actor=leaving.user)

    for registration in (leaving, waiting, applied):
        assert remind_at(registration) is None
    reminders.queue_due(now=session.starts_at - timedelta(minutes=59))
    reminders.queue_due(now=session.starts_at - timedelta(hours=23))

    assert set(
        Notification.objects.filter(kind=Kind.REMINDER).values_list("registration", flat=True)
    ) == {confirmed.pk}


def test_someone_confirmed_30_minutes_before_the_start_gets_no_reminder():
    now = timezone.now()
    session = SessionFactory(
        starts_at=now + timedelta(minutes=30), ends_at=now + timedelta(hours=1)
    )

    registration = register(user=UserFactory(), session=session)

    assert remind_at(registration) is None
    assert reminders.queue_due() == 0
    assert reminders.queue_due(now=now + timedelta(minutes=29)) == 0
    assert reminder_hours() == []


def test_someone_confirmed_two_hours_before_the_start_gets_only_the_1h_reminder():
    now = timezone.now()
    session = SessionFactory(starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3))
    register(user=UserFactory(), session=session)

    reminders.queue_due(now=session.starts_at - timedelta(minutes=59))

    assert reminder_hours() == [1]


def test_a_cancelled_session_reminds_nobody():
    session = SessionFactory()
    register(user=UserFactory(), session=session)
    scheduling.cancel_session(session=session, actor=organizer_of(session.event))

    assert reminders.queue_due(now=session.starts_at - timedelta(minutes=59)) == 0
    assert reminder_hours() == []


def test_moving_a_session_moves_its_reminders():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)
    later = session.starts_at + timedelta(days=2)

    scheduling.update_session(
        session=session,
        actor=organizer_of(session.event),
        starts_at=later,
        ends_at=later + timedelta(hours=1),
    )

    assert remind_at(registration) == later - timedelta(hours=24)
    assert reminders.queue_due(now=later - timedelta(days=2, hours=23)) == 0


def test_a_reminder_sent_for_the_old_time_is_sent_again_for_the_new_time():
    """What the code does, and a sensible choice: the first reminder named a time that no
    longer holds, so the attendee is reminded of the new one (a new outbox key per start)."""
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)
    old = session.starts_at
    reminders.queue_due(now=old - timedelta(hours=23))
    later = old + timedelta(days=3)

    scheduling.update_session(
        session=session,
        actor=organizer_of(session.event),
        starts_at=later,
        ends_at=later + timedelta(hours=1),
    )
    reminders.queue_due(now=later - timedelta(hours=23))
    reminders.queue_due(now=later - timedelta(hours=23))

    rows = Notification.objects.filter(kind=Kind.REMINDER).order_by("pk")
    assert [r.payload["hours"] for r in rows] == [24, 24]
    assert [r.key.rsplit(":", 1)[1] for r in rows] == [
        f"24h-{old:%Y%m%dT%H%MZ}",
        f"24h-{later:%Y%m%dT%H%MZ}",
    ]
    assert remind_at(registration) == later - timedelta(hours=1)


def test_moving_a_session_a_little_earlier_skips_a_reminder_time_already_past():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)
    earlier = timezone.now() + timedelta(hours=5)

    scheduling.update_session(
        session=session,
        actor=organizer_of(session.event),
        starts_at=earlier,
        ends_at=earlier + timedelta(hours=1),
    )

    assert remind_at(registration) == earlier - timedelta(hours=1)


def test_changing_the_events_reminder_hours_recomputes_when_reminders_are_due():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)
    event = session.event

    scheduling.update_event(event=event, actor=organizer_of(event), reminder_hours=[48, 2])

    assert remind_at(registration) == session.starts_at - timedelta(hours=48)
    reminders.queue_due(now=session.starts_at - timedelta(hours=47))
    reminders.queue_due(now=session.starts_at - timedelta(minutes=119))
    assert reminder_hours() == [48, 2]


def test_an_event_without_reminders_sends_none():
    session = SessionFactory()
    registration = register(user=UserFactory(), session=session)

    scheduling.update_event(
        event=session.event, actor=organizer_of(session.event), reminder_hours=[]
    )

    assert remind_at(registration) is None


def test_the_reminder_email_says_when_and_where(smtp):
    session = SessionFactory(location="Room 3, Example HQ")
    user = UserFactory()
    register(user=user, session=session)
    deliver_pending()
    reminders.queue_due(now=session.starts_at - timedelta(hours=23))
    reminders.queue_due(now=session.starts_at - timedelta(minutes=59))

    deliver_pending()

    _, day, hour = smtp.to(user.email)
    assert day["Subject"].endswith("in 24 hours")
    assert hour["Subject"].endswith("in an hour")
    text, _ = bodies(hour)
    assert "your session starts in about an hour" in text
    assert "Where: Room 3, Example HQ" in text


def test_a_late_sweep_does_not_send_a_24h_reminder_30_minutes_before_the_start():
    session = SessionFactory()
    register(user=UserFactory(), session=session)

    # The beat was down for a day: the first sweep after it runs half an hour before the start.
    reminders.queue_due(now=session.starts_at - timedelta(minutes=30))

    assert 24 not in reminder_hours()


def test_a_reminder_still_unsent_when_the_session_moves_is_skipped(smtp):
    session = SessionFactory()
    register(user=UserFactory(), session=session)
    deliver_pending()
    reminders.queue_due(now=session.starts_at - timedelta(hours=23))
    later = session.starts_at + timedelta(days=3)
    scheduling.update_session(
        session=session,
        actor=organizer_of(session.event),
        starts_at=later,
        ends_at=later + timedelta(hours=1),
    )  # the reminder is still in the outbox (say the SMTP server was refusing mail)

    deliver_pending()

    reminder = Notification.objects.get(kind=Kind.REMINDER)
    assert reminder.status == Notification.Status.SKIPPED
