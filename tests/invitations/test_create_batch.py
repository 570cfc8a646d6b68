"""Creating a batch (services.invitations.create_batch): in bulk, with a bounded number of
queries; held seats taken all at once or not at all; one outbox row per invitee, handed to the
workers only when the batch commits."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.invite_parsing import Row
from events.models import Invitation, Notification, Session
from events.services import ServiceError
from events.services import invitations as service
from tests.factories import EventFactory, SessionFactory, UserFactory, organizer_of
from tests.invitations.helpers import fresh, invite, invite_one, rows
from tests.query_shape import insert_batches, shape

pytestmark = pytest.mark.django_db


def many(count: int) -> list[Row]:
    # Built in memory: the point is the service's query count, not the factories'.
    return [Row(line=n, email=f"person{n}@example.com", name=f"P {n}") for n in range(count)]


def create_counting(session: Session, count: int, **options) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        created = service.create_batch(
            event=session.event,
            session=session,
            rows=many(count),
            actor=organizer_of(session.event),
            **options,
        )
    assert len(created) == count
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("holds_seat", [False, True], ids=["no-seats", "holding-seats"])
def test_creating_five_thousand_invitations_takes_as_many_queries_as_fifty(holds_seat):
    small = create_counting(SessionFactory(capacity=5000), 50, holds_seat=holds_seat)
    big = create_counting(SessionFactory(capacity=5000), 5000, holds_seat=holds_seat)

    assert len(small) < 20
    inserts = {
        'INSERT INTO "events_invitation"': insert_batches(Invitation, 5000),
        'INSERT INTO "events_notification"': insert_batches(Notification, 5000),
    }
    prefix_models = {
        'INSERT INTO "events_invitation"': Invitation,
        'INSERT INTO "events_notification"': Notification,
    }
    big_shape, small_shape = shape(big), shape(small)
    for prefix, batches in inserts.items():
        [statement] = [s for s in big_shape if s.startswith(prefix)]
        assert big_shape.pop(statement) == batches
        assert small_shape.pop(statement) == insert_batches(prefix_models[prefix], 50)
    # Everything else (locking the session, the preview, taking seats, looking up accounts)
    # is one query whatever the size of the list.
    assert big_shape == small_shape
    if connection.vendor == "postgresql":
        assert len(big) == len(small) < 20


def test_five_thousand_invitations_each_get_their_own_outbox_row(event):
    session = SessionFactory(event=event, capacity=5000)

    create_counting(session, 5000)

    assert Invitation.objects.count() == 5000
    assert Notification.objects.filter(kind="invitation").count() == 5000
    assert Notification.objects.values("invitation").distinct().count() == 5000


def test_holding_seats_takes_one_seat_per_invitee(session):
    created = invite(session, "a@example.com", "b@example.com", "c@example.com", holds_seat=True)

    assert fresh(session).seats_taken == 3
    assert all(i.holds_seat and i.seat_held for i in Invitation.objects.all())
    assert len(created) == 3


def test_holding_more_seats_than_are_free_is_refused_and_nothing_is_created(event):
    session = SessionFactory(event=event, capacity=4)
    invite(session, "held@example.com", holds_seat=True)

    with pytest.raises(ServiceError) as error:
        invite(
            session,
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            holds_seat=True,
        )

    assert error.value.message == (
        "Only 3 seats are free: hold seats for at most 3 invitations, "
        "or send these without holding seats."
    )
    assert fresh(session).seats_taken == 1
    assert list(Invitation.objects.values_list("email", flat=True)) == ["held@example.com"]
    assert Notification.objects.count() == 1


def test_exactly_as_many_held_seats_as_are_free_fills_the_session(event):
    session = SessionFactory(event=event, capacity=3)

    invite(session, "a@example.com", "b@example.com", "c@example.com", holds_seat=True)

    assert fresh(session).seats_taken == 3


def test_without_holding_seats_a_full_session_can_still_be_invited_to(event):
    session = SessionFactory(event=event, capacity=1)
    invite(session, "held@example.com", holds_seat=True)

    created = invite(session, "a@example.com", "b@example.com")

    assert len(created) == 2
    assert fresh(session).seats_taken == 1
    assert not any(i.seat_held for i in created)


def test_only_invitations_to_one_session_can_hold_a_seat(event, session):
    with pytest.raises(ServiceError, match="Only invitations to one session can hold a seat"):
        invite(None, "a@example.com", event=event, holds_seat=True)

    assert not Invitation.objects.exists()


def test_each_invitee_is_owed_one_invitation_email(session):
    known = UserFactory(email="known@example.com")

    invite(session, "known@example.com", "new@example.com")

    owed = {n.email: n for n in Notification.objects.all()}
    assert set(owed) == {"known@example.com", "new@example.com"}
    for email, notification in owed.items():
        invitation = Invitation.objects.get(email=email)
        assert notification.kind == "invitation"
        assert notification.invitation == invitation
        assert notification.session == session
        assert notification.payload == {"nonce": invitation.nonce}
        assert notification.status == Notification.Status.PENDING
    assert owed["known@example.com"].recipient == known
    assert owed["new@example.com"].recipient is None


def test_the_emails_are_handed_to_the_workers_only_when_the_batch_commits(
    session, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invite(session, "a@example.com", "b@example.com")
        assert enqueued == []

    assert len(callbacks) == 1
    assert sorted(enqueued) == sorted(Notification.objects.values_list("pk", flat=True))


def test_a_refused_batch_hands_nothing_to_the_workers(
    event, enqueued, django_capture_on_commit_callbacks
):
    session = SessionFactory(event=event, capacity=1)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ServiceError):
        invite(session, "a@example.com", "b@example.com", holds_seat=True)

    assert enqueued == []


def test_an_invitation_expires_after_seven_days_by_default(event):
    session = SessionFactory(
        event=event,
        starts_at=timezone.now() + timedelta(days=30),
        ends_at=timezone.now() + timedelta(days=30, hours=1),
    )
    before = timezone.now()

    invitation = invite_one(session)

    assert before + timedelta(days=7) <= invitation.expires_at <= timezone.now() + timedelta(days=7)
    assert invitation.remind_at == invitation.expires_at - timedelta(hours=48)


def test_an_invitation_never_outlives_its_session_start(event):
    starts = timezone.now() + timedelta(days=3)
    session = SessionFactory(event=event, starts_at=starts, ends_at=starts + timedelta(hours=1))

    invitation = invite_one(session, expires_in_days=30)

    assert invitation.expires_at == starts


def test_an_expiry_too_close_for_a_reminder_gets_none(event):
    session = SessionFactory(event=event)
    event.invitation_reminder_hours = 48
    event.save()

    invitation = invite_one(session, expires_in_days=1)

    assert invitation.remind_at is None


@pytest.mark.parametrize("days", [0, 91, -1])
def test_an_expiry_outside_one_to_ninety_days_is_refused(session, days):
    with pytest.raises(ServiceError, match="Invitations expire after 1 to 90 days"):
        invite_one(session, expires_in_days=days)

    assert not Invitation.objects.exists()


def test_a_batch_of_people_who_are_all_already_invited_is_refused(session):
    invite(session, "a@example.com")

    with pytest.raises(ServiceError, match="Nobody in this list can be invited"):
        invite(session, "a@example.com")

    assert Invitation.objects.count() == 1


def test_duplicates_in_a_batch_are_invited_once(session):
    created = invite(session, "a@example.com", "a@example.com", "b@example.com")

    assert sorted(i.email for i in created) == ["a@example.com", "b@example.com"]
    assert Notification.objects.count() == 2


def test_a_cancelled_event_or_session_cannot_be_invited_to():
    cancelled_event = EventFactory(status="cancelled")
    with pytest.raises(ServiceError, match="This event is cancelled"):
        invite(SessionFactory(event=cancelled_event), "a@example.com")

    with pytest.raises(ServiceError, match="cancelled or has started"):
        invite(SessionFactory(status="cancelled"), "a@example.com")

    started = SessionFactory(
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(minutes=55),
    )
    with pytest.raises(ServiceError, match="cancelled or has started"):
        invite(started, "a@example.com")

    assert not Invitation.objects.exists()


def test_a_session_of_another_event_cannot_be_invited_to(event):
    foreign = SessionFactory()

    with pytest.raises(Session.DoesNotExist):
        service.create_batch(event=event, session=foreign, rows=rows("a@example.com"), actor=None)

    assert not Invitation.objects.exists()


def test_the_batch_keeps_names_notes_and_options(event, session, owner):
    service.create_batch(
        event=event,
        session=session,
        rows=[Row(1, "ann@example.com", "Ann Smith", "met at PyCon")],
        actor=owner,
        message="Bring your laptop.",
        allow_any_account=True,
        expires_in_days=10,
    )

    invitation = Invitation.objects.get()
    assert (invitation.name, invitation.note, invitation.message) == (
        "Ann Smith",
        "met at PyCon",
        "Bring your laptop.",
    )
    assert invitation.allow_any_account is True
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.created_by == owner
    assert (invitation.sent_at, invitation.responded_at, invitation.registration) == (
        None,
        None,
        None,
    )
