"""The panel carries what the funnel counts: each person's confirmed calls, qualified calls
and calls waiting for a score (JSON lists of call ids), with GIN indexes (jsonb_path_ops, on
PostgreSQL only, as in 0023) on the first two, which a call's funnel filters by containment
(`calls @> '[12]'`). A re-score stamps `Submission.screened_at`, so the minute's refresh sees it.

The new columns are empty until each panel is rebuilt: every team's mark is cleared, so the
next minute's refresh rebuilds its panel whole (and the funnel page says "not refreshed yet"
until then)."""

from django.db import migrations, models

INDEXES = {
    "panel_member_calls_gin": "calls",
    "panel_member_qualified_calls_gin": "qualified_calls",
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


def rebuild_next_minute(apps, schema_editor):
    apps.get_model("events", "Team").objects.update(panel_refreshed_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0023_panel_json_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="panelmember",
            name="calls",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="panelmember",
            name="qualified_calls",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="panelmember",
            name="unscored_calls",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="submission",
            name="screened_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(create, drop, elidable=False),
        migrations.RunPython(rebuild_next_minute, migrations.RunPython.noop, elidable=False),
    ]
