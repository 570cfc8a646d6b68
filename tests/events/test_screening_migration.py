"""Migration screening_on_the_question_engine moves screening questions onto the question
engine and rewrites each registration's answers from a choice's words to its id. Every
answer must read back the same, word for word, after the move and after going back:
answers to reworded lists, to removed questions and blank ones included."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event, Registration
from events.services import screening
from tests.migrations import migrate_to_latest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BEFORE = ("events", "0010_questions_choice_table")
REMOVED = "removed question "


def seed(apps) -> None:
    User = apps.get_model("accounts", "User")
    Event = apps.get_model("events", "Event")
    Session = apps.get_model("events", "Session")
    Registration = apps.get_model("events", "Registration")
    ScreeningQuestion = apps.get_model("events", "ScreeningQuestion")
    start = timezone.now() + timedelta(days=7)

    def session_of(title, mode):
        event = Event.objects.create(title=title, registration_mode=mode, status="published")
        return Session.objects.create(
            event=event, starts_at=start, ends_at=start + timedelta(hours=1), capacity=5
        )

    def question(event, position, label, kind, choices=(), required=True):
        return ScreeningQuestion.objects.create(
            event=event,
            position=position,
            label=label,
            kind=kind,
            choices=list(choices),
            required=required,
        )

    applied = session_of("Applications", "approval")
    event = applied.event
    what = question(event, 1, "What do you build?", "short_text")
    stack = question(event, 2, "Main language", "single", ["Go", "Rust", "Go"])
    uses = question(event, 3, "Uses", "multiple", ["chat", "code", "agents"])
    more = question(event, 4, "Anything else?", "long_text", required=False)
    gone = question(event, 5, "Asked once", "short_text")
    people = [
        User.objects.create(email=f"person{n}@example.com", display_name=f"P{n}") for n in range(4)
    ]

    def apply(person, session, answers):
        Registration.objects.create(user=person, session=session, status="applied", answers=answers)

    apply(
        people[0],
        applied,
        {
            str(what.pk): "A compiler for looms",
            str(stack.pk): "Rust",
            str(uses.pk): ["code", "agents"],
            str(more.pk): "",
            str(gone.pk): "Said before it was removed",
        },
    )
    # Picked before the admin edited the lists: words no longer offered.
    apply(
        people[1],
        applied,
        {
            str(what.pk): "Looms",
            str(stack.pk): "COBOL",
            str(uses.pk): ["mining", "chat"],
            str(more.pk): "Long text\nwith lines",
        },
    )
    apply(people[2], applied, {str(what.pk): "x", str(stack.pk): "", str(uses.pk): []})
    gone.delete()
    # An event that no longer asks anything, with answers from when it did.
    apply(people[3], session_of("Was applications", "open"), {"999999": ["a", "b"]})


def words_before(apps) -> dict[str, dict]:
    """Each person's answers, by question label, as the old model stored them (going back,
    an answer to a removed question stays under `old<id>` when a recreated question took
    its id)."""
    Registration = apps.get_model("events", "Registration")
    ScreeningQuestion = apps.get_model("events", "ScreeningQuestion")
    labels = {str(q.pk): q.label for q in ScreeningQuestion.objects.all()}
    return {
        r.user.email: {
            labels.get(k, REMOVED + k.removeprefix("old")): v for k, v in r.answers.items()
        }
        for r in Registration.objects.select_related("user")
    }


def words_after() -> dict[str, dict]:
    """Each person's answers, by question label, read through the engine's questions."""
    read = {}
    for registration in Registration.objects.select_related("user", "session__event"):
        questions = screening.asked(event=registration.session.event)
        labels = {str(q.pk): q.label for q in questions}
        written = screening.as_written(answers=registration.answers, questions=questions)
        read[registration.user.email] = {
            labels.get(k, REMOVED + k.removeprefix("old")): v for k, v in written.items()
        }
    return read


def test_every_screening_answer_reads_the_same_after_the_move_to_the_engine(migrator):
    apps = migrator(*BEFORE)
    seed(apps)
    expected = words_before(apps)
    migrate_to_latest()

    assert words_after() == expected
    event = Event.objects.get(title="Applications")
    asked = screening.asked(event=event)
    assert [(q.label, q.kind, q.required) for q in asked] == [
        ("What do you build?", "short_text", True),
        ("Main language", "single", True),
        ("Uses", "multiple", True),
        ("Anything else?", "long_text", False),
    ]
    _, stack, uses, _ = asked
    assert stack.choice_labels == ["Go", "Rust"]
    assert stack.removed_choices == [(2, "COBOL")]
    assert uses.choice_labels == ["chat", "code", "agents"]
    assert uses.removed_choices == [(3, "mining")]
    # A choice answer names an id now: rewording the choice keeps it.
    first = Registration.objects.get(user__email="person0@example.com")
    assert first.answers[str(stack.pk)] == 1 and first.answers[str(uses.pk)] == [1, 2]


def test_going_back_writes_every_answer_as_its_words_again(migrator):
    apps = migrator(*BEFORE)
    seed(apps)
    expected = words_before(apps)
    migrate_to_latest()

    apps = migrator(*BEFORE)

    assert words_before(apps) == expected
    ScreeningQuestion = apps.get_model("events", "ScreeningQuestion")
    stack = ScreeningQuestion.objects.get(label="Main language")
    assert stack.choices == ["Go", "Rust"]
    # A question added after going back takes an id of its own.
    added = ScreeningQuestion.objects.create(event=stack.event, label="New", kind="short_text")
    assert added.pk > max(
        ScreeningQuestion.objects.exclude(pk=added.pk).values_list("pk", flat=True)
    )
