"""One bad item does not stop the retention sweep: an event, a submission or a panel member
whose removal fails (here: a PostgreSQL trigger refusing one row, as a broken row or a
constraint would) fails alone. The others are done, the failure is logged by id with nothing
personal, counted in the retention log and the metrics, and the next run retries it."""

import contextlib
import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from events.models import PanelMember, Registration, RetentionLog, Submission
from events.services import panel, retention
from tests.monitoring.helpers import TOKEN, scrape, value

from .conftest import make_past_event
from .test_calls_and_panel import a_call, panel_of, submitted

# The fault is a PostgreSQL trigger: the marker skips on SQLite and fails under CI.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def refuse_deleting(table: str, column: str, value: int) -> None:
    """From now on (in this test's transaction), deleting a row of `table` whose `column` is
    `value` raises in the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION fb_refuse_{table}() RETURNS trigger AS $$
            BEGIN
              IF OLD.{column} = {int(value)} THEN
                RAISE EXCEPTION 'refused by a test: a bad row';
              END IF;
              RETURN OLD;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER fb_refuse_{table} BEFORE DELETE ON {table}
              FOR EACH ROW EXECUTE FUNCTION fb_refuse_{table}();
            """
        )


def allow_deleting(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER fb_refuse_{table} ON {table}")


def test_an_event_that_fails_does_not_stop_the_sweep_and_is_retried(caplog):
    bad = make_past_event(ended_days_ago=500)  # due first
    good = make_past_event(ended_days_ago=400)
    refuse_deleting("events_registration", "session_id", bad.session.pk)

    with caplog.at_level(logging.ERROR, logger="events.services.retention"):
        swept = retention.sweep()

    assert (swept.events, swept.failed) == (1, 1)
    assert not Registration.objects.filter(session=good.session).exists()
    # The failed event is whole: its transaction rolled back.
    assert Registration.objects.filter(session=bad.session).count() == 2
    [line] = RetentionLog.objects.filter(event=bad.event)
    assert line.counts == {"failed": 1}
    [record] = [r for r in caplog.records if "could not be anonymised" in r.getMessage()]
    assert str(bad.event.pk) in record.getMessage()
    assert "example.com" not in record.getMessage() and "Ada" not in record.getMessage()

    allow_deleting("events_registration")
    again = retention.sweep()

    assert (again.events, again.failed) == (1, 0)
    assert not Registration.objects.filter(session=bad.session).exists()


def test_a_submission_that_fails_fails_alone_and_the_call_goes_on(caplog):
    _owner, call = a_call()
    old = [submitted(call, f"gone{n}@example.com", confirm=False, days_ago=200) for n in range(3)]
    refuse_deleting("events_submission", "id", old[1].pk)

    with caplog.at_level(logging.ERROR, logger="events.services.retention"):
        swept = retention.sweep()

    assert (swept.submissions, swept.failed) == (2, 1)
    assert list(Submission.objects.filter(call=call).values_list("pk", flat=True)) == [old[1].pk]
    [line] = RetentionLog.objects.filter(call=call)
    assert (line.counts["submissions"], line.counts["failed"]) == (2, 1)
    assert any(str(old[1].pk) in r.getMessage() for r in caplog.records)

    allow_deleting("events_submission")
    assert retention.sweep_calls() == 1
    assert not Submission.objects.filter(call=call).exists()


def test_a_panel_member_that_fails_fails_alone(caplog):
    _owner, call = a_call()
    members = [
        panel_of(call, f"quiet{n}@example.com", consent=False, days_ago=800) for n in range(3)
    ]
    refuse_deleting("events_panelmember", "id", members[0].pk)

    with caplog.at_level(logging.ERROR, logger="events.services.retention"):
        swept = retention.sweep()

    assert (swept.panel_members, swept.failed) == (2, 1)
    assert list(PanelMember.objects.values_list("pk", flat=True)) == [members[0].pk]
    [line] = RetentionLog.objects.filter(kind="panel")
    assert (line.counts["panel_members"], line.counts["failed"]) == (2, 1)

    allow_deleting("events_panelmember")
    assert retention.remove_panel_members(team=call.team, now=timezone.now()) == 1


def test_the_items_that_failed_in_the_last_day_are_a_metric_each_once(settings):
    settings.METRICS_TOKEN = TOKEN
    bad = make_past_event(ended_days_ago=500)
    refuse_deleting("events_registration", "session_id", bad.session.pk)
    retention.sweep()
    retention.sweep()  # an hour later, failing again: still one item that fails
    RetentionLog.objects.filter(counts__has_key="failed").update(
        at=timezone.now() - timedelta(hours=1)
    )

    # Each run that failed is a line of the team's log; the metric counts the event once.
    assert RetentionLog.objects.filter(event=bad.event, counts={"failed": 1}).count() == 2
    assert value(scrape(), "feedback_retention_failures") == 1

    RetentionLog.objects.filter(counts__has_key="failed").update(
        at=timezone.now() - timedelta(hours=25)
    )
    assert value(scrape(), "feedback_retention_failures") == 0


@contextlib.contextmanager
def panel_lock_held_elsewhere(team_id: int):
    """Another connection holds the team's panel lock (a long rebuild, say), and this
    test's connection gives up waiting for a lock after a moment instead of for ever."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"panel:{team_id}"])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        other.close()


# Committed as it goes: the panel's lock of a refresh made here must not stay held by this
# test's transaction, or the other connection would wait for it.
@pytest.mark.django_db(transaction=True)
def test_a_team_whose_panel_cannot_be_locked_does_not_stop_the_sweep_for_the_others(caplog):
    stuck_call, call = a_call()[1], a_call()[1]
    for c in (stuck_call, call):
        submitted(c, f"gone@{c.team.slug}.example.com", confirm=False, days_ago=200)
        panel_of(c, f"quiet@{c.team.slug}.example.com", consent=False)
        panel_of(c, f"asked@{c.team.slug}.example.com", consent=True, days_ago=710)
    stuck = stuck_call.team
    with (
        panel_lock_held_elsewhere(stuck.pk),
        caplog.at_level(logging.ERROR, logger="events.services.retention"),
    ):
        swept = retention.sweep()

    # The other team: its call swept, its quiet member removed, its member asked to renew.
    assert not Submission.objects.filter(call=call, confirmed_at__isnull=True).exists()
    assert not PanelMember.objects.filter(team=call.team, email__startswith="quiet").exists()
    assert (swept.submissions, swept.panel_members, swept.renewals_asked) == (1, 1, 1)
    # The stuck team: nothing done, its call and its panel (asking, removing) failed.
    assert Submission.objects.filter(call=stuck_call, confirmed_at__isnull=True).exists()
    assert PanelMember.objects.filter(team=stuck).count() == 2
    assert swept.failed == 3
    failures = RetentionLog.objects.filter(team=stuck, counts={"failed": 1})
    assert sorted(line.failed_items for line in failures) == [
        [f"call:{stuck_call.pk}"],
        [f"panel:{stuck.pk}"],
        [f"panel:{stuck.pk}"],
    ]
    assert any(f"team {stuck.pk}" in r.getMessage() for r in caplog.records)

    again = retention.sweep()

    assert (again.submissions, again.panel_members, again.renewals_asked, again.failed) == (
        1,
        1,
        1,
        0,
    )


def test_a_panel_that_cannot_forget_a_call_s_people_does_not_stop_the_other_calls(caplog):
    calls = [a_call()[1] for _ in range(2)]
    for c in calls:
        disqualified = submitted(c, f"dq@{c.team.slug}.example.com", days_ago=200)
        Submission.objects.filter(pk=disqualified.pk).update(screening="disqualified")
        panel.refresh(team=c.team)
    # The first team's panel refuses to lose its rows: the refresh after the batch fails.
    refuse_deleting("events_panelmember", "team_id", calls[0].team_id)

    with caplog.at_level(logging.ERROR, logger="events.services.retention"):
        swept = retention.sweep()

    assert (swept.submissions, swept.failed) == (1, 1)
    assert not Submission.objects.filter(call=calls[1]).exists()
    assert not PanelMember.objects.filter(team=calls[1].team).exists()
    # The first call's batch rolled back whole: its submission and panel row stay.
    assert Submission.objects.filter(call=calls[0]).exists()
    assert PanelMember.objects.filter(team=calls[0].team).exists()
    [line] = RetentionLog.objects.filter(call=calls[0])
    assert (line.counts, line.failed_items) == ({"failed": 1}, [f"call:{calls[0].pk}"])

    allow_deleting("events_panelmember")
    assert retention.sweep_calls() == 1
