"""A team with an owner, its event, session and people, and tokens of every kind."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone, translation

from events.invite_parsing import Row
from events.models import ApiToken, Segment
from events.models.api import SCOPES
from events.services import api_tokens
from events.services import invitations as invitation_service
from events.services import open_calls as call_service
from events.services import registration as registration_service
from events.services import surveys as survey_service
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
)


def token_for(team, owner, scopes=SCOPES, **kwargs) -> str:
    return api_tokens.create_token(
        team=team, actor=owner, name=kwargs.pop("name", "Test"), scopes=list(scopes), **kwargs
    ).secret


def client_with(secret: str | None) -> Client:
    if secret is None:
        return Client()
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def world(db):
    owner = UserFactory(display_name="Owner")
    team = TeamFactory(owner=owner, slug="api-team")
    event = EventFactory(team=team, title="API event")
    soon = timezone.now() + timedelta(hours=2)
    session = SessionFactory(event=event, starts_at=soon, ends_at=soon + timedelta(hours=1))
    attendee = UserFactory(display_name="Ada")
    registration = registration_service.register(user=attendee, session=session)
    other_owner = OrganizerFactory()
    other_event = EventFactory(organizer=other_owner, title="Not yours")
    other_session = SessionFactory(event=other_event)
    other_registration = registration_service.register(user=UserFactory(), session=other_session)
    [invitation] = invitation_service.create_batch(
        event=event, session=session, rows=[Row(line=1, email="invitee@example.com")], actor=owner
    )
    survey = survey_service.create_survey(event=event, actor=owner)
    call = call_service.create_call(team=team, actor=owner, title="Open call", slug="api-call")
    call_service.set_status(call=call, actor=owner, published=True)
    submission = call_service.submit(
        call=call, email="pool@example.com", profile={"name": "Pool"}, answers={}
    ).submission
    call_service.confirm(submission=submission, nonce=submission.nonce)
    segment = Segment.objects.create(
        team=team, name="Everyone", definition=[{"field": "consent", "op": "is", "value": True}]
    )
    return SimpleNamespace(
        invitation=invitation,
        survey=survey,
        call=call,
        submission=submission,
        segment=segment,
        owner=owner,
        team=team,
        event=event,
        session=session,
        attendee=attendee,
        registration=registration,
        other_owner=other_owner,
        other_team=other_event.team,
        other_event=other_event,
        other_session=other_session,
        other_registration=other_registration,
    )


@pytest.fixture
def full(world) -> Client:
    """A client with a token of the world's team that may do everything."""
    return client_with(token_for(world.team, world.owner))


def expire(secret: str) -> None:
    ApiToken.objects.filter(hashed=api_tokens.digest(secret)).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


@pytest.fixture(autouse=True)
def in_english():
    """Each test starts in English: a request in French leaves French active in the thread
    (the language middleware activates, nothing deactivates), which later service calls of
    the same thread would speak."""
    translation.activate("en")
    yield
    translation.activate("en")
