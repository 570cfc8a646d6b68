"""Worlds for the themes tests: an open call (or a survey) with one long text question and
answers written straight as rows (the submission paths are not what is tested here)."""

import pytest

from bench.themes_data import generate
from events.models import Answer, Question, Response
from tests.factories import OpenCallFactory, organizer_of


def add_answers(question: Question, texts: list[str], *, start: int = 0) -> list[Answer]:
    answers = []
    for i, text in enumerate(texts, start=start):
        response = Response.objects.create(
            questionnaire_id=question.questionnaire_id, respondent=f"r{i}"
        )
        answers.append(Answer.objects.create(response=response, question=question, text=text))
    return answers


def planted(count: int, seed: int = 7) -> list[str]:
    return generate(count, seed=seed).texts


@pytest.fixture
def call_question(db):
    call = OpenCallFactory()
    question = Question.objects.create(
        questionnaire=call.questionnaire, kind=Question.Kind.LONG_TEXT, label="What hurts?"
    )
    question.call = call
    question.organizer = organizer_of(call)
    return question
