"""events/permissions.py: today's rule, action by action, so that team roles (a later issue)
start from a table that says what every person may do now. tests/test_access_table.py checks
the same rule through every URL."""

import pytest

from events import permissions
from events.models import Event
from tests.factories import EventFactory, OrganizerFactory, UserFactory

pytestmark = pytest.mark.django_db

OBJECT_ACTIONS = sorted(permissions.ACTIONS - permissions.FLAG_ACTIONS - {"manage.open"})


def test_an_events_organizers_and_staff_may_take_every_action_on_it_and_others_none():
    owner = OrganizerFactory()
    event = EventFactory(organizer=owner)
    co_organizer = UserFactory()  # added to the event, without the organizer flag
    event.organizers.add(co_organizer)
    staff = UserFactory(is_staff=True)
    other_organizer, attendee = OrganizerFactory(), UserFactory()

    for action in OBJECT_ACTIONS:
        assert permissions.may(owner, action, event), action
        assert permissions.may(co_organizer, action, event), action
        assert permissions.may(staff, action, event), action
        assert not permissions.may(other_organizer, action, event), action
        assert not permissions.may(attendee, action, event), action
        assert list(permissions.permitted(other_organizer, Event.objects.all(), action)) == []


def test_starting_events_and_calls_and_publishing_a_call_take_the_organizer_flag():
    event = EventFactory()
    co_organizer = UserFactory()
    event.organizers.add(co_organizer)

    for action in permissions.FLAG_ACTIONS:
        assert permissions.may(OrganizerFactory(), action)
        assert permissions.may(UserFactory(is_staff=True), action)
        assert not permissions.may(co_organizer, action)
    # ...but the co-organizer still opens the organizer pages, and a plain user does not.
    assert permissions.may(co_organizer, "manage.open")
    assert not permissions.may(UserFactory(), "manage.open")


def test_a_misspelt_action_is_an_error_rather_than_a_silent_answer():
    with pytest.raises(ValueError, match="Unknown action"):
        permissions.may(UserFactory(is_staff=True), "event.edti", EventFactory())
