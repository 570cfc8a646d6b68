"""Never overbooked: 50 real threads rush a 10-seat session, on PostgreSQL and on a
file-backed SQLite. The same harness on a naive read-then-write path must oversell, which
shows the harness can see a race at all."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from events.models import Registration
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
