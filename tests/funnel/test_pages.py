"""The funnel pages as their people use them: the chart and the table with rates, the
definitions, a segment chosen in the form, the CSV; bad input as a clear 4xx; query counts
that do not grow with the number of people."""

import csv
import io
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import PanelAttribute, PanelMember, Segment, Submission, Team
from tests.factories import SegmentFactory, TeamFactory, as_role

from .conftest import QUALIFIED

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner)


def call_url(call, **query) -> str:
    url = reverse("manage:call_funnel", args=[call.pk])
    return url + ("?" + urlencode(query) if query else "")


def csv_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def table(html: str) -> list[tuple[str, str]]:
    """(step, people) from the page's table."""
    import re

    return re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num"[^>]*>(\d+)</td>', html)


def test_the_call_page_shows_each_step_its_rates_a_chart_and_what_it_counts(
    world, call, owner_client
):
    response = owner_client.get(call_url(call))
    html = response.content.decode()

    assert response.status_code == 200
    assert table(html) == [
        ("Submitted", "9"),
        ("Confirmed", "8"),
        ("Qualified", "6"),
        ("Invited", "4"),
        ("Accepted", "3"),
        ("Attended", "2"),
        ("Answered a survey", "1"),
    ]
    assert '<svg class="chart"' in html and "Answered a survey: 1" in html  # the chart's words
    assert "50%" in html and "11%" in html  # answered: of attended, of submitted
    assert "Invited, and accepted at least one invitation." in html  # what "accepted" counts
    assert "not qualified: 1 disqualified by the screening rules, 1 not scored yet" in html
    assert "as of" in html


def test_a_segment_chosen_in_the_form_narrows_every_step(world, call, team, owner_client):
    researchers = Segment.objects.get(team=team, name="Researchers")
    html = owner_client.get(call_url(call, segment=researchers.pk)).content.decode()

    assert [n for _, n in table(html)] == ["4", "4", "3", "3", "2", "2", "1"]
    assert f'<option value="{researchers.pk}" selected>Researchers</option>' in html
    assert "People in “Researchers”" in html
    assert f"funnel.csv?segment={researchers.pk}" in html


def test_the_team_page_counts_people_once_and_links_each_calls_funnel(
    world, team, call, owner_client
):
    html = owner_client.get(reverse("manage:team_funnel", args=[team.slug])).content.decode()

    assert table(html)[0] == ("Submitted", "9")
    assert reverse("manage:call_funnel", args=[call.pk]) in html
    assert "People who only signed up for an event are not in it." in html


def test_the_funnel_is_linked_from_the_call_the_pool_the_panel_and_the_dashboard(
    team, call, owner_client
):
    call_funnel = reverse("manage:call_funnel", args=[call.pk])
    team_funnel = reverse("manage:team_funnel", args=[team.slug])
    for page, link in [
        (reverse("manage:call", args=[call.pk]), call_funnel),
        (reverse("manage:pool", args=[call.pk]), call_funnel),
        (reverse("manage:panel", args=[team.slug]), team_funnel),
        (reverse("manage:team_dashboard", args=[team.slug]), team_funnel),
    ]:
        assert f'href="{link}"' in owner_client.get(page).content.decode(), page


def test_the_csv_has_a_row_per_step_with_its_rates(world, call, team, owner_client):
    researchers = Segment.objects.get(team=team, name="Researchers")
    url = reverse("manage:call_funnel_csv", args=[call.pk]) + f"?segment={researchers.pk}"
    response = owner_client.get(url)
    rows = csv_of(response)

    assert response["Content-Disposition"] == f'attachment; filename="call-{call.pk}-funnel.csv"'
    assert rows[0][:6] == [
        "Funnel",
        "Segment",
        "Step",
        "People",
        "% of previous step",
        "% of first step",
    ]
    assert rows[1][:6] == [call.title, "Researchers", "Submitted", "4", "", "100.0"]
    assert rows[-1][:6] == [call.title, "Researchers", "Answered a survey", "1", "50.0", "25.0"]
    assert rows[1][6]  # the panel's "as of"

    team_rows = csv_of(owner_client.get(reverse("manage:team_funnel_csv", args=[team.slug])))
    assert [r[3] for r in team_rows[1:]] == ["9", "8", "6", "4", "3", "2", "1"]


