"""The contact rules are team settings: owners change them on the team page; the teams service
refuses a negative or absurd value with a clear message and changes nothing."""

import pytest
from django.urls import reverse

from events.models import Team
from events.services import ServiceError, teams
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

RULES = ("invite_cooldown_days", "attended_cooldown_days", "max_invitations_per_90_days")


def rules(team) -> tuple:
    return tuple(Team.objects.filter(pk=team.pk).values_list(*RULES).get())


def test_a_new_team_starts_with_30_days_60_days_and_3_invitations():
    assert rules(TeamFactory()) == (30, 60, 3)


def test_an_owner_changes_the_rules_on_the_team_page(client_for):
    owner = UserFactory()
    team = TeamFactory(owner=owner)
    client = client_for(owner)
    page = client.get(reverse("manage:team", args=[team.slug])).content.decode()
    assert 'name="settings-invite_cooldown_days"' in page
    assert "Days before someone may be invited again" in page

    response = client.post(
        reverse("manage:team_settings", args=[team.slug]),
        {
            "settings-name": team.name,
            "settings-slug": team.slug,
            "settings-timezone": "UTC",
            "settings-language": "en",
            "settings-invite_cooldown_days": "14",
            "settings-attended_cooldown_days": "0",
            "settings-max_invitations_per_90_days": "5",
        },
    )

    assert response.status_code == 302
    assert rules(team) == (14, 0, 5)


def test_a_negative_rule_on_the_team_page_is_a_400_that_changes_nothing(client_for):
    owner = UserFactory()
    team = TeamFactory(owner=owner)

    response = client_for(owner).post(
        reverse("manage:team_settings", args=[team.slug]),
        {
            "settings-name": team.name,
            "settings-timezone": "UTC",
            "settings-language": "en",
            "settings-invite_cooldown_days": "-1",
        },
    )

    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert rules(team) == (30, 60, 3)


def test_leaving_a_rule_empty_keeps_it(client_for):
    owner = UserFactory()
    team = TeamFactory(owner=owner)

    client_for(owner).post(
        reverse("manage:team_settings", args=[team.slug]),
        {"settings-name": "Renamed", "settings-timezone": "UTC", "settings-language": "en"},
    )

    assert Team.objects.get(pk=team.pk).name == "Renamed"
    assert rules(team) == (30, 60, 3)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("invite_cooldown_days", -1),
        ("attended_cooldown_days", 366),
        ("max_invitations_per_90_days", 101),
        ("max_invitations_per_90_days", "3"),
    ],
)
def test_the_service_refuses_a_rule_out_of_bounds_and_changes_nothing(field, value):
    owner = UserFactory()
    team = TeamFactory(owner=owner)

    with pytest.raises(ServiceError, match="must be a whole number from 0 to"):
        teams.update_team(team=team, actor=owner, **{field: value})

    assert rules(team) == (30, 60, 3)


def test_zero_turns_every_rule_off():
    owner = UserFactory()
    team = TeamFactory(owner=owner)

    teams.update_team(
        team=team,
        actor=owner,
        invite_cooldown_days=0,
        attended_cooldown_days=0,
        max_invitations_per_90_days=0,
    )

    assert rules(team) == (0, 0, 0)
