"""One lock order everywhere: the session row, then the registration. An organizer cancelling
a session (session, then its registrations) while its attendees cancel their own places
(registration, then the session, before the fix) deadlocked on PostgreSQL."""

from collections import Counter

import pytest

from events.models import Registration, RegistrationChange
from events.services.registration import cancel, register
from events.services.scheduling import cancel_session
from tests import harness
from tests.factories import OrganizerFactory, SessionFactory, UserFactory, add_to_team

ROUNDS, ATTENDEES = 3, 12

Status = Registration.Status


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_organizer_and_attendees_cancelling_at_once_never_deadlock_on_postgres():
    for _ in range(ROUNDS):
        session = SessionFactory(capacity=ATTENDEES)
        organizer = OrganizerFactory()
        add_to_team(session.event.team, organizer)
        attendees = [UserFactory() for _ in range(ATTENDEES)]
        places = {u.pk: register(user=u, session=session).pk for u in attendees}

        def act(actor, session_id: int, organizer=organizer, session=session, places=places):
            if actor is organizer:
                cancel_session(session=session, actor=organizer)
                return "session cancelled"
            registration = Registration(pk=places[actor.pk])
            return cancel(registration=registration, actor=actor).status

        outcomes = harness.rush(act, [organizer, *attendees], session.pk)

        assert not [o for o in outcomes if o.startswith("error")], outcomes
        assert outcomes[0] == "session cancelled", outcomes
        assert set(outcomes[1:]) <= {"cancelled", "refused: This registration is already closed."}
        session.refresh_from_db()
        assert session.is_cancelled
        assert session.seats_taken == 0
        registrations = Registration.objects.filter(session=session)
        assert Counter(registrations.values_list("status", flat=True)) == {
            Status.CANCELLED: ATTENDEES
        }
        changes = RegistrationChange.objects.filter(registration__session=session)
        # One creation and one cancellation per person: nobody was closed twice.
        assert Counter(changes.values_list("to_status", flat=True)) == {
            Status.CONFIRMED: ATTENDEES,
            Status.CANCELLED: ATTENDEES,
        }
        assert (
            changes.filter(to_status=Status.CANCELLED).values("registration").distinct().count()
            == ATTENDEES
        )
