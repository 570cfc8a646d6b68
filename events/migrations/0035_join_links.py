"""Online, hybrid and in-person sessions, and personal join links.

A session's format is read from what it had: an online link and no place is online, both is
hybrid, anything else in person. Every registration gets its own join token (written one by
one: a default computed once would give every row the same token)."""

import secrets

import django.core.validators
from django.db import migrations, models

import events.models.registration


def formats_from_what_sessions_had(apps, schema_editor):
    Session = apps.get_model("events", "Session")
    with_link = Session.objects.exclude(online_url="")
    with_link.filter(location="").update(format="online")
    with_link.exclude(location="").update(format="hybrid")


def tokens_for_every_registration(apps, schema_editor):
    Registration = apps.get_model("events", "Registration")
    rows = list(Registration.objects.filter(join_token__isnull=True).only("pk"))
    for row in rows:
        row.join_token = secrets.token_urlsafe(24)
    Registration.objects.bulk_update(rows, ["join_token"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("events", "0034_audit_log")]

    operations = [
        migrations.AddField(
            model_name="event",
            name="join_opens_before",
            field=models.PositiveIntegerField(
                default=15,
                validators=[django.core.validators.MaxValueValidator(1440)],
                help_text="Online sessions: how early a personal join link opens the meeting.",
                verbose_name="join links open (minutes before the start)",
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="join_closes_after",
            field=models.PositiveIntegerField(
                default=0,
                validators=[django.core.validators.MaxValueValidator(1440)],
                help_text="Online sessions: how long after the end a join link still opens it.",
                verbose_name="join links close (minutes after the end)",
            ),
        ),
        migrations.AddField(
            model_name="session",
            name="format",
            field=models.CharField(
                choices=[
                    ("in_person", "In person"),
                    ("online", "Online"),
                    ("hybrid", "Hybrid: in person and online"),
                ],
                default="in_person",
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="session",
            name="join_opens_before",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MaxValueValidator(1440)],
            ),
        ),
        migrations.AddField(
            model_name="session",
            name="join_closes_after",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MaxValueValidator(1440)],
            ),
        ),
        migrations.RunPython(formats_from_what_sessions_had, migrations.RunPython.noop),
        migrations.AddField(
            model_name="registration",
            name="join_token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(tokens_for_every_registration, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="registration",
            name="join_token",
            field=models.CharField(
                default=events.models.registration.new_join_token, max_length=64, unique=True
            ),
        ),
        migrations.AddField(
            model_name="registration",
            name="first_joined_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="registration",
            name="last_joined_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
