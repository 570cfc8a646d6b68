from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import PanelAttribute, Team
from events.services import questionnaire
from tests.factories import OpenCallFactory, OrganizerFactory, TeamFactory


@pytest.fixture
def owner():
    return OrganizerFactory()


@pytest.fixture
def team(owner) -> Team:
    return owner.teams.get()


@pytest.fixture
def other_team() -> Team:
    return TeamFactory()


def attribute(team: Team, name: str) -> PanelAttribute:
    """A panel attribute of `team`, mapped from a question of one of its calls."""
    owner = team.memberships.filter(role="owner").first().user
    call = OpenCallFactory(organizer=owner, team=team)
    question = questionnaire.add_question(
        questionnaire=call.questionnaire,
        label=f"About {name}?",
        kind="multiple",
        choices=["Llama", "Mistral", "Qwen"],
    )
    return PanelAttribute.objects.create(team=team, name=name, question=question)


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)
