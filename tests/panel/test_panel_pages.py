"""The panel page and the segment pages, as their people use them: filtering by composed
conditions (with "add a condition" working without JavaScript), saving, reopening (a segment
is re-evaluated), editing and deleting; who sees what; bad input as a 400 that writes nothing;
and query counts that do not grow with the panel."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.forms.panel import as_query, rows_of
from events.models import PanelMember, Segment
from tests.factories import PanelMemberFactory, SegmentFactory, as_role

from .conftest import attribute, days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner)


def panel_url(team, **query) -> str:
    from urllib.parse import urlencode

    url = reverse("manage:panel", args=[team.slug])
    return url + ("?" + urlencode(query) if query else "")


def shown(html: str) -> set[str]:
    """The addresses in the page's table."""
    return set(re.findall(r'data-email="([^"]+)"', html))


def chosen_fields(html: str) -> list[str]:
    """The field chosen in each condition row."""
    return re.findall(r'<option value="([^"]+)" data-ops="[^"]*" selected>', html)


def researchers_who_never_came(team):
    PanelMemberFactory(team=team, email="ada@lab.org", role="researcher", attended=0)
    PanelMemberFactory(team=team, email="bo@lab.org", role="researcher", attended=3)
    PanelMemberFactory(team=team, email="cy@dev.io", role="developer", attended=0)


def test_the_panel_lists_everyone_and_a_composed_filter_narrows_it(team, owner_client):
    researchers_who_never_came(team)

    everyone = owner_client.get(panel_url(team)).content.decode()
    assert shown(everyone) == {"ada@lab.org", "bo@lab.org", "cy@dev.io"}
    assert "(3 people)" in everyone

    response = owner_client.get(
        panel_url(
            team,
            **{
                "c-0-field": "role",
                "c-0-op": "in",
                "c-0-value": "researcher",
                "c-1-field": "attended",
                "c-1-op": "eq",
                "c-1-value": "0",
            },
        )
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert shown(html) == {"ada@lab.org"}
    assert "(1 person matching)" in html
    assert "Showing: researchers, never attended." in html
    # The filter as typed comes back, ready for another condition.
    assert 'name="c-1-value" value="0"' in html


def test_add_a_condition_brings_the_form_back_with_an_empty_row_more(team, owner_client):
    html = owner_client.get(
        panel_url(team, **{"c-0-field": "role", "c-0-op": "in", "c-0-value": "researcher"})
    ).content.decode()
    assert len(re.findall(r'<select id="c-\d+-field"', html)) == 1

    html = owner_client.get(
        panel_url(
            team, **{"c-0-field": "role", "c-0-op": "in", "c-0-value": "researcher", "add": "1"}
        )
    ).content.decode()
    assert len(re.findall(r'<select id="c-\d+-field"', html)) == 2
    assert '<label for="c-1-field">Field</label>' in html


def test_the_team_attributes_are_fields_of_the_filter(team, owner_client):
    attribute(team, "models_used")
    PanelMemberFactory(team=team, email="llama@x.org", attributes={"models_used": ["Llama"]})
    PanelMemberFactory(team=team, email="qwen@x.org", attributes={"models_used": ["Qwen"]})

    html = owner_client.get(
        panel_url(
            team,
            **{"c-0-field": "attributes.models_used", "c-0-op": "in", "c-0-value": "Llama"},
        )
    ).content.decode()

    assert chosen_fields(html) == ["attributes.models_used"]
    assert ">Answer: models_used</option>" in html
    assert shown(html) == {"llama@x.org"}


def test_the_table_shows_fifty_people_a_page(team, owner_client):
    PanelMember.objects.bulk_create(
        PanelMember(team=team, email=f"p{n:03}@x.org", name=f"P {n}", consent=True)
        for n in range(120)
    )
    first = owner_client.get(panel_url(team)).content.decode()
    third = owner_client.get(panel_url(team, page="3")).content.decode()

    assert len(shown(first)) == 50
    assert "p000@x.org" in shown(first)
    assert shown(third) == {f"p{n:03}@x.org" for n in range(100, 120)}
    assert "Page 3 of 3" in third
    # Past the end: the last page, not an error.
    assert shown(owner_client.get(panel_url(team, page="9")).content.decode()) == shown(third)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"c-0-field": "shoe_size", "c-0-op": "eq", "c-0-value": "9"}, "no field “shoe_size”"),
        (
            {"c-0-field": "attended", "c-0-op": "gte", "c-0-value": "1" * 40},
            "the number is at most 1,000,000",
        ),
        (
            {"c-0-field": "last_contacted_at", "c-0-op": "within", "c-0-value": "-5"},
            "days cannot be negative",
        ),
        ({"c-0-field": "role", "c-0-op": "gte", "c-0-value": "3"}, "choose one of"),
        ({"page": "abc"}, "“abc” is not a page number"),
        ({"page": "0"}, "“0” is not a page number"),
        ({"page": "9" * 30}, "is not a page number"),
    ],
)
def test_a_filter_that_makes_no_sense_is_a_400_with_its_message(team, owner_client, query, message):
    PanelMemberFactory(team=team)
    response = owner_client.get(panel_url(team, **query))

    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_nul_byte_in_the_filter_is_a_400(team, owner_client):
    response = owner_client.get(
        panel_url(team, **{"c-0-field": "affiliation", "c-0-op": "contains", "c-0-value": "a\0"})
    )
    assert response.status_code == 400


