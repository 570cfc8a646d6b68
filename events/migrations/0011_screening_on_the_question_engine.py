"""Screening questions move onto the question engine: each event that asks questions gets a
questionnaire (`Event.screening`), each question becomes an engine question with a `Choice`
row per choice, and each registration's answers name a choice by its id instead of its words,
so rewording a choice no longer orphans the answers that picked it.

Nothing an applicant said is lost or changed:
- an answer naming words the question no longer offers (its list was edited after they
  applied) gets a removed choice with those words;
- answers to questions removed before this migration are kept as they were, under `old<id>`
  (the new questions' ids could otherwise meet the old ones);
- going back writes every choice answer as its words again, under the question's id (the old
  questions are recreated with their engine ids), and puts answers to removed questions back
  under their own id (unless a recreated question now has that id: then they stay `old<id>`)."""

from django.core.management.color import no_style
from django.db import migrations, models
from django.db.models.deletion import PROTECT

CHOICE_KINDS = {"single", "multiple"}
REMOVED_PREFIX = "old"


def _registrations(apps, event_id):
    Registration = apps.get_model("events", "Registration")
    return Registration.objects.filter(session__event_id=event_id).order_by("pk")


def _answering_events(apps) -> set[int]:
    """Events some registration of which holds answers (to asked or removed questions)."""
    Registration = apps.get_model("events", "Registration")
    answering = Registration.objects.exclude(answers={}).values_list("session__event_id")
    return {pk for (pk,) in answering}


def forward(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    ScreeningQuestion = apps.get_model("events", "ScreeningQuestion")
    Questionnaire = apps.get_model("events", "Questionnaire")
    Question = apps.get_model("events", "Question")
    Choice = apps.get_model("events", "Choice")
    event_ids = set(ScreeningQuestion.objects.values_list("event_id", flat=True))
    for event in Event.objects.filter(pk__in=event_ids | _answering_events(apps)).order_by("pk"):
        old = list(ScreeningQuestion.objects.filter(event=event).order_by("position", "pk"))
        if old:
            event.screening = Questionnaire.objects.create()
            event.save(update_fields=["screening"])
        new = {}  # old id (text) -> (question, {words: id})
        for place, question in enumerate(old):
            moved = Question.objects.create(
                questionnaire=event.screening,
                position=place,
                kind=question.kind,
                label=question.label,
                required=question.required,
            )
            numbers = {}
            for number, words in enumerate(question.choices or []):
                if words not in numbers:
                    Choice.objects.create(
                        question=moved, number=number, label=words, position=number
                    )
                    numbers[words] = number
            new[str(question.pk)] = (moved, numbers)
        for registration in _registrations(apps, event.pk):
            answers = {}
            for key, value in (registration.answers or {}).items():
                if key not in new:
                    answers[key if key.startswith(REMOVED_PREFIX) else REMOVED_PREFIX + key] = value
                    continue
                question, numbers = new[key]
                if question.kind in CHOICE_KINDS:
                    value = _numbers(Choice, question, numbers, value)
                answers[str(question.pk)] = value
            if answers != registration.answers:
                registration.answers = answers
                registration.save(update_fields=["answers"])
    _check_now(schema_editor)


def _check_now(schema_editor) -> None:
    """Run the deferred foreign-key checks of the rows written here now, so the schema
    change that follows in the same transaction may alter their tables."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _numbers(Choice, question, numbers, value):
    """A choice answer's words as choice ids ("" and [] stay as they are: no answer)."""

    def number(words):
        if words not in numbers:
            # Words no longer offered: kept, as a removed choice of their own.
            removed = Choice.objects.filter(question=question, removed=True).count()
            numbers[words] = max(numbers.values(), default=-1) + 1
            Choice.objects.create(
                question=question,
                number=numbers[words],
                label=str(words),
                position=removed,
                removed=True,
            )
        return numbers[words]

    if isinstance(value, list):
        return [number(v) for v in value]
    return number(value) if value not in (None, "") else value


def backward(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    ScreeningQuestion = apps.get_model("events", "ScreeningQuestion")
    Question = apps.get_model("events", "Question")
    event_ids = set(Event.objects.exclude(screening=None).values_list("pk", flat=True))
    for event in Event.objects.filter(pk__in=event_ids | _answering_events(apps)).order_by("pk"):
        questions = list(Question.objects.filter(questionnaire_id=event.screening_id))
        words = {}  # question id (text) -> (kind, {id: words})
        for question in questions:
            choices = list(question.choices.order_by("removed", "position", "number"))
            ScreeningQuestion.objects.create(
                pk=question.pk,
                event=event,
                position=question.position,
                label=question.label,
                kind=question.kind,
                choices=[c.label for c in choices if not c.removed],
                required=question.required,
            )
            words[str(question.pk)] = (question.kind, {c.number: c.label for c in choices})
        for registration in _registrations(apps, event.pk):
            answers = {}
            for key, value in (registration.answers or {}).items():
                if key in words and words[key][0] in CHOICE_KINDS:
                    names = words[key][1]
                    if isinstance(value, list):
                        value = [names.get(v, v) for v in value]
                    elif value not in (None, ""):
                        value = names.get(value, value)
                elif key.startswith(REMOVED_PREFIX) and key[len(REMOVED_PREFIX) :] not in words:
                    key = key[len(REMOVED_PREFIX) :]  # back under its own id, as it was
                answers[key] = value
            if answers != registration.answers:
                registration.answers = answers
                registration.save(update_fields=["answers"])
        if event.screening_id is not None:
            screening = event.screening
            event.screening = None
            event.save(update_fields=["screening"])
            screening.delete()
    # The recreated questions took their engine ids: the next new one comes after them.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [ScreeningQuestion]):
            cursor.execute(statement)
    _check_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0010_questions_choice_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="screening",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=PROTECT,
                related_name="screened_event",
                to="events.questionnaire",
            ),
        ),
        migrations.RunPython(forward, backward),
        migrations.DeleteModel(name="ScreeningQuestion"),
    ]
