"""Worlds for the survey tests: an event whose session has ended, its attendees, a survey
with the questions a test asks for, and the one-click links of the people it went to."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.forms.answers import AnswersForm
from events.models import Question, Registration, Response, Session, Survey, SurveyRecipient
from events.services import questionnaire as engine
from events.services import surveys
from events.services.registration import register
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    SurveyFactory,
    UserFactory,
)
from tests.migrations import migrator  # noqa: F401 (a fixture for the migration tests)

Kind = Question.Kind


def seat(session: Session, count: int = 1, **user_fields) -> list[Registration]:
    """People who signed up (while the session was ahead) and got a confirmed seat."""
    people = [register(user=UserFactory(**user_fields), session=session) for _ in range(count)]
    assert all(r.status == Registration.Status.CONFIRMED for r in people)
    return people


def end(session: Session, *, hours_ago: float = 3) -> Session:
    """Move a session into the past (sign-ups close at the start, so tests seat people
    first), and let its survey follow as the scheduling service does."""
    ends = timezone.now() - timedelta(hours=hours_ago)
    Session.objects.filter(pk=session.pk).update(starts_at=ends - timedelta(hours=1), ends_at=ends)
    session.refresh_from_db()
    surveys.session_changed(session)
    return session


def survey_for(event, questions=(), **settings) -> Survey:
    """The event's survey with exactly `questions` ((kind, label, choices, required) tuples)
    instead of the starter ones, and `settings` applied through the service."""
    survey = SurveyFactory(event=event)
    if questions:
        for question in survey.questionnaire.questions.all():
            engine.remove_question(question=question)
        for kind, label, choices, required in questions:
            engine.add_question(
                questionnaire=survey.questionnaire,
                label=label,
                kind=kind,
                choices=choices,
                required=required,
            )
    if settings:
        survey = surveys.update_settings(survey=survey, actor=None, **settings)
    survey.refresh_from_db()
    return survey


def invite(survey: Survey, user, session: Session) -> SurveyRecipient:
    """Someone the survey went to (what the sweep creates), for tests about answering."""
    return SurveyRecipient.objects.create(
        survey=survey, user=user, session=session, sent_at=timezone.now()
    )


def link(recipient: SurveyRecipient) -> str:
    return reverse("events:survey", args=[surveys.token_for(recipient)])


def questions_of(survey: Survey) -> list[Question]:
    return list(survey.questionnaire.questions.all())


def field(question: Question) -> str:
    return engine.field_name(question)


EVERY_KIND = [
    (Kind.RATING, "How was it?", None, True),
    (Kind.NPS, "Would you recommend it?", None, False),
    (Kind.SINGLE, "Which track?", ["Models", "Tools", "Docs"], False),
    (Kind.MULTIPLE, "What did you try?", ["API", "CLI", "Playground"], False),
    (Kind.SHORT_TEXT, "One word for it", None, False),
    (Kind.LONG_TEXT, "Anything else?", None, False),
]


@pytest.fixture
def organizer():
    return OrganizerFactory(display_name="Olga Owner")


@pytest.fixture
def organizer_client(organizer, client_for) -> Client:
    return client_for(organizer)


@pytest.fixture
def event(organizer):
    return EventFactory(organizer=organizer, title="Model preview", checkin_enabled=False)


@pytest.fixture
def session(event):
    return SessionFactory(event=event, capacity=300)


# The answers form between a POST and the services, as the pages use it.


def clean_answers(*, questionnaire, data, questions=None) -> dict:
    """The answers the respondent's form takes from `data`; engine.AnswerErrors (by question
    id, None for the form as a whole) when it refuses them."""
    if questions is None:
        questions = questionnaire.questions.all()
    form = AnswersForm(data, questions=questions)
    if not form.is_valid():
        raise engine.AnswerErrors(form.question_errors())
    return form.answers()


def answer(*, recipient: SurveyRecipient, data) -> Response:
    """A person posts `data` from their survey link."""
    answers = clean_answers(questionnaire=recipient.survey.questionnaire, data=data)
    return surveys.answer(recipient=recipient, answers=answers)


def shown(questions, *, answers=None) -> list:
    """The questions as the respondent's page shows them (with their saved `answers`)."""
    return AnswersForm(questions=questions, answers=answers).question_fields
