"""Cancelling a session in bulk (services.scheduling.cancel_session): a fixed number of queries
whatever the number of people, and the same rows as cancelling them one by one."""

from collections import Counter
from datetime import timedelta
from itertools import cycle, islice

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from events.models import Invitation, Notification, Registration, RegistrationChange, Session
from events.services import surveys
from events.services.scheduling import cancel_event, cancel_session
from events.services.transitions import transition
from tests.factories import SessionFactory, organizer_of
from tests.query_shape import insert_batches, shape

pytestmark = pytest.mark.django_db

Status = Registration.Status
Kind = Notification.Kind

# (status, calendar SEQUENCE last sent, or None when never sent an invite). The session is at
# SEQUENCE 2 and goes to 3: some were sent an older one, some a newer one (after signing up
# again), some none.
STATES = [
    (Status.CONFIRMED, 0),
    (Status.CONFIRMED, 5),
    (Status.OFFERED, None),
    (Status.WAITLISTED, None),
    (Status.APPLIED, None),
    (Status.CANCELLED, 0),
    (Status.OFFERED, 1),
    (Status.WAITLISTED, 2),
    (Status.EXPIRED, None),
]


def populated(count: int) -> Session:
    """A session at SEQUENCE 2 with `count` people in every state (built in bulk: the point is
    the service's queries, not the factories'), two seats held by pending invitations, one
    pending invitation without a seat and one already answered."""
    session = SessionFactory(capacity=count + 2, sequence=2)
    tag = f"s{session.pk}"
    users = User.objects.bulk_create(
        User(email=f"person{n}-{tag}@example.com", display_name=f"Person {n}") for n in range(count)
    )
    now = timezone.now()
    soon = session.starts_at - timedelta(hours=1)
    registrations = Registration.objects.bulk_create(
        Registration(
            session=session,
            user=user,
            status=status,
            calendar_sequence=sequence,
            checkin_token=f"{tag}-{n}",
            confirmed_at=now if status == Status.CONFIRMED else None,
            remind_at=soon if status == Status.CONFIRMED else None,
            offered_at=now if status == Status.OFFERED else None,
            offer_expires_at=soon if status == Status.OFFERED else None,
            waitlisted_at=now if status == Status.WAITLISTED else None,
            cancelled_at=now if status == Status.CANCELLED else None,
        )
        for n, (user, (status, sequence)) in enumerate(zip(users, cycle(STATES), strict=False))
    )
    event = session.event
    Invitation.objects.bulk_create(
        [
            Invitation(event=event, session=session, email=f"held{n}-{tag}@example.com",
                       holds_seat=True, seat_held=True, expires_at=soon, remind_at=now)
            for n in range(2)
        ]
        + [
            Invitation(event=event, session=session, email=f"open-{tag}@example.com",
                       expires_at=soon, remind_at=now),
            Invitation(event=event, session=session, email=f"answered-{tag}@example.com",
                       status=Invitation.Status.ACCEPTED, expires_at=soon),
        ]
    )  # fmt: skip
    seated = sum(r.status in Registration.SEATED for r in registrations)
    Session.objects.filter(pk=session.pk).update(seats_taken=seated + 2)
    return session


def cancel_one_by_one(*, session: Session, actor) -> Session:
    """What cancel_session did before it was bulk (each registration through transition()),
    kept as the reference the bulk path must match."""
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session.pk)
        Session.objects.filter(pk=session.pk).update(
            status=Session.Status.CANCELLED, sequence=session.sequence + 1, seats_taken=0
        )
        Invitation.objects.filter(session=session, status=Invitation.Status.PENDING).update(
            status=Invitation.Status.REVOKED, seat_held=False, remind_at=None
        )
        session.status, session.sequence, session.seats_taken = (
            Session.Status.CANCELLED,
            session.sequence + 1,
            0,
        )
        for registration in session.registrations.filter(
            status__in=Registration.ACTIVE
        ).select_related("user"):
            transition(
                registration,
                Status.CANCELLED,
                allowed_from=Registration.ACTIVE,
                actor=actor,
                note="The session was cancelled",
                notify=Kind.SESSION_CANCELLED,
                cancelled_at=timezone.now(),
                offer_expires_at=None,
            )
        surveys.session_changed(session)
    return session


