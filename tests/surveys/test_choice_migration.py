"""The data migration to stable choice ids, called directly on rows shaped as before it ran:
choices as a bare list of words, answers (and open-call submissions waiting for confirmation)
naming a choice by its place in that list. Nothing may be lost or moved, either way."""

import importlib

import pytest
from django.apps import apps

from events.models import Answer, Question, Response, Submission
from events.services import open_calls as service
from events.services import questionnaire as engine
from tests.open_calls.conftest import make_call, questions
from tests.surveys.conftest import Kind, survey_for
from tests.surveys.conftest import questions_of as survey_questions

pytestmark = pytest.mark.django_db

migration = importlib.import_module("events.migrations.0004_stable_choice_ids")


def old_shape(question: Question, choices: list[str]) -> None:
    """The row as it was before the migration: words only, no ids, nothing removed."""
    Question.objects.filter(pk=question.pk).update(
        choices=choices, choice_ids=[], removed_choices=[]
    )


def answer(question: Question, respondent: str, *numbers: int) -> None:
    response, _ = Response.objects.get_or_create(
        questionnaire_id=question.questionnaire_id, respondent=respondent
    )
    Answer.objects.bulk_create(
        Answer(response=response, question=question, number=n) for n in numbers
    )


def counts(questionnaire, question) -> list[tuple[str, int]]:
    results = engine.results(questionnaire=questionnaire)
    mine = next(r for r in results.questions if r.question.pk == question.pk)
    return [(o.label, o.count) for o in mine.options]


def test_forward_gives_each_choice_its_old_position_as_id_so_answers_stay_put(event):
    survey = survey_for(
        event,
        [
            (Kind.SINGLE, "Track", ["Models", "Tools", "Docs"], False),
            (Kind.MULTIPLE, "Tried", ["API", "CLI"], False),
            (Kind.RATING, "Rate", None, False),
        ],
    )
    track, tried, rate = survey_questions(survey)
    old_shape(track, ["Models", "Tools", "Docs"])
    old_shape(tried, ["API", "CLI"])
    answer(track, "a", 1)
    answer(track, "b", 2)
    answer(tried, "a", 0, 1)
    answer(rate, "a", 4)
    # A stray number no choice ever had (the old CSV showed it as "#7"): kept, with a name.
    answer(track, "c", 7)

    migration.ids_from_positions(apps, None)

    track.refresh_from_db()
    tried.refresh_from_db()
    rate.refresh_from_db()
    assert track.offered_choices == [(0, "Models"), (1, "Tools"), (2, "Docs")]
    assert track.removed_choices == [{"id": 7, "label": "#7"}]
    assert tried.offered_choices == [(0, "API"), (1, "CLI")]
    assert (rate.choices, rate.choice_ids, rate.removed_choices) == ([], [], [])
    assert counts(survey.questionnaire, track) == [
        ("Models", 0),
        ("Tools", 1),
        ("Docs", 1),
        ("#7 (removed)", 1),
    ]
    assert counts(survey.questionnaire, tried) == [("API", 1), ("CLI", 1)]
    assert Answer.objects.count() == 6


def test_forward_is_safe_to_run_twice(event):
    survey = survey_for(event, [(Kind.SINGLE, "Track", ["Models", "Tools"], False)])
    [track] = survey_questions(survey)
    engine.edit_question(
        question=track, label="Track", kind=Kind.SINGLE, choices=["Tools", "Models", "Docs"]
    )
    track.refresh_from_db()
    before = (track.choices, track.choice_ids, track.removed_choices)

    migration.ids_from_positions(apps, None)

    track.refresh_from_db()
    assert (track.choices, track.choice_ids, track.removed_choices) == before


def test_a_submission_waiting_for_confirmation_keeps_its_choice_through_the_migration(
    organizer,
):
    call = make_call(organizer)
    q = questions(call)
    submitted = service.submit(
        call=call,
        email="ada@example.com",
        profile={"name": "Ada"},
        answers={q.single.pk: 1, q.multiple.pk: [0, 2]},
    )
    old_shape(q.single, ["Agents", "RAG", "Fine-tuning"])
    old_shape(q.multiple, ["PyTorch", "JAX", "MLX"])

    migration.ids_from_positions(apps, None)
    service.confirm(submission=submitted.submission, nonce=submitted.submission.nonce)

    lines = dict(service.summary(Submission.objects.get(pk=submitted.submission.pk)))
    assert (lines["Use"], lines["Stack"]) == ("RAG", "PyTorch; MLX")


def test_backward_turns_ids_into_positions_and_keeps_removed_choices_last(organizer):
    call = make_call(organizer)
    q = questions(call)
    ids = {label: pk for pk, label in q.single.offered_choices}
    for email, pick in [("a@x.org", "Agents"), ("b@x.org", "RAG"), ("c@x.org", "Fine-tuning")]:
        submitted = service.submit(
            call=call, email=email, profile={}, answers={q.single.pk: ids[pick]}
        )
        service.confirm(submission=submitted.submission, nonce=submitted.submission.nonce)
    pending = service.submit(
        call=call, email="d@x.org", profile={}, answers={q.single.pk: ids["Agents"]}
    ).submission
    # Reordered, one removed, one added: no id equals its place any more.
    engine.edit_question(
        question=q.single, label="Use", kind=Kind.SINGLE, choices=["Fine-tuning", "Evals", "Agents"]
    )
    before = counts(call.questionnaire, q.single)

    migration.positions_from_ids(apps, None)

    q.single.refresh_from_db()
    assert q.single.choices == ["Fine-tuning", "Evals", "Agents", "RAG (removed)"]
    numbers = dict(
        Answer.objects.filter(question=q.single).values_list("response__respondent", "number")
    )
    by_email = {
        s.email: numbers[f"submission{s.pk}"]
        for s in Submission.objects.filter(response__isnull=False)
    }
    assert by_email == {"a@x.org": 2, "b@x.org": 3, "c@x.org": 0}
    pending.refresh_from_db()
    assert pending.pending["answers"][str(q.single.pk)] == 2

    # And forward again: the same answers on the same words.
    migration.ids_from_positions(apps, None)
    after = counts(call.questionnaire, q.single)
    assert sorted(after) == sorted(
        [("Fine-tuning", 1), ("Evals", 0), ("Agents", 1), ("RAG (removed)", 1)]
    )
    assert sorted(label.replace(" (removed)", "") for label, n in before if n) == [
        "Agents",
        "Fine-tuning",
        "RAG",
    ]
