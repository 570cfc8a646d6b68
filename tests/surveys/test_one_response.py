"""One response per person: answering again replaces the answers of the single response,
also when the same person submits twice at the same instant (real threads, PostgreSQL)."""

import threading

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from events.models import Answer, Response, SurveyRecipient
from events.services import questionnaire as engine
from events.services import surveys
from tests.factories import UserFactory
from tests.surveys.conftest import (
    EVERY_KIND,
    Kind,
    answer,
    clean_answers,
    field,
    invite,
    link,
    questions_of,
    survey_for,
)


@pytest.fixture
def survey(event):
    return survey_for(event, EVERY_KIND)


@pytest.fixture
def asked(survey):
    return {q.kind: q for q in questions_of(survey)}


@pytest.fixture
def ada(survey, session):
    return invite(survey, UserFactory(), session)


@pytest.mark.django_db
def test_answering_again_replaces_the_answers_of_the_one_response(ada, asked):
    first = {
        field(asked[Kind.RATING]): "2",
        field(asked[Kind.MULTIPLE]): ["0", "1"],
        field(asked[Kind.LONG_TEXT]): "Too long",
    }
    second = {field(asked[Kind.RATING]): "5", field(asked[Kind.MULTIPLE]): ["2"]}

    answer(recipient=ada, data=first)
    response = answer(recipient=ada, data=second)

    assert Response.objects.count() == 1
    ada.refresh_from_db()
    assert ada.response == response
    # Nothing of the first answers is left: not the old picks, not the text left out now.
    assert surveys.saved_answers(ada) == {asked[Kind.RATING].pk: 5, asked[Kind.MULTIPLE].pk: [2]}
    assert Answer.objects.count() == 2


@pytest.mark.django_db
def test_answering_again_through_the_link_shows_and_updates_the_saved_answers(ada, asked):
    client = Client()
    rating = field(asked[Kind.RATING])
    assert client.post(link(ada), {rating: "3"}).status_code == 302

    page = client.get(link(ada))
    assert b"your answers are saved" in page.content
    assert f'id="{rating}-3" name="{rating}" value="3" checked'.encode() in page.content

    assert client.post(link(ada), {rating: "4"}).status_code == 302
    assert Response.objects.count() == 1
    assert list(Answer.objects.values_list("number", flat=True)) == [4]


@pytest.mark.django_db
def test_a_refused_second_answer_keeps_the_first_one(ada, asked):
    rating = field(asked[Kind.RATING])
    Client().post(link(ada), {rating: "3"})

    refused = Client().post(link(ada), {rating: "9"})

    assert refused.status_code == 400
    ada.refresh_from_db()
    assert surveys.saved_answers(ada) == {asked[Kind.RATING].pk: 3}


@pytest.mark.django_db
def test_the_engine_keeps_one_response_per_respondent_key(survey, asked):
    questionnaire = survey.questionnaire
    _, created = engine.save_response(
        questionnaire=questionnaire, respondent="email:ada@example.com", answers={}
    )
    _, again = engine.save_response(
        questionnaire=questionnaire,
        respondent="email:ada@example.com",
        answers={asked[Kind.RATING].pk: 1},
    )

    assert (created, again) == (True, False)
    assert Response.objects.count() == 1


def at_once(count: int, action) -> list[str]:
    """Run `action(i)` in `count` real threads released at the same instant, each on its own
    database connection; return each outcome ('ok' or the error)."""
    barrier = threading.Barrier(count)
    outcomes = [""] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            action(index)
            outcomes[index] = "ok"
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to report
            outcomes[index] = f"{error.__class__.__name__}: {error}"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


THREADS = 8


def submission(asked, index: int) -> dict:
    """Each thread's answers differ in every question, so a mix of two would show."""
    return {
        field(asked[Kind.RATING]): str(index % 5 + 1),
        field(asked[Kind.MULTIPLE]): [str(index % 3)],
        field(asked[Kind.SHORT_TEXT]): f"thread {index}",
    }


def assert_one_whole_submission(asked, recipient=None) -> None:
    assert Response.objects.count() == 1
    [response] = Response.objects.all()
    saved = engine.answers_of(response)
    index = int(saved[asked[Kind.SHORT_TEXT].pk].split()[1])
    assert saved == {
        asked[Kind.RATING].pk: index % 5 + 1,
        asked[Kind.MULTIPLE].pk: [index % 3],
        asked[Kind.SHORT_TEXT].pk: f"thread {index}",
    }
    assert Answer.objects.count() == 3
    if recipient is not None:
        recipient.refresh_from_db()
        assert recipient.response_id == response.pk and recipient.answered_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_person_submitting_at_once_from_two_tabs_keeps_one_whole_response(ada, asked):
    def submit(index: int) -> None:
        answer(recipient=SurveyRecipient.objects.get(pk=ada.pk), data=submission(asked, index))

    outcomes = at_once(THREADS, submit)

    assert outcomes == ["ok"] * THREADS
    assert_one_whole_submission(asked, ada)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_engine_alone_keeps_one_whole_response_under_concurrent_first_answers(survey, asked):
    """An open call saves through the engine without a recipient row to lock: the unique
    constraint and the response lock must do it alone."""
    questions = questions_of(survey)

    def submit(index: int) -> None:
        cleaned = clean_answers(
            questionnaire=survey.questionnaire, data=submission(asked, index), questions=questions
        )
        engine.save_response(
            questionnaire=survey.questionnaire, respondent="email:ada@example.com", answers=cleaned
        )

    outcomes = at_once(THREADS, submit)

    assert outcomes == ["ok"] * THREADS
    assert_one_whole_submission(asked)