def test_saving_the_filter_as_a_segment_and_opening_it_shows_its_people_counted_now(
    team, owner, owner_client
):
    researchers_who_never_came(team)
    filter_ = {"c-0-field": "role", "c-0-op": "in", "c-0-value": "researcher"}
    page = owner_client.get(panel_url(team, **filter_)).content.decode()
    assert "Save as segment" in page

    response = owner_client.post(
        reverse("manage:segment_new", args=[team.slug]), {**filter_, "name": "Researchers"}
    )

    saved = Segment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:segment", args=[saved.pk])
    assert (saved.created_by, saved.definition) == (
        owner,
        [{"field": "role", "op": "in", "value": ["researcher"]}],
    )
    html = owner_client.get(response["Location"]).content.decode()
    assert "Researchers.</p>" in html  # its description
    assert "2 people match</strong> now" in html
    assert shown(html) == {"ada@lab.org", "bo@lab.org"}

    # Re-evaluated when opened: someone who joined the panel since is there.
    PanelMemberFactory(team=team, email="new@lab.org", role="researcher")
    html = owner_client.get(response["Location"]).content.decode()
    assert "3 people match</strong> now" in html
    assert "new@lab.org" in shown(html)


def test_a_segment_never_shows_another_teams_people(team, other_team, owner_client, client_for):
    PanelMemberFactory(team=team, email="ours@x.org", consent=True)
    PanelMemberFactory(team=other_team, email="theirs@x.org", consent=True)
    saved = SegmentFactory(team=team, definition=[{"field": "consent", "op": "is", "value": True}])

    html = owner_client.get(reverse("manage:segment", args=[saved.pk])).content.decode()
    assert shown(html) == {"ours@x.org"}
    assert shown(owner_client.get(panel_url(team)).content.decode()) == {"ours@x.org"}
    # And the other team's owner cannot open this one at all.
    stranger = client_for(other_team.memberships.get().user)
    assert stranger.get(reverse("manage:segment", args=[saved.pk])).status_code == 404
    assert stranger.get(panel_url(team)).status_code == 404


def test_saving_with_no_condition_or_no_name_is_a_400_that_saves_nothing(team, owner_client):
    url = reverse("manage:segment_new", args=[team.slug])

    empty = owner_client.post(url, {"name": "Everyone"})
    nameless = owner_client.post(
        url, {"c-0-field": "consent", "c-0-op": "is", "c-0-value": "yes", "name": ""}
    )
    bad = owner_client.post(
        url, {"c-0-field": "attended", "c-0-op": "gte", "c-0-value": "lots", "name": "Bad"}
    )

    assert empty.status_code == 400
    assert "Add at least one condition" in empty.content.decode()
    assert nameless.status_code == 400
    assert "Give the segment a name" in nameless.content.decode()
    assert bad.status_code == 400
    assert "“lots” is not a whole number" in bad.content.decode()
    # The form comes back as typed.
    assert 'name="c-0-value" value="lots"' in bad.content.decode()
    assert not Segment.objects.exists()


def test_the_editor_adds_a_row_and_counts_without_saving_then_saves(team, owner_client):
    researchers_who_never_came(team)
    saved = SegmentFactory(
        team=team,
        name="Researchers",
        definition=[{"field": "role", "op": "in", "value": ["researcher"]}],
    )
    url = reverse("manage:segment_edit", args=[saved.pk])
    form = owner_client.get(url).content.decode()
    assert 'value="Researchers"' in form
    assert chosen_fields(form) == ["role"]

    typed = {
        "name": "Researchers, new",
        "c-0-field": "role",
        "c-0-op": "in",
        "c-0-value": "researcher",
    }
    added = owner_client.post(url, {**typed, "add": "1"}).content.decode()
    assert len(re.findall(r'<select id="c-\d+-field"', added)) == 2
    counted = owner_client.post(
        url,
        {**typed, "c-1-field": "attended", "c-1-op": "eq", "c-1-value": "0", "count": "1"},
    ).content.decode()
    assert "<strong>1</strong> person matches these conditions now." in counted
    saved.refresh_from_db()
    assert saved.name == "Researchers"  # nothing saved yet

    response = owner_client.post(
        url, {**typed, "c-1-field": "attended", "c-1-op": "eq", "c-1-value": "0"}
    )
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.name == "Researchers, new"
    assert saved.definition[1] == {"field": "attended", "op": "eq", "value": 0}
    html = owner_client.get(response["Location"]).content.decode()
    assert "Researchers, never attended." in html
    assert shown(html) == {"ada@lab.org"}


def test_removing_a_condition_is_choosing_no_field_in_it(team, owner_client):
    saved = SegmentFactory(team=team, name="Two")
    url = reverse("manage:segment_edit", args=[saved.pk])
    owner_client.post(
        url,
        {
            "name": "Two",
            "c-0-field": "",
            "c-0-op": "in",
            "c-0-value": "researcher",
            "c-1-field": "consent",
            "c-1-op": "is",
            "c-1-value": "no",
        },
    )
    saved.refresh_from_db()
    assert saved.definition == [{"field": "consent", "op": "is", "value": False}]


