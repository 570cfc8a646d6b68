"""events/permissions.py: what each role in a team may do, action by action.
tests/test_access_table.py checks the same rule through every URL."""

import pytest

from events import permissions
from events.models import Event, Role, Session
from events.services import teams
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    add_to_team,
)

pytestmark = pytest.mark.django_db

TEAM_ACTIONS = {"event.create", "call.create", "team.manage", "manage.open"}
OBJECT_ACTIONS = sorted(permissions.ACTIONS - TEAM_ACTIONS)


@pytest.fixture
def world():
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    people = {role: UserFactory() for role in (Role.ORGANIZER, Role.REVIEWER, Role.DOOR)}
    for role, person in people.items():
        add_to_team(team, person, role=role)
    event = EventFactory(team=team)
    return team, owner, people, event


def test_owners_and_organizers_may_run_the_teams_events_and_outsiders_nothing(world):
    _team, owner, people, event = world
    staff = UserFactory(is_staff=True)
    other_team_owner, attendee = OrganizerFactory(), UserFactory()
    for action in OBJECT_ACTIONS:
        assert permissions.may(owner, action, event), action
        assert permissions.may(staff, action, event), action
        assert not permissions.may(other_team_owner, action, event), action
        assert not permissions.may(attendee, action, event), action
        assert list(permissions.permitted(other_team_owner, Event.objects.all(), action)) == []
    for action in ("event.view", "event.edit", "invitation.send", "survey.results"):
        assert permissions.may(people[Role.ORGANIZER], action, event), action


def test_door_staff_may_check_people_in_and_nothing_else(world):
    team, _owner, people, event = world
    door = people[Role.DOOR]
    session = SessionFactory(event=event)
    assert permissions.may(door, "attendance.check_in", session)
    assert permissions.may(door, "manage.open")
    for action in sorted(permissions.ACTIONS - {"attendance.check_in", "manage.open"}):
        assert not permissions.may(door, action, event), action
        assert not permissions.may(door, action, team), action
    assert list(permissions.permitted(door, Session.objects.all(), "event.view")) == []


def test_reviewers_read_and_score_the_pool_and_export_only_when_the_owner_allows(world):
    team, owner, people, event = world
    reviewer = people[Role.REVIEWER]
    from tests.factories import OpenCallFactory

    call = OpenCallFactory(organizer=owner, team=team)
    assert permissions.may(reviewer, "call.view", call)
    assert permissions.may(reviewer, "call.review", call)
    assert not permissions.may(reviewer, "call.edit", call)
    assert not permissions.may(reviewer, "call.export", call)
    assert not permissions.may(reviewer, "invitation.send", event)
    assert not permissions.may(reviewer, "event.view", event)
    teams.update_team(team=team, actor=owner, reviewers_may_export=True)
    assert permissions.may(reviewer, "call.export", call)
    # The allowance is the team's: a reviewer elsewhere gains nothing from it.
    assert not permissions.may(UserFactory(), "call.export", call)


def test_only_owners_manage_the_team_and_only_owners_and_organizers_start_events(world):
    team, owner, people, _event = world
    assert permissions.may(owner, "team.manage", team)
    assert permissions.may(owner, "event.create", team)
    assert permissions.may(people[Role.ORGANIZER], "event.create", team)
    assert not permissions.may(people[Role.ORGANIZER], "team.manage", team)
    for role in (Role.REVIEWER, Role.DOOR):
        assert not permissions.may(people[role], "event.create", team)
        assert not permissions.may(people[role], "call.create", team)
    assert not permissions.may(UserFactory(), "manage.open")


def test_a_removed_member_loses_access_at_once(world):
    team, owner, people, event = world
    organizer = people[Role.ORGANIZER]
    membership = team.memberships.get(user=organizer)
    teams.remove_member(team=team, actor=owner, membership=membership)
    assert not permissions.may(organizer, "event.view", event)
    assert not permissions.may(organizer, "manage.open")


def test_a_misspelt_action_is_an_error_rather_than_a_silent_answer():
    with pytest.raises(ValueError, match="Unknown action"):
        permissions.may(UserFactory(is_staff=True), "event.edti", EventFactory())
