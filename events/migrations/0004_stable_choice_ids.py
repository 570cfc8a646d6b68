"""Stable choice ids for the question engine.

Before: an answer to a choice question (and a choice in an open-call submission waiting for
its email to be confirmed) named its choice by its position in `Question.choices`, so removing
one choice and adding another moved old answers onto other choices.

After: each choice has an id, kept through rewording and reordering, never reused; removed
choices move to `removed_choices` with their words. Forward gives every existing choice its
old position as id, which is exactly what every stored answer, every pending submission and
every form already open in a browser names: no answer row is rewritten, so nothing can be lost
or moved, on SQLite or PostgreSQL alike. A stray answer number that no choice had (the old
CSV showed it as "#n") becomes a removed choice named "#n", so every answer names a known
choice afterwards.

Backward lists the offered choices in order, then the removed ones (marked "(removed)"), and
rewrites answers and pending submissions from ids to those positions."""

from django.db import migrations, models
from django.db.models import Case, F, Value, When

CHOICE_KINDS = ["single", "multiple"]
BATCH = 500


def ids_from_positions(apps, schema_editor):
    Question = apps.get_model("events", "Question")
    Answer = apps.get_model("events", "Answer")
    stray: dict[int, set[int]] = {}
    for question_id, number in (
        Answer.objects.filter(question__kind__in=CHOICE_KINDS, number__isnull=False)
        .values_list("question_id", "number")
        .distinct()
        .order_by()
    ):
        stray.setdefault(question_id, set()).add(number)
    changed = []
    for question in Question.objects.filter(kind__in=CHOICE_KINDS).order_by("pk").iterator():
        if len(question.choice_ids) == len(question.choices) and (
            question.choice_ids or not question.choices
        ):
            continue  # already converted (a second run changes nothing)
        question.choice_ids = list(range(len(question.choices)))
        known = set(question.choice_ids) | {c["id"] for c in question.removed_choices}
        question.removed_choices = list(question.removed_choices) + [
            {"id": n, "label": f"#{n}"} for n in sorted(stray.get(question.pk, set()) - known)
        ]
        changed.append(question)
    Question.objects.bulk_update(changed, ["choice_ids", "removed_choices"], batch_size=BATCH)


def remap_answers(Answer, question_id: int, mapping: dict[int, int]) -> None:
    """Rewrite one question's answer numbers by `mapping` without ever holding two rows on the
    same (response, question, number) at once: PostgreSQL checks the unique constraint row by
    row, so swapping two numbers in one UPDATE could fail. First each goes to a negative
    number no answer uses (-1 - target), then back to its target."""
    moves = {old: new for old, new in mapping.items() if old != new}
    if not moves:
        return
    answers = Answer.objects.filter(question_id=question_id)
    answers.filter(number__in=list(moves)).update(
        number=Case(
            *(When(number=old, then=Value(-1 - new)) for old, new in moves.items()),
            output_field=models.SmallIntegerField(),
        )
    )
    answers.filter(number__lt=0, number__gte=-1 - max(moves.values())).update(
        number=Value(-1) - F("number")
    )


def positions_from_ids(apps, schema_editor):
    Question = apps.get_model("events", "Question")
    Answer = apps.get_model("events", "Answer")
    Submission = apps.get_model("events", "Submission")
    positions: dict[str, dict[int, int]] = {}
    for question in Question.objects.filter(kind__in=CHOICE_KINDS).order_by("pk").iterator():
        ids = list(question.choice_ids) + [c["id"] for c in question.removed_choices]
        labels = list(question.choices) + [
            f"{c['label']} (removed)" for c in question.removed_choices
        ]
        mapping = {choice_id: position for position, choice_id in enumerate(ids)}
        remap_answers(Answer, question.pk, mapping)
        positions[str(question.pk)] = mapping
        question.choices, question.choice_ids, question.removed_choices = labels, [], []
        question.save(update_fields=["choices", "choice_ids", "removed_choices"])
    for submission in Submission.objects.filter(pending__isnull=False).iterator():
        answers = (submission.pending or {}).get("answers") or {}
        for key, value in answers.items():
            mapping = positions.get(key)
            if mapping is None or value is None:
                continue
            if isinstance(value, list):
                answers[key] = [mapping.get(v, v) for v in value]
            elif isinstance(value, int):
                answers[key] = mapping.get(value, value)
        submission.save(update_fields=["pending"])


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_open_calls"),
    ]

    operations = [
        migrations.AddField(
            model_name="question",
            name="choice_ids",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="question",
            name="removed_choices",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(ids_from_positions, positions_from_ids),
    ]
