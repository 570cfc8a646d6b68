"""GIN indexes (jsonb_path_ops) on the panel's `attributes` and `tags`, on PostgreSQL only.

The segment conditions "answer is any of" and "tags: has any of / has none of" are JSON
containment (`attributes @> '{"models_used": ["Llama"]}'`, `tags @> '["shortlist"]'`, see
services/segments.py), which these indexes serve: without them a rare value is found by reading
the whole panel. jsonb_path_ops is smaller and faster than the default operator class and
supports exactly @>. SQLite has no such index (its conditions use json_each): a no-op there.
(The text conditions, "answer mentions", are ILIKE on one key's text: no index serves them.)"""

from django.db import migrations

INDEXES = {
    "panel_member_attributes_gin": "attributes",
    "panel_member_tags_gin": "tags",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON events_panelmember "
            f"USING gin ({column} jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0022_submission_tags_changed_at"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
