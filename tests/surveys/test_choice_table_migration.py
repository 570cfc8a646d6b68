"""Migration questions_choice_table moves choices from three JSON lists on the question into
a `Choice` table. Every answer names its choice by id before and after, so every answer must
still name the same choice, with the same words, and a removed choice must stay removed."""

import pytest

from events.models import Answer, Question
from tests.migrations import migrate_to_latest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BEFORE = ("events", "0009_review14_calendar_downloaded_at")


def seed(apps) -> dict[int, str]:
    """Questions and answers in the old shape (ids beside words, removed choices apart); the
    words each answer names, by answer id."""
    Questionnaire = apps.get_model("events", "Questionnaire")
    Question = apps.get_model("events", "Question")
    Response = apps.get_model("events", "Response")
    Answer = apps.get_model("events", "Answer")
    form = Questionnaire.objects.create()
    track = Question.objects.create(
        questionnaire=form,
        kind="single",
        label="Track",
        position=0,
        # Reordered and reworded since it was made: ids no longer follow the order.
        choices=["Docs", "Models", "Developer tools"],
        choice_ids=[2, 0, 3],
        removed_choices=[{"id": 1, "label": "Tools"}, {"id": 7, "label": "#7"}],
    )
    tried = Question.objects.create(
        questionnaire=form,
        kind="multiple",
        label="Tried",
        position=1,
        choices=["API", "CLI"],
        choice_ids=[0, 1],
    )
    rate = Question.objects.create(questionnaire=form, kind="rating", label="Rate", position=2)
    # Once a choice question, now a text one: its old choices are kept as removed.
    was = Question.objects.create(
        questionnaire=form,
        kind="short_text",
        label="Was a choice",
        position=3,
        removed_choices=[{"id": 0, "label": "Yes"}, {"id": 1, "label": "No"}],
    )
    expected = {}
    picks = [
        ("a", track, 0, "Models"),
        ("b", track, 1, "Tools (removed)"),
        ("c", track, 2, "Docs"),
        ("d", track, 3, "Developer tools"),
        ("e", track, 7, "#7 (removed)"),
        ("a", tried, 0, "API"),
        ("a", tried, 1, "CLI"),
        ("b", tried, 1, "CLI"),
    ]
    for respondent, question, number, words in picks:
        response, _ = Response.objects.get_or_create(questionnaire=form, respondent=respondent)
        answer = Answer.objects.create(response=response, question=question, number=number)
        expected[answer.pk] = words
    response = Response.objects.get(questionnaire=form, respondent="a")
    Answer.objects.create(response=response, question=rate, number=4)
    Answer.objects.create(response=response, question=was, text="Yes, really")
    return expected


def test_every_answer_names_the_same_choice_after_the_move_to_a_choice_table(migrator):
    expected = seed(migrator(*BEFORE))
    migrate_to_latest()

    named = {
        a.pk: a.question.choice_names()[a.number]
        for a in Answer.objects.filter(question__kind__in=["single", "multiple"])
    }
    assert named == expected
    track, tried, rate, was = Question.objects.order_by("position")
    assert track.offered_choices == [(2, "Docs"), (0, "Models"), (3, "Developer tools")]
    assert track.removed_choices == [(1, "Tools"), (7, "#7")]
    assert tried.offered_choices == [(0, "API"), (1, "CLI")]
    assert (rate.offered_choices, rate.removed_choices) == ([], [])
    assert (was.offered_choices, was.removed_choices) == ([], [(0, "Yes"), (1, "No")])
    assert Answer.objects.count() == 10


def test_backward_writes_the_same_lists_again(migrator):
    expected = seed(migrator(*BEFORE))
    migrate_to_latest()
    apps = migrator(*BEFORE)

    Question = apps.get_model("events", "Question")
    Answer = apps.get_model("events", "Answer")
    lists = [
        (q.label, q.choices, q.choice_ids, q.removed_choices)
        for q in Question.objects.order_by("position")
    ]
    assert lists == [
        (
            "Track",
            ["Docs", "Models", "Developer tools"],
            [2, 0, 3],
            [{"id": 1, "label": "Tools"}, {"id": 7, "label": "#7"}],
        ),
        ("Tried", ["API", "CLI"], [0, 1], []),
        ("Rate", [], [], []),
        ("Was a choice", [], [], [{"id": 0, "label": "Yes"}, {"id": 1, "label": "No"}]),
    ]
    assert set(Answer.objects.values_list("pk", flat=True)) >= set(expected)
