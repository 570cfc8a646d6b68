"""Figures are counted by the database: the results page, its CSV, the builder and the
engine's results take as many queries with 200 responses as with 5."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from events.models import Answer, Response, SurveyRecipient
from events.services import questionnaire as engine
from tests.factories import SessionFactory
from tests.surveys.conftest import EVERY_KIND, questions_of, survey_for

pytestmark = pytest.mark.django_db


def fill(survey, sessions, start: int, count: int) -> None:
    """`count` more people answer every question, spread over the sessions and roles (rows
    written in bulk, as `surveys.answer` writes them one by one)."""
    roles = list(User.Role.values)
    users = User.objects.bulk_create(
        User(email=f"bulk{i}@example.com", display_name=f"Bulk {i}", role=roles[i % len(roles)])
        for i in range(start, start + count)
    )
    responses = Response.objects.bulk_create(
        Response(questionnaire=survey.questionnaire, respondent=f"user{u.pk}") for u in users
    )
    rating, nps, single, multiple, short, long = questions_of(survey)
    answers = []
    for i, response in enumerate(responses):
        answers += [
            Answer(response=response, question=rating, number=i % 5 + 1),
            Answer(response=response, question=nps, number=i % 11),
            Answer(response=response, question=single, number=i % 3),
            Answer(response=response, question=multiple, number=i % 3),
            Answer(response=response, question=multiple, number=(i + 1) % 3),
            Answer(response=response, question=short, text=f"short {i}"),
            Answer(response=response, question=long, text=f"long answer {i}"),
        ]
    Answer.objects.bulk_create(answers)
    now = timezone.now()
    SurveyRecipient.objects.bulk_create(
        SurveyRecipient(
            survey=survey,
            user=u,
            session=sessions[i % len(sessions)],
            response=response,
            sent_at=now,
            opened_at=now,
            answered_at=now,
        )
        for i, (u, response) in enumerate(zip(users, responses, strict=True))
    )


@pytest.fixture
def world(event, session):
    survey = survey_for(event, EVERY_KIND)
    sessions = [session, SessionFactory(event=event)]
    fill(survey, sessions, 0, 5)
    return survey, sessions


def queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def grows(world, action) -> tuple[int, int]:
    """The queries `action` takes with 5 responses, then with 200."""
    survey, sessions = world
    few = queries(action)
    fill(survey, sessions, 5, 195)
    assert survey.questionnaire.responses.count() == 200
    return few, queries(action)


def test_the_engines_results_take_five_queries_whatever_the_number_of_responses(world):
    survey, _ = world

    def results():
        figures = engine.results(questionnaire=survey.questionnaire)
        assert figures.respondents in (5, 200)

    few, many = grows(world, results)

    assert few == many <= 5


def test_the_results_page_takes_the_same_queries_with_5_and_200_responses(
    world, event, organizer_client
):
    url = reverse("manage:survey_results", args=[event.pk])

    def page():
        assert organizer_client.get(url).status_code == 200

    few, many = grows(world, page)

    assert few == many


def test_a_filtered_results_page_takes_the_same_queries_with_5_and_200_responses(
    world, event, organizer_client
):
    _, sessions = world
    url = reverse("manage:survey_results", args=[event.pk])

    def page():
        response = organizer_client.get(url, {"session": sessions[1].pk, "role": "researcher"})
        assert response.status_code == 200

    few, many = grows(world, page)

    assert few == many


def test_the_csv_takes_the_same_queries_with_5_and_200_responses(world, event, organizer_client):
    url = reverse("manage:survey_csv", args=[event.pk])

    def export():
        response = organizer_client.get(url)
        rows = b"".join(response.streaming_content).decode().strip().splitlines()
        assert len(rows) in (6, 201)

    few, many = grows(world, export)

    assert few == many


def test_the_survey_builder_takes_the_same_queries_with_5_and_200_responses(
    world, event, organizer_client
):
    url = reverse("manage:survey", args=[event.pk])

    def page():
        assert organizer_client.get(url).status_code == 200

    few, many = grows(world, page)

    assert few == many


def test_the_pending_page_takes_the_same_queries_with_5_and_200_people(
    world, event, organizer_client
):
    survey, sessions = world
    url = reverse("manage:survey_pending", args=[event.pk])

    def page():
        assert organizer_client.get(url).status_code == 200

    def pending(start: int, count: int) -> None:
        users = User.objects.bulk_create(
            User(email=f"late{i}@example.com") for i in range(start, start + count)
        )
        SurveyRecipient.objects.bulk_create(
            SurveyRecipient(survey=survey, user=u, session=sessions[0]) for u in users
        )

    pending(0, 5)
    few = queries(page)
    pending(5, 195)

    assert queries(page) == few
