"""When an event stopped being public (its public feed tells subscribers of the cancellation
for 30 days after), and titles and places kept to one line (they go into calendar files and
mail subjects).

Events cancelled or unpublished before this keep none: nothing tells whether a cancelled event
had ever been published, and a feed must not start showing a draft's sessions."""

from django.db import migrations, models

import events.models.event


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_natural_collation"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="withdrawn_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="event",
            name="title",
            field=models.CharField(
                max_length=200, validators=[events.models.event.validate_one_line]
            ),
        ),
        migrations.AlterField(
            model_name="session",
            name="location",
            field=models.CharField(
                blank=True, max_length=300, validators=[events.models.event.validate_one_line]
            ),
        ),
        migrations.AlterField(
            model_name="session",
            name="title",
            field=models.CharField(
                blank=True, max_length=200, validators=[events.models.event.validate_one_line]
            ),
        ),
    ]
