"""Teams own every event and call from here on: the team becomes required and the per-event
and per-call organizer lists go (team membership replaces them)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0013_teams_from_organizers"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="team",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="events.team",
            ),
        ),
        migrations.AlterField(
            model_name="opencall",
            name="team",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="calls",
                to="events.team",
            ),
        ),
        migrations.RemoveField(model_name="event", name="organizers"),
        migrations.RemoveField(model_name="opencall", name="organizers"),
    ]
