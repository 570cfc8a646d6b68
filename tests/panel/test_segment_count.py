"""The segment editor's live count (manage:segment_count): the draft in the query string is
validated and counted, a draft that makes no sense is a 400 with its message (never a 500),
only those who may edit the team's segments get an answer, and its queries do not grow with
the panel."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.forms.panel import as_query, rows_of
from events.models import PanelMember, Segment
from tests.factories import PanelMemberFactory, TeamFactory, UserFactory, add_to_team

from .conftest import attribute

pytestmark = pytest.mark.django_db


def count_url(team, rows: dict | None = None, query: str = "") -> str:
    from urllib.parse import urlencode

    url = reverse("manage:segment_count", args=[team.slug])
    return url + "?" + (urlencode(rows) if rows else query)


def test_it_counts_the_draft_as_typed(team, client_for, owner):
    PanelMemberFactory(team=team, role="researcher", tags=["shortlist"])
    PanelMemberFactory(team=team, role="researcher")
    PanelMemberFactory(team=team, role="developer", tags=["shortlist"])
    client = client_for(owner)

    both = client.get(
        count_url(
            team,
            {
                "c-0-field": "role",
                "c-0-op": "in",
                "c-0-value": "researcher",
                "c-1-field": "tags",
                "c-1-op": "has_any",
                "c-1-value": "Shortlist",
            },
        )
    )
    researchers = client.get(
        count_url(team, {"c-0-field": "role", "c-0-op": "in", "c-0-value": "researcher"})
    )
    everyone = client.get(count_url(team))

    assert both.status_code == 200
    assert both.json() == {"count": 1}
    assert researchers.json() == {"count": 2}
    assert everyone.json() == {"count": 3}
    assert not Segment.objects.exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"c-0-field": "review_score", "c-0-op": "gte", "c-0-value": "7"}, "from 1 to 5"),
        ({"c-0-field": "attended", "c-0-op": "gte", "c-0-value": ""}, "is not a whole number"),
        ({"c-0-field": "nope", "c-0-op": "in", "c-0-value": "x"}, "There is no field “nope”"),
        ({"c-0-field": "role", "c-0-op": "gte", "c-0-value": "2"}, "choose one of"),
    ],
)
def test_a_draft_that_makes_no_sense_is_a_400_with_its_message(
    team, client_for, owner, rows, message
):
    response = client_for(owner).get(count_url(team, rows))

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_nul_byte_is_a_400_too(team, client_for, owner):
    # Refused before the view (the site's NUL guard), as every page does.
    rows = {"c-0-field": "role", "c-0-op": "in", "c-0-value": "a\x00b"}
    assert client_for(owner).get(count_url(team, rows)).status_code == 400


def test_reviewers_door_staff_and_other_teams_get_a_404(team, client_for, owner):
    PanelMemberFactory(team=team)
    other = TeamFactory()
    for role in ("reviewer", "door"):
        someone = UserFactory()
        add_to_team(team, someone, role=role)
        assert client_for(someone).get(count_url(team)).status_code == 404
    stranger = UserFactory()
    add_to_team(other, stranger, role="owner")
    assert client_for(stranger).get(count_url(team)).status_code == 404


def test_it_changes_nothing_and_refuses_a_post(team, client_for, owner):
    assert client_for(owner).post(count_url(team)).status_code == 405


def test_its_queries_do_not_grow_with_the_panel(team, client_for, owner):
    attribute(team, "models_used")
    client = client_for(owner)
    query = as_query(
        rows_of(
            [
                {"field": "role", "op": "in", "value": ["researcher"]},
                {"field": "attributes.models_used", "op": "in", "value": ["Llama"]},
                {"field": "tags", "op": "has_none", "value": ["declined"]},
            ]
        )
    )

    def people(start: int, count: int) -> None:
        PanelMember.objects.bulk_create(
            PanelMember(
                team=team,
                email=f"p{n:04}@lab.org",
                role="researcher",
                consent=True,
                attributes={"models_used": ["Llama"]},
            )
            for n in range(start, start + count)
        )

    people(0, 5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(count_url(team, query=query)).json() == {"count": 5}
    people(5, 495)
    with CaptureQueriesContext(connection) as many:
        assert client.get(count_url(team, query=query)).json() == {"count": 500}
    assert len(many) == len(few)


def test_the_editor_points_its_script_at_the_count_and_keeps_the_button(team, client_for, owner):
    page = client_for(owner).get(reverse("manage:segment_new", args=[team.slug])).content.decode()

    assert f'data-count-url="{reverse("manage:segment_count", args=[team.slug])}"' in page
    assert 'id="segment-count"' in page
    assert 'name="count"' in page  # the button, for pages without JavaScript
