"""The organizer flag goes: a person organizes through their role in a team (events 0013 gave
every flagged organizer one before this runs)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_cache_table"),
        ("events", "0013_teams_from_organizers"),
    ]

    operations = [migrations.RemoveField(model_name="user", name="is_organizer")]
