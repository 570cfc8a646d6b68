"""Every event gets its screening questionnaire (empty until the organizer adds a question),
so the shared question editor can edit it from the event's page: new events get theirs when
they are created (scheduling.create_event). Going back leaves them: an empty questionnaire
asks nothing."""

from django.db import migrations


def forward(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    Questionnaire = apps.get_model("events", "Questionnaire")
    for event in Event.objects.filter(screening=None).order_by("pk").iterator(chunk_size=500):
        event.screening = Questionnaire.objects.create()
        event.save(update_fields=["screening"])


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0014_teams_own_events_and_calls"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
