"""The survey's "not answered yet" list names people as an organizer reads them: case aside,
numbers as numbers ("Person 2" before "Person 10"), sorted by the database (the
`natural_sort` collation the attendance tables use), in as many queries as before."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.services import surveys
from tests.factories import UserFactory

from .conftest import invite, survey_for

pytestmark = pytest.mark.django_db

EXPECTED = ["Alice", "bob", "person 1", "Person 2", "Person 9", "Person 10", "Person 100", "Zed"]
INVITE_ORDER = ["Person 10", "Zed", "Person 2", "person 1", "", "Person 100", "Alice", "Person 9"]


def invite_everyone(survey, session, names) -> None:
    for name in names:
        # No display name: the list shows (and sorts by) the email.
        email = "bob@example.com" if not name else f"q-{name.replace(' ', '').lower()}@example.com"
        invite(survey, UserFactory(display_name=name, email=email), session)


def pending_names(html: str) -> list[str]:
    rows = html.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"<tr>\s*<td[^>]*>([^<]*)</td>", rows)


def test_the_service_lists_people_who_have_not_answered_with_numbers_as_numbers(event, session):
    survey = survey_for(event)
    invite_everyone(survey, session, INVITE_ORDER)

    names = [r.user.name for r in surveys.non_responders(survey=survey)]

    assert names == EXPECTED


def test_the_pending_page_sorts_in_the_database_in_the_same_number_of_queries(
    event, session, organizer_client
):
    survey = survey_for(event)
    url = reverse("manage:survey_pending", args=[event.pk])
    invite_everyone(survey, session, INVITE_ORDER[:2])
    with CaptureQueriesContext(connection) as few:
        organizer_client.get(url)
    invite_everyone(survey, session, INVITE_ORDER[2:])

    with CaptureQueriesContext(connection) as many:
        html = organizer_client.get(url).content.decode()

    assert pending_names(html) == EXPECTED
    assert len(many) == len(few)
    sorted_by_name = [q["sql"] for q in many.captured_queries if "natural_sort" in q["sql"]]
    assert len(sorted_by_name) == 1
    assert "ORDER BY" in sorted_by_name[0]
