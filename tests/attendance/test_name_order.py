"""People in the attendance tables (the door list, the session's attendance page, the CSV) are
listed as an organizer reads names: case aside, numbers as numbers ("Person 2" before
"Person 10"), sorted by the database on SQLite and PostgreSQL alike."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.sqlite.base import natural_compare
from events.services.registration import register
from tests.factories import UserFactory

from .conftest import door_session

pytestmark = pytest.mark.django_db

# The order an organizer expects; the people sign up in another one.
EXPECTED = ["Alice", "bob", "person 1", "Person 2", "Person 9", "Person 10", "Person 100", "Zed"]
SIGN_UP_ORDER = ["Person 10", "Zed", "Person 2", "person 1", "", "Person 100", "Alice", "Person 9"]


@pytest.fixture
def named(event):
    session = door_session(event=event, capacity=len(SIGN_UP_ORDER) + 20)
    for name in SIGN_UP_ORDER:
        # No display name: the list shows (and sorts by) the email.
        email = (
            "bob@example.com" if not name else f"sorted-{name.replace(' ', '').lower()}@example.com"
        )
        register(user=UserFactory(display_name=name, email=email), session=session)
    return session


def door_names(html: str) -> list[str]:
    listed = html.split('id="door-list"')[1].split("</ul>")[0]
    return re.findall(r'<span class="door-name">([^<]*)</span>', listed)


def test_the_door_list_sorts_names_with_numbers_as_numbers(named, owner_client):
    html = owner_client.get(reverse("manage:checkin", args=[named.pk])).content.decode()

    assert door_names(html) == EXPECTED


def test_the_attendance_page_sorts_names_with_numbers_as_numbers(named, owner_client):
    html = owner_client.get(reverse("manage:attendance", args=[named.pk])).content.decode()

    names = re.findall(r'<td class="email[^"]*"><a href="[^"]*">([^<]*)</a>', html)
    assert names == EXPECTED


def test_the_attendance_csv_sorts_names_with_numbers_as_numbers(named, owner_client):
    response = owner_client.get(reverse("manage:attendance_csv", args=[named.pk]))

    rows = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    assert [row[3] for row in rows] == EXPECTED


def test_the_door_list_is_sorted_by_the_database_in_one_query(named, owner_client):
    with CaptureQueriesContext(connection) as ctx:
        owner_client.get(reverse("manage:checkin", args=[named.pk]))

    ordered = [q["sql"] for q in ctx.captured_queries if "natural_sort" in q["sql"]]
    assert len(ordered) == 1
    assert "ORDER BY" in ordered[0]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("person 2", "person 10"),
        ("person 9 b", "person 10 a"),
        ("a", "B"),
        ("room 2 seat 10", "room 10 seat 2"),
        ("person 02", "person 2"),  # equal as numbers; the text breaks the tie
        ("person", "person 1"),
        ("1 person", "person"),
    ],
)
def test_the_sqlite_collation_orders_numbers_as_numbers_and_is_a_total_order(a, b):
    assert natural_compare(a, b) == -1
    assert natural_compare(b, a) == 1
    assert natural_compare(a, a) == 0
