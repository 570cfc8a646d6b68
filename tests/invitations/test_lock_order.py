"""Invitations take the session's row before their own, as registrations do: an invitee
giving back a held seat (invitation, then the session's counter, before the fix) while the
organizer cancels the session (session, then its pending invitations) deadlocked."""

import pytest

from events.models import Invitation
from events.services import invitations as service
from events.services.scheduling import cancel_session
from tests import harness
from tests.factories import EventFactory, OrganizerFactory, SessionFactory

from .helpers import invite

ROUNDS, INVITEES = 3, 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_invitees_declining_while_the_organizer_cancels_never_deadlock_on_postgres():
    for round_number in range(ROUNDS):
        organizer = OrganizerFactory()
        event = EventFactory(organizer=organizer, registration_mode="invitation")
        session = SessionFactory(event=event, capacity=INVITEES)
        emails = [f"guest{n}.round{round_number}@example.com" for n in range(INVITEES)]
        invitations = invite(session, *emails, holds_seat=True)
        session.refresh_from_db()
        assert session.seats_taken == INVITEES

        def act(actor, session_id: int, session=session, organizer=organizer):
            if actor is organizer:
                cancel_session(session=session, actor=organizer)
                return "session cancelled"
            return service.decline(invitation=Invitation(pk=actor.pk)).status

        outcomes = harness.rush(act, [organizer, *invitations], session.pk)

        assert not [o for o in outcomes if o.startswith("error")], outcomes
        session.refresh_from_db()
        assert session.is_cancelled and session.seats_taken == 0
        statuses = set(Invitation.objects.filter(session=session).values_list("status", flat=True))
        assert statuses <= {Invitation.Status.DECLINED, Invitation.Status.REVOKED}, statuses
        assert not Invitation.objects.filter(session=session, seat_held=True).exists()
