"""Members and roles: a team always keeps an owner, whatever order (or moment) the changes
come in; every change is in the history, with who made it."""

import threading

import pytest
from django.db import connection

from events.models import Membership, Team, TeamHistory
from events.services import ServiceError, teams
from tests.factories import EventFactory, TeamFactory, UserFactory, add_to_team

History = TeamHistory.Action


def state(team):
    return (
        sorted(Membership.objects.filter(team=team).values_list("user__email", "role")),
        TeamHistory.objects.filter(team=team).count(),
    )


@pytest.mark.django_db
def test_the_last_owner_cannot_be_demoted_and_nothing_changes():
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    add_to_team(team, UserFactory(), role="organizer")
    membership = Membership.objects.get(team=team, user=owner)
    before = state(team)
    with pytest.raises(ServiceError, match="at least one owner"):
        teams.change_role(team=team, actor=owner, membership=membership, role="organizer")
    assert state(team) == before


@pytest.mark.django_db
def test_the_last_owner_cannot_be_removed_nor_leave():
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    membership = Membership.objects.get(team=team, user=owner)
    before = state(team)
    with pytest.raises(ServiceError, match="at least one owner"):
        teams.remove_member(team=team, actor=owner, membership=membership)
    assert state(team) == before


@pytest.mark.django_db
def test_an_owner_changes_a_role_and_the_history_says_who_from_what_to_what():
    owner, sam = UserFactory(), UserFactory(email="sam@example.com")
    team = TeamFactory(owner=owner)
    membership = add_to_team(team, sam, role="reviewer")
    teams.change_role(team=team, actor=owner, membership=membership, role="door")
    assert Membership.objects.get(pk=membership.pk).role == "door"
    entry = TeamHistory.objects.get(team=team, action=History.ROLE_CHANGED)
    assert (entry.actor, entry.subject_email, entry.previous_role, entry.role) == (
        owner,
        "sam@example.com",
        "reviewer",
        "door",
    )


@pytest.mark.django_db
def test_an_unknown_role_is_refused():
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    membership = add_to_team(team, UserFactory(), role="reviewer")
    with pytest.raises(ServiceError, match="Choose one of the roles"):
        teams.change_role(team=team, actor=owner, membership=membership, role="boss")
    assert Membership.objects.get(pk=membership.pk).role == "reviewer"


@pytest.mark.django_db
def test_a_member_leaves_and_the_history_says_they_left():
    owner, sam = UserFactory(), UserFactory(email="sam@example.com")
    team = TeamFactory(owner=owner)
    membership = add_to_team(team, sam, role="door")
    teams.remove_member(team=team, actor=sam, membership=membership)
    assert not Membership.objects.filter(team=team, user=sam).exists()
    assert TeamHistory.objects.get(team=team, action=History.LEFT).subject_email == (
        "sam@example.com"
    )


@pytest.mark.django_db
def test_a_team_with_events_cannot_be_deleted_and_an_empty_one_can():
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    EventFactory(team=team)
    with pytest.raises(ServiceError, match="still has events"):
        teams.delete_team(team=team, actor=owner)
    assert Team.objects.filter(pk=team.pk).exists()
    empty = TeamFactory(owner=owner)
    teams.delete_team(team=empty, actor=owner)
    assert not Team.objects.filter(pk=empty.pk).exists()


@pytest.mark.django_db
def test_creating_a_team_makes_the_creator_owner_and_refuses_a_taken_short_name():
    ann = UserFactory()
    team = teams.create_team(actor=ann, name="Launch Crew", timezone="Europe/Paris")
    assert team.slug == "launch-crew"
    assert Membership.objects.get(team=team).user == ann
    with pytest.raises(ServiceError, match="short name launch-crew is taken"):
        teams.create_team(actor=UserFactory(), name="Launch crew")
    assert Team.objects.filter(slug="launch-crew").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "staff", "verified", "allowed"),
    [
        ("open", False, True, True),
        ("open", False, False, False),
        ("staff", False, True, False),
        ("staff", True, True, True),
    ],
)
def test_who_may_create_a_team_follows_team_creation(settings, setting, staff, verified, allowed):
    settings.TEAM_CREATION = setting
    user = UserFactory(is_staff=staff, verified=verified)
    assert teams.may_create_team(user) is allowed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_exactly_one_owner():
    pairs = []
    for _ in range(10):
        first, second = UserFactory(), UserFactory()
        team = TeamFactory(owner=first)
        add_to_team(team, second, role="owner")
        one = Membership.objects.get(team=team, user=first)
        two = Membership.objects.get(team=team, user=second)
        pairs += [(team, first, two), (team, second, one)]
    barrier = threading.Barrier(len(pairs))
    outcomes: list[str] = []

    def demote(team, actor, membership) -> None:
        try:
            barrier.wait()
            teams.change_role(team=team, actor=actor, membership=membership, role="organizer")
            outcomes.append("done")
        except ServiceError as refusal:
            outcomes.append(refusal.message)  # the second: the first went before it
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    owners = [Membership.objects.filter(team=team, role="owner").count() for team, *_ in pairs[::2]]
    assert owners == [1] * 10
    assert sorted(set(outcomes)) == [
        "A team needs at least one owner: make someone else owner first.",
        "done",
    ]
    assert outcomes.count("done") == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clicks_on_one_join_link_at_once_add_one_membership():
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    dana = UserFactory(email="dana@example.com")
    invitation = teams.invite_member(team=team, actor=owner, email=dana.email, role="door")
    token = teams.join_token(invitation)
    clicks = 8
    barrier = threading.Barrier(clicks)
    outcomes: list[str] = []

    def click() -> None:
        try:
            barrier.wait()
            teams.accept_invitation(token=token, user=dana)
            outcomes.append("joined")
        except ServiceError as refusal:
            outcomes.append(refusal.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes.count("joined") == 1
    assert len(outcomes) == clicks
    assert Membership.objects.filter(team=team, user=dana).count() == 1
    assert TeamHistory.objects.filter(team=team, action=History.JOINED).count() == 1
