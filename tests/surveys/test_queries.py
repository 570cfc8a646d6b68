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
from events.services import surveys
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


def test_the_engines_results_take_six_queries_whatever_the_number_of_responses(world):
    """The questions, their choices (rows of their own), the respondents, the counts, the
    number who answered each question and the latest texts."""
    survey, _ = world

    def results():
        figures = engine.results(questionnaire=survey.questionnaire)
        assert figures.respondents in (5, 200)

    few, many = grows(world, results)

    assert few == many <= 6


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


def chunked(monkeypatch, size: int) -> None:
    """The survey export read in chunks of `size` responses instead of 2,000."""
    real = engine.csv_rows
    monkeypatch.setattr(engine, "csv_rows", lambda **kw: real(**kw, chunk=size))


def test_each_chunk_of_the_export_starts_on_the_recipients_side_too(world, monkeypatch):
    """The database does not carry `response.id > last` across the join to the recipients,
    so without a bound of its own there it reads their response_id index from the start
    for every chunk: each chunk costs more than the one before (README, survey benchmark)."""
    survey, sessions = world
    fill(survey, sessions, 5, 15)
    chunked(monkeypatch, 4)

    with CaptureQueriesContext(connection) as captured:
        rows = list(surveys.csv_rows(survey=survey))

    assert len(rows) == 1 + 20
    reads = [q["sql"] for q in captured.captured_queries if "LIMIT 4" in q["sql"]]
    assert len(reads) == 6  # five chunks, then an empty read
    bound = '"events_surveyrecipient"."response_id" >'
    assert all(bound in sql for sql in reads), reads[0]


@pytest.mark.parametrize("filters", [{}, {"role": "researcher"}, {"session": 1}])
def test_the_export_is_the_same_whatever_the_chunk_size(world, monkeypatch, filters):
    """Recipients in another order than their responses (a bound on the wrong id would
    skip or repeat rows at the chunk edges), and people who did not answer in between."""
    survey, sessions = world
    fill(survey, sessions, 5, 15)
    recipients = list(SurveyRecipient.objects.filter(survey=survey).order_by("pk"))
    responses = [r.response_id for r in recipients]
    SurveyRecipient.objects.filter(survey=survey).update(response=None)
    for recipient, response_id in zip(recipients, reversed(responses), strict=True):
        SurveyRecipient.objects.filter(pk=recipient.pk).update(response_id=response_id)
    pending = User.objects.bulk_create(User(email=f"quiet{i}@example.com") for i in range(5))
    SurveyRecipient.objects.bulk_create(
        SurveyRecipient(survey=survey, user=u, session=sessions[0]) for u in pending
    )
    kwargs = {"role": filters.get("role")}
    if "session" in filters:
        kwargs["session_id"] = sessions[filters["session"]].pk

    whole = list(surveys.csv_rows(survey=survey, **kwargs))
    chunked(monkeypatch, 3)
    in_threes = list(surveys.csv_rows(survey=survey, **kwargs))

    assert in_threes == whole
    assert 1 < len(whole) <= 21


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
