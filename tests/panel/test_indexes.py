"""The panel's JSON conditions use their GIN indexes on PostgreSQL ("answer is any of", "tags:
has any of" are containment, which `jsonb_path_ops` serves), and the migration that makes
them does nothing on SQLite."""

import importlib

import pytest
from django.db import connection
from django.utils import timezone

from events.models import PanelMember
from events.services import segments

from .conftest import attribute

migration = importlib.import_module("events.migrations.0023_panel_json_indexes")


def plan(condition) -> str:
    """The plan of counting the panel's rows that meet one condition (the team's and the
    consent filters left out: their own indexes would do on a small table), with sequential
    scans priced out: a condition the index cannot serve still shows a sequential scan."""
    rows = PanelMember.objects.filter(segments._q(condition, "postgresql", timezone.now()))
    sql, params = rows.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT count(*) FROM (" + sql + ") AS q", params)
        return "\n".join(line for (line,) in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_json_conditions_are_served_by_the_gin_indexes(team):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    attribute(team, "models_used")

    by_answer = plan(
        *segments.validate(
            team, [{"field": "attributes.models_used", "op": "in", "value": "Llama"}]
        )
    )
    by_tag = plan(*segments.validate(team, [{"field": "tags", "op": "has_any", "value": "a, b"}]))

    assert "panel_member_attributes_gin" in by_answer
    assert "panel_member_tags_gin" in by_tag
    assert "Seq Scan" not in by_answer + by_tag
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = ANY(%s) ORDER BY indexname",
            [list(migration.INDEXES)],
        )
        defs = [d for (d,) in cursor.fetchall()]
    assert len(defs) == 2
    assert all("USING gin" in d and "jsonb_path_ops" in d for d in defs)


class Editor:
    def __init__(self, vendor: str) -> None:
        self.connection = type("Connection", (), {"vendor": vendor})()
        self.executed: list[str] = []

    def execute(self, sql: str) -> None:
        self.executed.append(sql)


def test_the_migration_is_a_no_op_on_sqlite_both_ways():
    editor = Editor("sqlite")
    migration.create(None, editor)
    migration.drop(None, editor)
    assert editor.executed == []


def test_the_migration_creates_and_drops_both_indexes_on_postgresql():
    editor = Editor("postgresql")
    migration.create(None, editor)
    migration.drop(None, editor)
    assert editor.executed == [
        "CREATE INDEX IF NOT EXISTS panel_member_attributes_gin ON events_panelmember "
        "USING gin (attributes jsonb_path_ops)",
        "CREATE INDEX IF NOT EXISTS panel_member_tags_gin ON events_panelmember "
        "USING gin (tags jsonb_path_ops)",
        "DROP INDEX IF EXISTS panel_member_attributes_gin",
        "DROP INDEX IF EXISTS panel_member_tags_gin",
    ]