def test_a_reviewer_sees_the_funnel_and_exports_it_only_where_the_team_allows(
    world, call, team, client_for
):
    reviewer = as_role(team, "reviewer", client_for)
    csv_url = reverse("manage:call_funnel_csv", args=[call.pk])

    page = reviewer.get(call_url(call))
    assert page.status_code == 200
    assert "Export CSV" not in page.content.decode()
    assert reviewer.get(csv_url).status_code == 404
    Team.objects.filter(pk=team.pk).update(reviewers_may_export=True)
    assert "Export CSV" in reviewer.get(call_url(call)).content.decode()
    assert reviewer.get(csv_url).status_code == 200
    assert as_role(team, "door", client_for).get(call_url(call)).status_code == 404


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("abc", 400),
        ("-1", 400),
        ("1e3", 400),
        ("١٢", 400),  # digits, but not ASCII ones
        ("9" * 11, 400),
        ("999999999", 404),
        ("%00", 400),  # a NUL byte: refused before the view
    ],
)
def test_a_segment_that_is_not_one_of_the_teams_is_a_clear_4xx(call, owner_client, value, status):
    for url in (call_url(call), reverse("manage:call_funnel_csv", args=[call.pk])):
        response = owner_client.get(f"{url}?segment={value}")
        assert response.status_code == status, (url, value)


def test_another_teams_segment_is_a_404_even_for_its_owner(call, owner, owner_client):
    theirs = SegmentFactory(team=TeamFactory(owner=owner))  # she owns that team too

    assert owner_client.get(call_url(call, segment=theirs.pk)).status_code == 404
    url = reverse("manage:team_funnel", args=[call.team.slug]) + f"?segment={theirs.pk}"
    assert owner_client.get(url).status_code == 404


def test_a_segment_naming_a_removed_attribute_says_so(call, team, owner_client):
    question = call.questionnaire.questions.create(label="Models?", kind="multiple", position=1)
    attribute = PanelAttribute.objects.create(team=team, name="models_used", question=question)
    stale = SegmentFactory(
        team=team,
        definition=[{"field": "attributes.models_used", "op": "in", "value": ["Llama"]}],
    )
    attribute.delete()

    response = owner_client.get(call_url(call, segment=stale.pk))
    assert response.status_code == 400
    assert "models_used" in response.content.decode()
    csv_url = reverse("manage:call_funnel_csv", args=[call.pk]) + f"?segment={stale.pk}"
    assert owner_client.get(csv_url).status_code == 400


def people(call, team, start: int, count: int) -> None:
    now = timezone.now()
    Submission.objects.bulk_create(
        Submission(
            call=call,
            email=f"p{n:04}@lab.org",
            submitted_at=now - timedelta(days=1),
            confirmed_at=now - timedelta(days=1) if n % 4 else None,
            screening=QUALIFIED if n % 4 else "",
        )
        for n in range(start, start + count)
    )
    PanelMember.objects.bulk_create(
        PanelMember(
            team=team,
            email=f"p{n:04}@lab.org",
            role="researcher",
            consent=True,
            # As services.panel fills them from the confirmed, qualified submission.
            calls=[call.pk],
            qualified_calls=[call.pk],
            invitations=n % 3,
            invitations_accepted=n % 2,
            attended=n % 2,
            surveys_answered=n % 5 == 1,
        )
        for n in range(start, start + count)
        if n % 4
    )


@pytest.mark.parametrize("which", ["call", "team", "call with a segment", "team csv"])
def test_the_funnel_pages_take_as_many_queries_at_500_people_as_at_5(
    call, team, owner_client, which
):
    SegmentFactory.create_batch(3, team=team)
    researchers = SegmentFactory(
        team=team, definition=[{"field": "role", "op": "in", "value": ["researcher"]}]
    )
    url = {
        "call": call_url(call),
        "team": reverse("manage:team_funnel", args=[team.slug]),
        "call with a segment": call_url(call, segment=researchers.pk),
        "team csv": reverse("manage:team_funnel_csv", args=[team.slug]),
    }[which]

    def load() -> str:
        response = owner_client.get(url)
        assert response.status_code == 200
        if response.streaming:
            return b"".join(response.streaming_content).decode()
        return response.content.decode()

    people(call, team, 0, 5)
    with CaptureQueriesContext(connection) as few:
        load()
    people(call, team, 5, 495)
    with CaptureQueriesContext(connection) as many:
        page = load()

    # Everyone submitted; a quarter never confirmed, and so are in no segment (nor the panel).
    assert ("375" if "segment" in which else "500") in page
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
