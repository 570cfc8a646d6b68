"""A past event with one of every kind of personal data an event holds, for the retention
tests: two attendees (one came, one did not), an invitation, a terms acceptance, a survey
answered with a rating, a choice, free text to erase and free text to keep, outbox rows and
a webhook delivery about a registration."""

import itertools
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import User
from events.models import (
    Event,
    Notification,
    Question,
    Registration,
    Session,
    SurveyRecipient,
    Team,
    TermsAcceptance,
    WebhookEndpoint,
    WebhookMessage,
)
from events.services import questionnaire as engine
from events.services import surveys
from tests.factories import (
    EventFactory,
    InvitationFactory,
    RegistrationFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
    organizer_of,
)

_people = itertools.count()


@dataclass
class PastEvent:
    team: Team
    owner: User
    event: Event
    session: Session
    came: Registration
    ada: User
    missed: Registration
    rating: Question
    choice: Question
    erased_text: Question
    kept_text: Question


def make_past_event(*, team: Team | None = None, ended_days_ago: float = 400) -> PastEvent:
    if team is None:
        owner = UserFactory(display_name="Owner")
        team = TeamFactory(owner=owner)
    else:
        owner = organizer_of(SimpleNamespace(team_id=team.pk))
    event = EventFactory(team=team, title="Prototype demo", terms_text="NDA", terms_version=1)
    end = timezone.now() - timedelta(days=ended_days_ago)
    session = SessionFactory(event=event, starts_at=end - timedelta(hours=2), ends_at=end)
    n = next(_people)
    ada = UserFactory(email=f"ada{n}@example.com", display_name="Ada Lovelace")
    bob = UserFactory(email=f"bob{n}@example.com", display_name="Bob")
    came = RegistrationFactory(
        session=session, user=ada, checked_in_at=end - timedelta(hours=1), answers={"1": "x"}
    )
    missed = RegistrationFactory(session=session, user=bob, no_show=True)
    InvitationFactory(event=event, session=session, email=ada.email, name="Ada L.")
    TermsAcceptance.objects.create(event=event, user=ada, version=1)
    survey = surveys.create_survey(event=event, actor=owner)
    questionnaire = survey.questionnaire
    questionnaire.questions.all().delete()
    rating = engine.add_question(questionnaire=questionnaire, label="Rate it", kind="rating")
    choice = engine.add_question(
        questionnaire=questionnaire, label="Which part?", kind="single", choices=["A", "B"]
    )
    erased_text = engine.add_question(
        questionnaire=questionnaire, label="Who are you?", kind="long_text"
    )
    kept_text = engine.add_question(
        questionnaire=questionnaire, label="One word?", kind="short_text", keep_text=True
    )
    for user, words in ((ada, "I am Ada from Example Corp"), (bob, "Bob here")):
        recipient = SurveyRecipient.objects.create(
            survey=survey, user=user, session=session, sent_at=end, opened_at=end, answered_at=end
        )
        response, _ = engine.save_response(
            questionnaire=questionnaire,
            respondent=surveys.respondent_key(recipient),
            answers={rating.pk: 4, choice.pk: 1, erased_text.pk: words, kept_text.pk: "fast"},
        )
        SurveyRecipient.objects.filter(pk=recipient.pk).update(response=response)
    Notification.objects.create(
        key=f"confirmed:reg{came.pk}",
        kind="confirmed",
        email=ada.email,
        recipient=ada,
        registration=came,
        session=session,
        payload={"subject": "You're in, Ada"},
        status="sent",
    )
    endpoint = WebhookEndpoint.objects.create(
        team=team, url="https://hooks.example.com/in", event_types=["registration.created"]
    )
    WebhookMessage.objects.create(
        endpoint=endpoint,
        webhook_id="msg_1",
        type="registration.created",
        payload={
            "type": "registration.created",
            "data": {
                "registration": {"id": came.pk, "event_id": event.pk},
                "attendee": {"id": ada.pk, "email": ada.email},
            },
        },
        status=WebhookMessage.Status.SENT,
        give_up_at=end + timedelta(days=1),
    )
    return PastEvent(
        team, owner, event, session, came, ada, missed, rating, choice, erased_text, kept_text
    )


@pytest.fixture
def past_event(db) -> PastEvent:
    return make_past_event()
