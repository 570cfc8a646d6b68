"""Choices as rows of a `Choice` table instead of three JSON lists on the question.

Before: a question held `choices` (words) and `choice_ids` (ids), kept side by side by code,
and `removed_choices` ({"id", "label"} objects). After: one row per choice, offered or
removed, carrying the same id as `number`. Answers (and open-call submissions waiting for
confirmation) name a choice by that id, so no answer is rewritten: every one names the same
choice, with the same words, afterwards.

A question whose lists do not line up (never seen: migration 0004 wrote both) gets its
choices' places as ids, as 0004 would have. Backward writes the three lists again from the
rows, offered choices in order and removed ones in the order they were removed."""

from django.db import migrations, models

BATCH = 1000


def rows_from_lists(apps, schema_editor):
    Question = apps.get_model("events", "Question")
    Choice = apps.get_model("events", "Choice")
    rows = []
    for question in Question.objects.order_by("pk").iterator():
        labels = list(question.choices or [])
        ids = list(question.choice_ids or [])
        if len(ids) != len(labels):
            ids = list(range(len(labels)))
        rows += [
            Choice(question_id=question.pk, number=pk, label=label, position=place)
            for place, (pk, label) in enumerate(zip(ids, labels, strict=True))
        ]
        taken = set(ids)
        removed = [c for c in question.removed_choices or [] if c["id"] not in taken]
        rows += [
            Choice(
                question_id=question.pk,
                number=c["id"],
                label=c["label"],
                position=place,
                removed=True,
            )
            for place, c in enumerate(removed)
        ]
        if len(rows) >= BATCH:
            Choice.objects.bulk_create(rows)
            rows = []
    Choice.objects.bulk_create(rows)


def lists_from_rows(apps, schema_editor):
    Question = apps.get_model("events", "Question")
    Choice = apps.get_model("events", "Choice")
    lists: dict[int, tuple[list, list, list]] = {}
    for question_id, number, label, removed in Choice.objects.order_by(
        "question_id", "removed", "position", "number"
    ).values_list("question_id", "number", "label", "removed"):
        labels, ids, gone = lists.setdefault(question_id, ([], [], []))
        if removed:
            gone.append({"id": number, "label": label})
        else:
            labels.append(label)
            ids.append(number)
    changed = []
    for question in Question.objects.filter(pk__in=list(lists)).order_by("pk"):
        question.choices, question.choice_ids, question.removed_choices = lists[question.pk]
        changed.append(question)
    Question.objects.bulk_update(
        changed, ["choices", "choice_ids", "removed_choices"], batch_size=BATCH
    )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0009_review14_calendar_downloaded_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="Choice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveSmallIntegerField()),
                ("label", models.TextField()),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("removed", models.BooleanField(default=False)),
                (
                    "question",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE,
                        # Not yet "choices": the question still has a field of that name.
                        related_name="choice_rows",
                        to="events.question",
                    ),
                ),
            ],
            options={
                "ordering": ["removed", "position", "number"],
                "constraints": [
                    models.UniqueConstraint(fields=("question", "number"), name="choice_id_once")
                ],
            },
        ),
        migrations.RunPython(rows_from_lists, lists_from_rows),
        migrations.RemoveField(model_name="question", name="choices"),
        migrations.RemoveField(model_name="question", name="choice_ids"),
        migrations.RemoveField(model_name="question", name="removed_choices"),
        migrations.AlterField(
            model_name="choice",
            name="question",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE, related_name="choices", to="events.question"
            ),
        ),
    ]
