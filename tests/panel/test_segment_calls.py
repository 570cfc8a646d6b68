"""Segment conditions over the team's calls: "answered call" (`calls`) and "qualified in call"
(`qualified_calls`), any of / none of; the calls are the team's own, chosen by id or title;
the query is one statement whatever the number of calls, containment on PostgreSQL (its GIN
index serves it), json_each on SQLite; the description names the calls by title."""

import pytest
from django.db import connection
from django.urls import reverse

from events.models import Segment
from events.services import ServiceError, segments
from tests.factories import OpenCallFactory, PanelMemberFactory

from .test_indexes import plan

pytestmark = pytest.mark.django_db


def cond(field, op, value) -> dict:
    return {"field": field, "op": op, "value": value}


def emails(team, *conditions) -> set[str]:
    clean = segments.validate(team, list(conditions))
    return set(segments.members(team, clean).values_list("email", flat=True))


@pytest.fixture
def calls(owner, team):
    need = OpenCallFactory(organizer=owner, team=team, title="Tell us what you need")
    expect = OpenCallFactory(organizer=owner, team=team, title="What do you expect?")
    return need, expect


@pytest.fixture
def people(team, calls):
    need, expect = calls
    PanelMemberFactory(
        team=team,
        email="both@x.org",
        consent=True,
        calls=[need.pk, expect.pk],
        qualified_calls=[need.pk],
    )
    PanelMemberFactory(
        team=team, email="need@x.org", consent=True, calls=[need.pk], qualified_calls=[need.pk]
    )
    PanelMemberFactory(
        team=team,
        email="expect@x.org",
        consent=True,
        calls=[expect.pk],
        qualified_calls=[expect.pk],
    )
    PanelMemberFactory(team=team, email="none@x.org", consent=True)


def test_answered_call_any_of_and_none_of(team, calls, people):
    need, expect = calls
    assert emails(team, cond("calls", "any_of", [need.pk])) == {"both@x.org", "need@x.org"}
    assert emails(team, cond("calls", "any_of", [need.pk, expect.pk])) == {
        "both@x.org",
        "need@x.org",
        "expect@x.org",
    }
    assert emails(team, cond("calls", "none_of", [need.pk])) == {"expect@x.org", "none@x.org"}
    assert emails(team, cond("calls", "none_of", [need.pk, expect.pk])) == {"none@x.org"}


def test_qualified_in_call_counts_only_the_qualified(team, calls, people):
    need, expect = calls
    # both@x.org answered "expect" but was not qualified in it.
    assert emails(team, cond("qualified_calls", "any_of", [expect.pk])) == {"expect@x.org"}
    assert emails(team, cond("qualified_calls", "none_of", [need.pk])) == {
        "expect@x.org",
        "none@x.org",
    }


def test_calls_are_chosen_by_id_as_the_form_sends_it_or_by_title(team, calls, people):
    need, expect = calls
    assert emails(team, cond("calls", "any_of", f"{need.pk}")) == {"both@x.org", "need@x.org"}
    assert emails(team, cond("calls", "any_of", "tell us WHAT you need")) == {
        "both@x.org",
        "need@x.org",
    }
    clean = segments.validate(team, [cond("calls", "any_of", f" {expect.pk}, {expect.pk} ")])
    assert clean == [
        {"field": "calls", "op": "any_of", "value": [expect.pk], "titles": ["What do you expect?"]}
    ]


def test_the_description_names_the_calls_by_title(team, calls):
    need, expect = calls
    clean = segments.validate(
        team,
        [
            cond("calls", "any_of", [need.pk]),
            cond("calls", "none_of", [expect.pk]),
            cond("qualified_calls", "any_of", [need.pk, expect.pk]),
            cond("qualified_calls", "none_of", [expect.pk]),
        ],
    )
    assert segments.describe(clean) == (
        "answered “Tell us what you need”, did not answer “What do you expect?”, "
        "qualified in “Tell us what you need” or “What do you expect?”, "
        "not qualified in “What do you expect?”"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("999999", "“999999” is not one of the team's calls"),
        ("No such call", "“No such call” is not one of the team's calls"),
        ("", "give at least one value"),
        ([], "give at least one value"),
        ("1\x00", "cannot contain a NUL character"),
        ([True], "give the values as text"),
    ],
)
def test_a_call_condition_that_makes_no_sense_is_refused(team, calls, value, message):
    with pytest.raises(ServiceError) as refusal:
        segments.validate(team, [cond("calls", "any_of", value)])
    assert message in refusal.value.message


def test_another_teams_call_is_refused_by_id_and_by_title(team, other_team, calls):
    theirs = OpenCallFactory(title="Their call")  # with a team of its own
    for value in (str(theirs.pk), "Their call"):
        with pytest.raises(ServiceError, match="is not one of the team's calls"):
            segments.validate(team, [cond("qualified_calls", "none_of", value)])


def test_a_wrong_operator_on_a_call_field_is_refused(team, calls):
    with pytest.raises(ServiceError, match="choose one of “any of”, “none of”"):
        segments.validate(team, [cond("calls", "has_any", [calls[0].pk])])


def test_saving_a_segment_refused_for_another_teams_call_writes_nothing(team, other_team, owner):
    theirs = OpenCallFactory(title="Their call")  # with a team of its own
    with pytest.raises(ServiceError):
        segments.create_segment(
            team=team, actor=owner, name="X", definition=[cond("calls", "any_of", [theirs.pk])]
        )
    assert not Segment.objects.exists()


def test_the_query_is_one_statement_whatever_the_number_of_calls(
    team, owner, django_assert_num_queries
):
    many = [OpenCallFactory(organizer=owner, team=team) for _ in range(12)]
    PanelMemberFactory(team=team, consent=True, calls=[many[-1].pk], qualified_calls=[])
    one = segments.validate(team, [cond("calls", "any_of", [many[0].pk])])
    all_ = segments.validate(
        team,
        [
            cond("calls", "any_of", [c.pk for c in many]),
            cond("qualified_calls", "none_of", [c.pk for c in many]),
        ],
    )
    with django_assert_num_queries(1):
        assert len(list(segments.members(team, one))) == 0
    with django_assert_num_queries(1):
        assert len(list(segments.members(team, all_))) == 1
    # Validating reads the team's attributes and its calls, once each, whatever their number.
    with django_assert_num_queries(2):
        segments.validate(team, one)
    with django_assert_num_queries(2):
        segments.validate(team, all_)


@pytest.mark.postgres
def test_the_call_conditions_are_served_by_the_gin_indexes(team, calls):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    need, _ = calls
    for field in ("calls", "qualified_calls"):
        (clean,) = segments.validate(team, [cond(field, "any_of", [need.pk])])
        assert f"panel_member_{field}_gin" in plan(clean)


def test_the_panel_page_filters_by_call_and_offers_the_calls_by_title(
    client, owner, team, calls, people
):
    need, _ = calls
    client.force_login(owner)
    url = reverse("manage:panel", args=[team.slug])
    page = client.get(url, {"c-0-field": "calls", "c-0-op": "any_of", "c-0-value": str(need.pk)})
    assert page.status_code == 200
    text = page.content.decode()
    assert "need@x.org" in text and "both@x.org" in text and "expect@x.org" not in text
    assert "answered “Tell us what you need”" in text
    assert f'<option value="{need.pk}">Tell us what you need</option>' in text
    bad = client.get(url, {"c-0-field": "calls", "c-0-op": "any_of", "c-0-value": "nope"})
    assert bad.status_code == 400
    assert "is not one of the team" in bad.content.decode()
