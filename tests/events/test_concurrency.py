"""Never overbooked: 50 real threads rush a 10-seat session, on PostgreSQL and on a
file-backed SQLite. The same harness on a naive read-then-write path must oversell, which
shows the harness can see a race at all."""

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from events.models import Notification, Registration
from events.services import registration as registration_service
from events.services.registration import cancel
from events.services.waitlist import fill_open_seats
from tests import harness
from tests.conftest import local_env
from tests.factories import SessionFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
THREADS, SEATS = 50, 10


def sqlite_rush(db_file: Path, mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.sqlite_rush", mode, str(THREADS), str(SEATS)],
        cwd=ROOT,
        env=local_env(db_file),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_registrations_never_overbook_on_postgres():
    session = SessionFactory(capacity=SEATS)
    users = [UserFactory() for _ in range(THREADS)]

    outcomes = harness.rush(harness.service_register, users, session.pk)

    assert Counter(outcomes) == {"confirmed": SEATS, "waitlisted": THREADS - SEATS}, outcomes
    session.refresh_from_db()
    assert session.seats_taken == SEATS
    assert Registration.objects.filter(session=session, status="confirmed").count() == SEATS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_naive_path_oversells_under_the_same_rush_on_postgres():
    session = SessionFactory(capacity=SEATS)
    users = [UserFactory() for _ in range(THREADS)]

    harness.rush(harness.naive_register, users, session.pk)

    confirmed = Registration.objects.filter(session=session, status="confirmed").count()
    assert confirmed > SEATS, "the harness did not expose the race of a naive path"


def test_fifty_concurrent_registrations_never_overbook_on_file_backed_sqlite(sqlite_file):
    result = sqlite_rush(sqlite_file, "service")

    assert Counter(result["outcomes"]) == {"confirmed": SEATS, "waitlisted": THREADS - SEATS}, (
        result["outcomes"]
    )
    assert result["seats_taken"] == SEATS


def test_the_naive_path_oversells_under_the_same_rush_on_file_backed_sqlite(sqlite_file):
    result = sqlite_rush(sqlite_file, "naive")

    assert Counter(result["outcomes"])["confirmed"] > SEATS, result["outcomes"]


def free_seats_while_people_wait(session) -> int:
    """Seats of `session` left free while somebody is waitlisted (0 when none waits)."""
    session.refresh_from_db()
    if not Registration.objects.filter(session=session, status="waitlisted").exists():
        return 0
    return session.capacity - session.seats_taken


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancellations_racing_waitlisting_sign_ups_leave_no_seat_free_after_the_sweep(
    monkeypatch,
):
    """A sign-up that finds the session full commits its waitlist place a moment after the
    conditional UPDATE; a cancellation committing in between offers its seat to nobody it
    can see. Whatever the interleaving, the minute sweep (two of them at once here) leaves no
    seat free while anybody waits, and nothing is ever overbooked."""
    real_take_seat = registration_service.take_seat

    def take_seat_on_a_busy_server(session_id: int) -> bool:
        taken = real_take_seat(session_id)
        if not taken:
            time.sleep(0.05)  # widens the gap before the waitlist place commits
        return taken

    monkeypatch.setattr(registration_service, "take_seat", take_seat_on_a_busy_server)
    for _ in range(5):
        session = SessionFactory(capacity=2)
        leavers = [UserFactory() for _ in range(2)]
        for user in leavers:
            assert harness.service_register(user, session.pk) == "confirmed"
        places = dict(Registration.objects.filter(session=session).values_list("user_id", "pk"))

        def act(user, session_id: int, places=places) -> str:
            if user.pk in places:
                time.sleep(0.02)  # lands among the sign-ups that found the session full
                return cancel(registration=Registration(pk=places[user.pk]), actor=user).status
            return harness.service_register(user, session_id)

        outcomes = harness.rush(act, [*leavers, *(UserFactory() for _ in range(3))], session.pk)

        assert not [o for o in outcomes if o.startswith(("error", "refused"))], outcomes
        assert_seats_add_up(session)
        sweeps = harness.rush(lambda _, __: fill_open_seats(), [None, None], session.pk)

        assert not [o for o in sweeps if isinstance(o, str)], sweeps
        assert_seats_add_up(session)
        assert free_seats_while_people_wait(session) == 0
        offered = Registration.objects.filter(session=session, status="offered").count()
        assert sum(sweeps) <= offered
        owed = Notification.objects.filter(registration__session=session, kind="offered")
        assert owed.count() == offered


def assert_seats_add_up(session) -> None:
    session.refresh_from_db()
    seated = Registration.objects.filter(session=session, status__in=Registration.SEATED).count()
    assert session.seats_taken == seated <= session.capacity, (session.seats_taken, seated)
