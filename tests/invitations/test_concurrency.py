"""Never overbooked, with invitations in play (invariant 1): held seats count against capacity
while real threads accept invitations and register at the same instant, on PostgreSQL."""

from collections import Counter

import pytest

from events.models import Invitation, Registration, Session
from events.services import invitations as service
from events.services.registration import register
from tests import harness
from tests.factories import EventFactory, SessionFactory, UserFactory, organizer_of
from tests.invitations.helpers import invite, rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Status = Registration.Status


def seated(session: Session) -> int:
    return Registration.objects.filter(session=session, status__in=Registration.SEATED).count()


def held(session: Session) -> int:
    return Invitation.objects.filter(session=session, seat_held=True).count()


def accept_by_email(user, session_id: int) -> str:
    invitation = Invitation.objects.get(session_id=session_id, email=user.email)
    return service.accept(invitation=invitation, user=user).status


def test_invitees_keep_their_held_seats_while_a_crowd_rushes_the_rest():
    event = EventFactory(registration_mode="open")
    session = SessionFactory(event=event, capacity=10)
    invitees = [UserFactory(email=f"invitee{n}@example.com") for n in range(5)]
    invite(session, *[u.email for u in invitees], holds_seat=True)
    crowd = [UserFactory() for _ in range(40)]
    invited = {u.pk for u in invitees}

    def act(user, session_id: int) -> str:
        if user.pk in invited:
            return f"invitee {accept_by_email(user, session_id)}"
        return f"crowd {harness.service_register(user, session_id)}"

    # Interleave, so neither side starts first.
    everyone = [u for pair in zip(crowd[:5], invitees, strict=True) for u in pair] + crowd[5:]
    outcomes = harness.rush(act, everyone, session.pk)

    assert Counter(outcomes) == {
        "invitee confirmed": 5,
        "crowd confirmed": 5,
        "crowd waitlisted": 35,
    }, outcomes
    session.refresh_from_db()
    assert session.seats_taken == 10
    assert seated(session) + held(session) == 10
    assert held(session) == 0
    assert Invitation.objects.filter(status="accepted").count() == 5


def test_the_naive_path_overbooks_held_seats_under_the_same_rush():
    """The negative control: counting confirmed rows and then writing, as a careless accept or
    sign-up would, ignores held seats and races; the harness must see it."""
    event = EventFactory(registration_mode="open")
    session = SessionFactory(event=event, capacity=10)
    invite(session, *[f"invitee{n}@example.com" for n in range(5)], holds_seat=True)
    crowd = [UserFactory() for _ in range(40)]

    harness.rush(harness.naive_register, crowd, session.pk)

    confirmed = Registration.objects.filter(session=session, status=Status.CONFIRMED).count()
    assert confirmed + held(session) > session.capacity


def test_invitees_without_held_seats_share_the_free_seats_and_no_more():
    session = SessionFactory(event__registration_mode="invitation", capacity=3)
    invitees = [UserFactory(email=f"invitee{n}@example.com") for n in range(12)]
    invite(session, *[u.email for u in invitees])

    outcomes = harness.rush(accept_by_email, invitees, session.pk)

    assert Counter(outcomes) == {"confirmed": 3, "waitlisted": 9}, outcomes
    session.refresh_from_db()
    assert session.seats_taken == 3
    assert seated(session) == 3
    assert Invitation.objects.filter(status="accepted").count() == 12


def test_held_seats_and_a_crowd_never_overbook_a_session_with_some_holds_unanswered():
    event = EventFactory(registration_mode="open")
    session = SessionFactory(event=event, capacity=10)
    invitees = [UserFactory(email=f"invitee{n}@example.com") for n in range(4)]
    invite(
        session,
        *[u.email for u in invitees],
        "silent1@example.com",
        "silent2@example.com",
        holds_seat=True,
    )
    crowd = [UserFactory() for _ in range(20)]
    invited = {u.pk for u in invitees}

    def act(user, session_id: int) -> str:
        if user.pk in invited:
            return accept_by_email(user, session_id)
        return harness.service_register(user, session_id)

    outcomes = harness.rush(act, invitees + crowd, session.pk)

    assert Counter(outcomes) == {"confirmed": 8, "waitlisted": 16}, outcomes
    session.refresh_from_db()
    # Two invitations still hold their seats: 8 people seated + 2 held = capacity.
    assert (session.seats_taken, seated(session), held(session)) == (10, 8, 2)


