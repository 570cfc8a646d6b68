from django.db import migrations, models


def date_pending_changes(apps, schema_editor):
    # Until now a pending change moved submitted_at when it was sent: that is its time.
    Submission = apps.get_model("events", "Submission")
    Submission.objects.filter(pending__isnull=False).update(pending_at=models.F("submitted_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_stable_choice_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="pending_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(date_pending_changes, migrations.RunPython.noop),
    ]
