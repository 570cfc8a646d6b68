"""Staff create teams in the admin (TEAM_CREATION "staff"): saving goes through the service,
so the owner gets their membership and the history says who made the team."""

import pytest
from django.urls import reverse

from events.models import Membership, Team, TeamHistory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_staff_create_a_team_with_its_first_owner_in_the_admin(client_for):
    staff = UserFactory(is_staff=True, is_superuser=True)
    lead = UserFactory(email="lead@example.com")
    response = client_for(staff).post(
        reverse("admin:events_team_add"),
        {
            "name": "Launch Crew",
            "slug": "launch-crew",
            "timezone": "Europe/Paris",
            "language": "en",
            "owner": lead.pk,
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "history-TOTAL_FORMS": "0",
            "history-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(slug="launch-crew")
    assert Membership.objects.get(team=team).user == lead
    assert TeamHistory.objects.filter(team=team, actor=staff, action="created").exists()


def test_the_admin_shows_a_team_with_its_members_read_only(client_for):
    staff = UserFactory(is_staff=True, is_superuser=True)
    team = TeamFactory(owner=UserFactory(email="owner@example.com"))
    response = client_for(staff).get(reverse("admin:events_team_change", args=[team.pk]))
    assert response.status_code == 200
    assert "owner@example.com" in response.content.decode()