def test_one_invitation_accepted_twice_at_once_seats_its_invitee_once():
    session = SessionFactory(event__registration_mode="invitation", capacity=5)
    ann = UserFactory(email="ann@example.com")
    invite(session, ann.email, holds_seat=True)

    outcomes = harness.rush(accept_by_email, [ann] * 6, session.pk)

    assert outcomes.count("confirmed") == 1, outcomes
    assert all(
        o == "confirmed" or o == "refused: This invitation has already been accepted."
        for o in outcomes
    ), outcomes
    session.refresh_from_db()
    assert session.seats_taken == 1
    assert Registration.objects.filter(user=ann).count() == 1


@pytest.mark.parametrize("rival", ["decline", "revoke", "expire"])
def test_accepting_while_the_invitation_is_closed_elsewhere_leaves_seats_consistent(rival):
    session = SessionFactory(event__registration_mode="invitation", capacity=2)
    organizer = organizer_of(session.event)
    ann = UserFactory(email="ann@example.com")
    [invitation] = invite(session, ann.email, holds_seat=True)

    def act(who, session_id: int) -> str:
        if who == "accept":
            return accept_by_email(ann, session_id)
        fresh = Invitation.objects.get(pk=invitation.pk)
        if who == "decline":
            return service.decline(invitation=fresh).status
        if who == "revoke":
            return service.revoke(invitation=fresh, actor=organizer).status
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=fresh.created_at)
        service.expire_due()
        return "swept"

    outcomes = harness.rush(act, ["accept", rival], session.pk)

    assert not [o for o in outcomes if o.startswith("error")], outcomes
    invitation.refresh_from_db()
    session.refresh_from_db()
    if invitation.status == "accepted":
        assert session.seats_taken == 1
        assert Registration.objects.get(user=ann).status == Status.CONFIRMED
    else:
        assert invitation.status in {"declined", "revoked", "expired"}
        assert session.seats_taken == 0
        assert not Registration.objects.exists()
    assert invitation.seat_held is False


def test_two_batches_holding_seats_at_once_cannot_both_take_the_last_seats():
    session = SessionFactory(event__registration_mode="invitation", capacity=10)
    organizer = organizer_of(session.event)

    def batch(prefix: str, session_id: int) -> str:
        emails = [f"{prefix}{n}@example.com" for n in range(6)]
        created = service.create_batch(
            event=session.event,
            session=Session.objects.get(pk=session_id),
            rows=rows(*emails),
            actor=organizer,
            holds_seat=True,
        )
        return f"created {len(created)}"

    outcomes = harness.rush(batch, ["first", "second"], session.pk)

    assert sorted(outcomes)[0] == "created 6", outcomes
    assert sorted(outcomes)[1].startswith("refused: Only 4 seats are free"), outcomes
    session.refresh_from_db()
    assert session.seats_taken == 6
    assert Invitation.objects.count() == held(session) == 6


def test_a_waitlisted_crowd_gets_the_seats_that_expiring_invitations_give_back():
    event = EventFactory(registration_mode="open")
    session = SessionFactory(event=event, capacity=3)
    invitations = invite(
        session, "a@example.com", "b@example.com", "c@example.com", holds_seat=True
    )
    waiting = [register(user=UserFactory(), session=session) for _ in range(5)]
    assert {r.status for r in waiting} == {Status.WAITLISTED}
    Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
        expires_at=invitations[0].created_at
    )

    # Two sweeps at once (two beat ticks overlapping): each invitation expires once.
    outcomes = harness.rush(lambda _who, _sid: str(service.expire_due()), [1, 2], session.pk)

    assert not [o for o in outcomes if o.startswith("error")], outcomes
    session.refresh_from_db()
    assert session.seats_taken == 3
    assert Counter(
        Registration.objects.filter(session=session).values_list("status", flat=True)
    ) == {Status.OFFERED: 3, Status.WAITLISTED: 2}
    assert set(Invitation.objects.values_list("status", flat=True)) == {"expired"}