def test_a_damaged_definition_opens_with_its_message_and_edits_what_can_be_read(team, owner_client):
    saved = SegmentFactory(
        team=team, definition=["role", {"field": "consent", "op": "is", "value": True}]
    )
    page = owner_client.get(reverse("manage:segment", args=[saved.pk]))
    assert page.status_code == 200
    assert "Condition 1 is not a field, an operator and a value." in page.content.decode()
    form = owner_client.get(reverse("manage:segment_edit", args=[saved.pk]))
    assert form.status_code == 200
    assert chosen_fields(form.content.decode()) == ["consent"]


def test_deleting_a_segment_asks_first_then_goes_back_to_the_panel(team, owner_client):
    saved = SegmentFactory(team=team, name="Old segment")
    url = reverse("manage:segment_delete", args=[saved.pk])

    page = owner_client.get(url)
    assert "Delete this segment?" in page.content.decode()
    assert "<strong>Old segment</strong>" in page.content.decode()
    assert Segment.objects.exists()

    response = owner_client.post(url)
    assert response["Location"] == reverse("manage:panel", args=[team.slug])
    assert not Segment.objects.exists()


def test_reviewers_read_the_panel_and_segments_but_change_nothing(team, client_for):
    researchers_who_never_came(team)
    saved = SegmentFactory(team=team, name="Consenting")
    reviewer = as_role(team, "reviewer", client_for)

    panel = reviewer.get(
        panel_url(team, **{"c-0-field": "role", "c-0-op": "in", "c-0-value": "researcher"})
    )
    assert panel.status_code == 200
    assert "Save as segment" not in panel.content.decode()
    page = reviewer.get(reverse("manage:segment", args=[saved.pk])).content.decode()
    assert reverse("manage:segment_edit", args=[saved.pk]) not in page
    assert reverse("manage:segment_delete", args=[saved.pk]) not in page
    for url in (
        reverse("manage:segment_edit", args=[saved.pk]),
        reverse("manage:segment_delete", args=[saved.pk]),
        reverse("manage:segment_new", args=[team.slug]),
    ):
        assert reviewer.get(url).status_code == 404
        assert (
            reviewer.post(
                url, {"name": "X", "c-0-field": "consent", "c-0-op": "is", "c-0-value": "yes"}
            ).status_code
            == 404
        )
    assert list(Segment.objects.values_list("name", flat=True)) == ["Consenting"]


def test_door_staff_get_no_panel(team, client_for):
    saved = SegmentFactory(team=team)
    door = as_role(team, "door", client_for)
    assert door.get(panel_url(team)).status_code == 404
    assert door.get(reverse("manage:segment", args=[saved.pk])).status_code == 404


def test_the_dashboard_links_to_the_panel_for_those_who_may_see_it(team, owner_client, client_for):
    link = f'href="{reverse("manage:panel", args=[team.slug])}"'
    dashboard = reverse("manage:team_dashboard", args=[team.slug])
    assert link in owner_client.get(dashboard).content.decode()
    assert link in as_role(team, "reviewer", client_for).get(dashboard).content.decode()
    assert link not in as_role(team, "door", client_for).get(dashboard).content.decode()


def queries_at_5_and_500(client, url: str, team) -> tuple[list, list, str]:
    """The queries of `url` with 5 and then 500 people in the panel, and the page at 500."""

    def people(start: int, count: int) -> None:
        PanelMember.objects.bulk_create(
            PanelMember(
                team=team,
                email=f"p{n:04}@lab.org",
                role="researcher",
                consent=True,
                last_contacted_at=days_ago(40),
                attributes={"models_used": ["Llama"]},
            )
            for n in range(start, start + count)
        )

    people(0, 5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    people(5, 495)
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    return few.captured_queries, many.captured_queries, page


CONDITIONS = [
    {"field": "role", "op": "in", "value": ["researcher"]},
    {"field": "last_contacted_at", "op": "more_than", "value": 30},
    {"field": "attributes.models_used", "op": "in", "value": ["Llama"]},
]


def test_the_panel_pages_queries_do_not_grow_with_the_panel(team, owner_client):
    attribute(team, "models_used")
    SegmentFactory.create_batch(3, team=team)
    query = as_query(rows_of(CONDITIONS))
    few, many, page = queries_at_5_and_500(owner_client, panel_url(team) + "?" + query, team)

    assert "(500 people matching)" in page
    assert len(shown(page)) == 50
    assert len(many) == len(few)


def test_the_segment_pages_queries_do_not_grow_with_the_panel(team, owner_client):
    attribute(team, "models_used")
    saved = SegmentFactory(team=team, definition=CONDITIONS)
    few, many, page = queries_at_5_and_500(
        owner_client, reverse("manage:segment", args=[saved.pk]), team
    )

    assert "500 people match</strong> now" in page
    assert len(shown(page)) == 50
    assert len(many) == len(few)
