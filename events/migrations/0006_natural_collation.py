"""The `natural_sort` collation lists of people sort by ("Person 2" before "Person 10").

PostgreSQL: an ICU collation with numeric ordering (kn). SQLite: registered on each connection
by the project's backend (config/sqlite/base.py), so nothing to create here."""

from django.db import migrations

CREATE = "CREATE COLLATION IF NOT EXISTS natural_sort (provider = icu, locale = 'und-u-kn-true')"
DROP = "DROP COLLATION IF EXISTS natural_sort"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("events", "0005_submission_pending_at")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
