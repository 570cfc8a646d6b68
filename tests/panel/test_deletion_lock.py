"""Deleting an account removes the person's panel rows in every team, so it takes each team's
panel lock before any row (docs/ARCHITECTURE.md, "Lock order of the panel"): a refresh of
one of those panels started meanwhile waits for the deletion, then finds nothing of the
person, rather than writing their row back from what it read before the deletion ended."""

import threading
import time

import pytest
from django.db import connection

from accounts import services as accounts
from events.models import PanelMember
from events.services import erasure, panel
from tests.factories import OrganizerFactory, UserFactory, team_of

from .conftest import confirmed, make_call

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ADA = "ada@example.com"


def waiting_for_a_panel_lock() -> bool:
    """Whether some connection waits for an advisory lock (the panel lock is the only one
    a refresh takes)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


def test_a_refresh_started_while_an_account_is_deleted_waits_and_does_not_bring_it_back(
    monkeypatch,
):
    organizer = OrganizerFactory()
    teams = [team_of(organizer), team_of(OrganizerFactory())]
    ada = UserFactory(email=ADA)
    for n, team in enumerate(teams):
        owner = team.memberships.filter(role="owner").first().user
        confirmed(make_call(owner, team, slug=f"expect{n}"), ADA)
        panel.refresh(team=team)
    assert PanelMember.objects.filter(email=ADA).count() == 2
    # The deletion stops in the middle of its transaction (its rows removed, not committed).
    inside, go_on = threading.Event(), threading.Event()
    erase = erasure.erase

    def erase_and_wait(**kwargs):
        count = erase(**kwargs)
        inside.set()
        go_on.wait(timeout=60)
        return count

    monkeypatch.setattr(erasure, "erase", erase_and_wait)
    outcomes: dict[str, object] = {}

    def run(name, action) -> None:
        try:
            outcomes[name] = action()
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to judge
            outcomes[name] = error
        finally:
            connection.close()

    deletion = threading.Thread(
        target=run, args=("deletion", lambda: accounts.delete_account(user=ada))
    )
    deletion.start()
    assert inside.wait(timeout=60)
    refresh = threading.Thread(
        target=run, args=("refresh", lambda: panel.refresh_team(team=teams[1]))
    )
    refresh.start()
    try:
        deadline = time.monotonic() + 10
        while refresh.is_alive() and not waiting_for_a_panel_lock() and time.monotonic() < deadline:
            time.sleep(0.05)

        # The refresh waits for the deletion's panel lock.
        assert refresh.is_alive(), "the refresh ran while the deletion held the person's rows"
        assert waiting_for_a_panel_lock()
    finally:
        go_on.set()
    deletion.join(timeout=60)
    refresh.join(timeout=60)
    assert outcomes["deletion"] is None, outcomes["deletion"]
    assert not isinstance(outcomes["refresh"], Exception), outcomes["refresh"]
    assert not PanelMember.objects.filter(email=ADA).exists()
