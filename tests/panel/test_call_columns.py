"""The panel carries each person's calls and verdicts (the funnel counts from them): which of
the team's calls they confirmed a submission to, were qualified in, wait to be scored in; a
re-score reaches them at the next minute's refresh; a minute with very many changes rebuilds
the panel whole; a call's people are found through the GIN index on PostgreSQL."""

import importlib
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.utils import timezone

from events import tasks
from events.models import Choice, PanelMember, Response, Submission, Team
from events.services import call_screening, open_calls, panel
from tests.factories import UserFactory

from .conftest import confirmed, emails, make_call, row

pytestmark = pytest.mark.django_db

migration = importlib.import_module("events.migrations.0024_panel_funnel_columns")


def lists(team, email: str) -> tuple[list[int], list[int], list[int]]:
    person = row(team, email)
    return person.calls, person.qualified_calls, person.unscored_calls


def verdict(submission: Submission, screening: str) -> None:
    Submission.objects.filter(pk=submission.pk).update(screening=screening)


def test_the_refresh_fills_each_persons_calls_and_verdicts(organizer, team, call):
    second = make_call(organizer, team, slug="second")
    confirmed(call, "ada@example.com")
    verdict(confirmed(second, "ada@example.com"), "disqualified")
    verdict(confirmed(call, "grace@example.com"), "")  # not scored yet
    open_calls.submit(call=second, email="linus@example.com", profile={}, answers={})
    # An account, and an anonymous submission from its verified second address: one person.
    lea = UserFactory(email="lea@home.org")
    EmailAddress.objects.create(user=lea, email="lea@work.org", verified=True)
    verdict(confirmed(call, "LEA@work.org"), "disqualified")
    confirmed(second, "lea@home.org")

    panel.refresh(team=team)

    assert lists(team, "ada@example.com") == ([call.pk, second.pk], [call.pk], [])
    assert lists(team, "grace@example.com") == ([call.pk], [], [call.pk])
    assert lists(team, "lea@home.org") == ([call.pk, second.pk], [second.pk], [])
    assert "linus@example.com" not in emails(team)  # never confirmed: not in the panel


def test_a_rescore_reaches_the_panel_at_the_next_minutes_refresh(organizer, team, call):
    builds = call.questionnaire.questions.get(label="What do you build?")
    rag = Choice.objects.get(question=builds, label="RAG")
    confirmed(call, "ada@example.com", answers={builds.pk: rag.number})
    confirmed(call, "grace@example.com", answers={builds.pk: rag.number - 1})
    tasks.refresh_panels()
    assert lists(team, "ada@example.com")[1] == [call.pk]
    # Nothing else moved since long before the last refresh: only the re-score can tell.
    long_ago = timezone.now() - timedelta(hours=2)
    Team.objects.filter(pk=team.pk).update(panel_refreshed_at=long_ago)
    Submission.objects.update(confirmed_at=long_ago - timedelta(hours=1))
    Response.objects.update(updated_at=long_ago - timedelta(hours=1))

    call_screening.set_rules(call=call, actor=organizer, effects={rag.pk: "disqualify"})
    assert Submission.objects.get(email="ada@example.com").screening == "disqualified"
    panel.refresh_changed()

    assert lists(team, "ada@example.com") == ([call.pk], [], [])
    assert lists(team, "grace@example.com") == ([call.pk], [call.pk], [])


def test_a_minute_with_very_many_changes_rebuilds_the_panel_whole(
    organizer, team, call, monkeypatch
):
    confirmed(call, "ada@example.com")
    confirmed(call, "grace@example.com")
    withdrawn = confirmed(call, "linus@example.com")
    tasks.refresh_panels()
    open_calls.withdraw(submission=withdrawn)  # leaves no time: only a whole rebuild sees it
    confirmed(call, "edsger@example.com")
    confirmed(call, "barbara@example.com")

    monkeypatch.setattr(panel, "REBUILD_ABOVE", 1)
    panel.refresh_changed()

    assert emails(team) == {
        "ada@example.com",
        "grace@example.com",
        "edsger@example.com",
        "barbara@example.com",
    }


def test_a_few_changes_refresh_only_those_people(organizer, team, call):
    confirmed(call, "ada@example.com")
    withdrawn = confirmed(call, "linus@example.com")
    tasks.refresh_panels()
    open_calls.withdraw(submission=withdrawn)
    confirmed(call, "edsger@example.com")

    panel.refresh_changed()

    # Linus stays until the hourly rebuild: the minute's refresh looked at Edsger only.
    assert emails(team) == {"ada@example.com", "linus@example.com", "edsger@example.com"}


@pytest.mark.postgres
def test_a_calls_people_are_found_through_the_gin_index(team, call):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    confirmed(call, "ada@example.com")
    panel.refresh(team=team)
    for column in migration.INDEXES.values():
        rows = PanelMember.objects.filter(**{f"{column}__contains": [call.pk]})
        sql, params = rows.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN SELECT count(*) FROM (" + sql + ") AS q", params)
            found = "\n".join(line for (line,) in cursor.fetchall())
        assert f"panel_member_{column}_gin" in found, found


class Editor:
    def __init__(self, vendor: str) -> None:
        self.connection = type("Connection", (), {"vendor": vendor})()
        self.executed: list[str] = []

    def execute(self, sql: str) -> None:
        self.executed.append(sql)


@pytest.mark.parametrize(("vendor", "statements"), [("sqlite", 0), ("postgresql", 4)])
def test_the_migration_makes_the_indexes_on_postgresql_only(vendor, statements):
    editor = Editor(vendor)
    migration.create(None, editor)
    migration.drop(None, editor)

    assert len(editor.executed) == statements
    assert all("jsonb_path_ops" in sql for sql in editor.executed if "CREATE" in sql)