def outcome(session: Session) -> dict:
    """Everything the cancellation wrote, with ids and times reduced to what they mean, so
    two sessions cancelled by different paths can be compared."""
    session.refresh_from_db()
    people = {}
    for r in session.registrations.order_by("pk").select_related("user"):
        changes = list(r.changes.order_by("pk"))
        outbox = []
        for n in Notification.objects.filter(registration=r).order_by("pk"):
            # The key: kind, registration, person, and the history row that owed it.
            assert n.key == f"{n.kind}:reg{r.pk}:user{r.user_id}:{changes[-1].pk}"
            assert (n.recipient_id, n.email, n.session_id) == (r.user_id, r.user.email, session.pk)
            outbox.append((n.kind, n.payload, n.status))
        people[r.user.display_name] = {
            "status": r.status,
            "cancelled": r.cancelled_at is not None,
            "offer_expires_at": r.offer_expires_at,
            "remind_at": r.remind_at,
            "calendar_sequence": r.calendar_sequence,
            "history": [(c.from_status, c.to_status, c.actor_id, c.note) for c in changes],
            "outbox": outbox,
        }
    invitations = Counter(
        (i.email.split("-")[0], i.status, i.seat_held, i.remind_at is None)
        for i in session.invitations.all()
    )
    return {
        "session": (session.status, session.sequence, session.seats_taken),
        "people": people,
        "invitations": invitations,
        "history rows": RegistrationChange.objects.filter(registration__session=session).count(),
        "outbox rows": Notification.objects.filter(session=session).count(),
    }


def test_bulk_cancelling_writes_what_cancelling_one_by_one_wrote():
    reference, bulk = populated(27), populated(27)

    cancel_one_by_one(session=reference, actor=organizer_of(reference.event))
    cancel_session(session=bulk, actor=organizer_of(reference.event))

    expected = outcome(reference)
    assert outcome(bulk) == expected
    # What that is, spelled out for a few people.
    people = expected["people"]
    assert expected["session"] == (Session.Status.CANCELLED, 3, 0)
    assert people["Person 0"]["calendar_sequence"] == 3  # the session's, above the last one
    assert people["Person 0"]["outbox"] == [
        (Kind.SESSION_CANCELLED, {"calendar": "CANCEL", "sequence": 3}, "pending")
    ]
    assert people["Person 1"]["outbox"][0][1] == {"calendar": "CANCEL", "sequence": 6}
    for name in ("Person 2", "Person 3", "Person 4"):  # offered, waitlisted, applied
        assert people[name]["outbox"] == [(Kind.SESSION_CANCELLED, {}, "pending")]
        assert people[name]["calendar_sequence"] is None
    assert people["Person 5"]["outbox"] == []  # had cancelled already
    assert people["Person 8"]["outbox"] == []  # offer had expired
    assert people["Person 2"]["history"][-1][:2] == (Status.OFFERED, Status.CANCELLED)
    assert all(p["status"] in {Status.CANCELLED, Status.EXPIRED} for p in people.values())
    assert all(p["remind_at"] is None and p["offer_expires_at"] is None for p in people.values())
    assert expected["invitations"] == Counter(
        {
            ("held0", "revoked", False, True): 1,
            ("held1", "revoked", False, True): 1,
            ("open", "revoked", False, True): 1,
            ("answered", "accepted", False, True): 1,
        }
    )
    assert expected["outbox rows"] == 21  # the active ones: 7 of every 9 states


def cancel_counting(session: Session) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        cancel_session(session=session, actor=organizer_of(session.event))
    return [q["sql"] for q in ctx.captured_queries]


def test_cancelling_a_session_of_two_hundred_takes_as_many_queries_as_five():
    small, big = populated(5), populated(200)
    active = sum(s in Registration.ACTIVE for s, _ in islice(cycle(STATES), 200))

    few, many = cancel_counting(small), cancel_counting(big)

    assert Notification.objects.filter(session=big).count() == active
    assert len(few) < 15
    few_shape, many_shape = shape(few), shape(many)
    for model in (RegistrationChange, Notification):
        [statement] = [
            s for s in many_shape if s.startswith(f'INSERT INTO "{model._meta.db_table}"')
        ]
        assert many_shape.pop(statement) == insert_batches(model, active)
        assert few_shape.pop(statement) == 1
    # Everything else (locking, the session, the invitations, reading and closing the
    # registrations, the survey) is one query whatever the number of people.
    assert many_shape == few_shape
    if connection.vendor == "postgresql":
        assert len(many) == len(few)


def event_of_two_sessions(count: int) -> Session:
    first, second = populated(count), populated(count)
    Session.objects.filter(pk=second.pk).update(event=first.event)
    return first.event


def test_cancelling_an_event_of_two_hundred_per_session_takes_as_many_queries_as_five():
    small, big = event_of_two_sessions(5), event_of_two_sessions(200)

    with CaptureQueriesContext(connection) as few:
        cancel_event(event=small, actor=organizer_of(small))
    with CaptureQueriesContext(connection) as many:
        cancel_event(event=big, actor=organizer_of(big))

    assert Notification.objects.filter(session__event=big).count() == 2 * 156
    assert not Registration.objects.filter(session__event=big, status__in=Registration.ACTIVE)
    if connection.vendor == "postgresql":
        # (One of them per session: the team's webhook endpoints, for "session.cancelled".)
        assert len(many) == len(few) < 32
