"""Worlds for the panel's tests: a team with an open call and an event, helpers that put
people in them through the services (submissions confirmed) or as rows in a given state, and
attributes mapped from a call's questions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import OpenCall, PanelAttribute, PanelMember, Submission, Team
from events.services import open_calls
from events.services import questionnaire as engine
from tests.factories import (
    EventFactory,
    OpenCallFactory,
    OrganizerFactory,
    SessionFactory,
    TeamFactory,
    team_of,
)


def confirmed(call: OpenCall, email: str, answers: dict | None = None, **profile) -> Submission:
    """Someone who submitted to the call and confirmed their address, through the services."""
    fields = {"name": email.split("@")[0].title(), "role": "developer", **profile}
    sent = open_calls.submit(call=call, email=email, profile=fields, answers=answers or {})
    if not sent.confirmed:
        open_calls.confirm(submission=sent.submission, nonce=sent.submission.nonce)
    return Submission.objects.get(pk=sent.submission.pk)


def make_call(organizer, team=None, **fields) -> OpenCall:
    call = OpenCallFactory(organizer=organizer, team=team or team_of(organizer), **fields)
    return open_calls.set_status(call=call, actor=organizer, published=True)


def past_session(event, days_ago: float = 3, **fields):
    starts = timezone.now() - timedelta(days=days_ago)
    return SessionFactory(
        event=event, starts_at=starts, ends_at=starts + timedelta(hours=1), **fields
    )


def row(team, email: str) -> PanelMember:
    return PanelMember.objects.get(team=team, email=email)


def emails(team) -> set[str]:
    return set(PanelMember.objects.filter(team=team).values_list("email", flat=True))


def attribute(team: Team, name: str) -> PanelAttribute:
    """A panel attribute of `team`, mapped from a question of one of its calls."""
    owner = team.memberships.filter(role="owner").first().user
    call = OpenCallFactory(organizer=owner, team=team)
    question = engine.add_question(
        questionnaire=call.questionnaire,
        label=f"About {name}?",
        kind="multiple",
        choices=["Llama", "Mistral", "Qwen"],
    )
    return PanelAttribute.objects.create(team=team, name=name, question=question)


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def owner(db):
    return OrganizerFactory()


@pytest.fixture
def organizer(owner):
    return owner


@pytest.fixture
def team(owner) -> Team:
    return team_of(owner)


@pytest.fixture
def other_team() -> Team:
    return TeamFactory()


@pytest.fixture
def call(organizer, team):
    call = make_call(organizer, team, title="What do you expect?", slug="expect")
    engine.add_question(
        questionnaire=call.questionnaire,
        label="Which models do you use?",
        kind="multiple",
        choices=["Llama", "Mistral", "Gemma"],
    )
    engine.add_question(
        questionnaire=call.questionnaire,
        label="What do you build?",
        kind="single",
        choices=["Agents", "RAG", "Fine-tuning"],
    )
    engine.add_question(
        questionnaire=call.questionnaire, label="One line about you", kind="short_text"
    )
    return call


@pytest.fixture
def event(organizer, team):
    return EventFactory(organizer=organizer, team=team, title="Model preview")
