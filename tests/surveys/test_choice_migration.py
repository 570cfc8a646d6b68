"""The data migration to stable choice ids (0004), run for real on rows shaped as before it:
choices as a bare list of words, answers (and open-call submissions waiting for
confirmation) naming a choice by its place in that list. Nothing may be lost or moved,
either way. The rows are written with the models of that time (choices have since moved to
a table of their own, migration 0009, see test_choice_table_migration.py)."""

import importlib

import pytest
from django.utils import timezone

from events.models import Answer, Question, Questionnaire, Submission
from events.services import questionnaire as engine
from tests.migrations import migrate_to_latest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

migration = importlib.import_module("events.migrations.0004_stable_choice_ids")
BEFORE = ("events", "0003_open_calls")
AFTER = ("events", "0004_stable_choice_ids")


def old_questions(apps, *specs):
    Questionnaire = apps.get_model("events", "Questionnaire")
    Question = apps.get_model("events", "Question")
    form = Questionnaire.objects.create()
    return form, [
        Question.objects.create(
            questionnaire=form, kind=kind, label=label, position=i, choices=choices or []
        )
        for i, (kind, label, choices) in enumerate(specs)
    ]


def answer(apps, question, respondent: str, *numbers: int) -> None:
    Response = apps.get_model("events", "Response")
    Answer = apps.get_model("events", "Answer")
    response, _ = Response.objects.get_or_create(
        questionnaire_id=question.questionnaire_id, respondent=respondent
    )
    for n in numbers:
        Answer.objects.create(response=response, question=question, number=n)


def counts(questionnaire_id: int, label: str) -> list[tuple[str, int]]:
    """A question's figures as the engine of today reads them."""
    results = engine.results(questionnaire=Questionnaire.objects.get(pk=questionnaire_id))
    mine = next(r for r in results.questions if r.question.label == label)
    return [(o.label, o.count) for o in mine.options]


def test_forward_gives_each_choice_its_old_position_as_id_so_answers_stay_put(migrator):
    apps = migrator(*BEFORE)
    form, (track, tried, rate) = old_questions(
        apps,
        ("single", "Track", ["Models", "Tools", "Docs"]),
        ("multiple", "Tried", ["API", "CLI"]),
        ("rating", "Rate", None),
    )
    answer(apps, track, "a", 1)
    answer(apps, track, "b", 2)
    answer(apps, tried, "a", 0, 1)
    answer(apps, rate, "a", 4)
    # A stray number no choice ever had (the old CSV showed it as "#7"): kept, with a name.
    answer(apps, track, "c", 7)

    apps = migrator(*AFTER)

    Old = apps.get_model("events", "Question")
    lists = {q.label: (q.choices, q.choice_ids, q.removed_choices) for q in Old.objects.all()}
    assert lists == {
        "Track": (["Models", "Tools", "Docs"], [0, 1, 2], [{"id": 7, "label": "#7"}]),
        "Tried": (["API", "CLI"], [0, 1], []),
        "Rate": ([], [], []),
    }
    migrate_to_latest()
    assert counts(form.pk, "Track") == [
        ("Models", 0),
        ("Tools", 1),
        ("Docs", 1),
        ("#7 (removed)", 1),
    ]
    assert counts(form.pk, "Tried") == [("API", 1), ("CLI", 1)]
    assert Answer.objects.count() == 6


def test_forward_is_safe_to_run_twice(migrator):
    apps = migrator(*AFTER)
    Questionnaire = apps.get_model("events", "Questionnaire")
    Question = apps.get_model("events", "Question")
    track = Question.objects.create(
        questionnaire=Questionnaire.objects.create(),
        kind="single",
        label="Track",
        choices=["Tools", "Models", "Docs"],
        choice_ids=[1, 0, 2],
        removed_choices=[{"id": 3, "label": "Other"}],
    )
    before = (track.choices, track.choice_ids, track.removed_choices)

    migration.ids_from_positions(apps, None)

    track.refresh_from_db()
    assert (track.choices, track.choice_ids, track.removed_choices) == before


def pending_submission(apps, form, answers: dict) -> object:
    OpenCall = apps.get_model("events", "OpenCall")
    Submission = apps.get_model("events", "Submission")
    call = OpenCall.objects.create(title="Call", slug="call", questionnaire=form)
    return Submission.objects.create(
        call=call,
        email="ada@example.com",
        submitted_at=timezone.now(),
        pending={"answers": answers},
    )


def test_a_submission_waiting_for_confirmation_keeps_its_choice_through_the_migration(
    migrator,
):
    apps = migrator(*BEFORE)
    form, (use, stack) = old_questions(
        apps,
        ("single", "Use", ["Agents", "RAG", "Fine-tuning"]),
        ("multiple", "Stack", ["PyTorch", "JAX", "MLX"]),
    )
    waiting = pending_submission(apps, form, {str(use.pk): 1, str(stack.pk): [0, 2]})

    migrate_to_latest()

    use, stack = Question.objects.filter(questionnaire_id=form.pk).order_by("position")
    pending = Submission.objects.get(pk=waiting.pk).pending["answers"]
    assert use.choice_names()[pending[str(use.pk)]] == "RAG"
    assert [stack.choice_names()[n] for n in pending[str(stack.pk)]] == ["PyTorch", "MLX"]


def test_backward_turns_ids_into_positions_and_keeps_removed_choices_last(migrator):
    apps = migrator(*AFTER)
    Questionnaire = apps.get_model("events", "Questionnaire")
    Question = apps.get_model("events", "Question")
    form = Questionnaire.objects.create()
    # Reordered, one removed, one added: no id equals its place any more.
    use = Question.objects.create(
        questionnaire=form,
        kind="single",
        label="Use",
        choices=["Fine-tuning", "Evals", "Agents"],
        choice_ids=[2, 3, 0],
        removed_choices=[{"id": 1, "label": "RAG"}],
    )
    for respondent, pick in [("a", 0), ("b", 1), ("c", 2)]:
        answer(apps, use, respondent, pick)
    waiting = pending_submission(apps, form, {str(use.pk): 0})

    apps = migrator(*BEFORE)

    Question = apps.get_model("events", "Question")
    Answer = apps.get_model("events", "Answer")
    Submission = apps.get_model("events", "Submission")
    assert Question.objects.get(pk=use.pk).choices == [
        "Fine-tuning",
        "Evals",
        "Agents",
        "RAG (removed)",
    ]
    numbers = dict(Answer.objects.values_list("response__respondent", "number"))
    assert numbers == {"a": 2, "b": 3, "c": 0}
    assert Submission.objects.get(pk=waiting.pk).pending["answers"][str(use.pk)] == 2

    # And forward again: the same answers on the same words.
    migrate_to_latest()
    assert sorted(counts(form.pk, "Use")) == sorted(
        [("Fine-tuning", 1), ("Evals", 0), ("Agents", 1), ("RAG (removed)", 1)]
    )
