"""services.segments: each condition on both sides of its boundary, the refusals of
`validate`, one query per segment, a team's people only, the description in words, and the
saved segments' services (who may, what is recorded, what a refusal leaves)."""

import json
import sqlite3

import pytest

from events.models import PanelMember, Segment
from events.services import ServiceError, segments
from tests.factories import PanelMemberFactory, SegmentFactory, UserFactory, add_to_team

from .conftest import attribute, days_ago

pytestmark = pytest.mark.django_db


def emails(team, *conditions) -> set[str]:
    clean = segments.validate(team, list(conditions))
    return set(segments.members(team, clean).values_list("email", flat=True))


def cond(field, op, value=None) -> dict:
    return {"field": field, "op": op, "value": value}


def test_role_matches_any_of_the_roles_given_and_no_other(team):
    PanelMemberFactory(team=team, email="r@x.org", role="researcher")
    PanelMemberFactory(team=team, email="d@x.org", role="developer")
    PanelMemberFactory(team=team, email="c@x.org", role="community")

    assert emails(team, cond("role", "in", ["researcher"])) == {"r@x.org"}
    # As the form sends it: labels or values, separated by commas.
    assert emails(team, cond("role", "in", "Researcher, developers")) == {"r@x.org", "d@x.org"}


def test_affiliation_contains_ignores_case_and_is_matches_only_the_whole_name(team):
    PanelMemberFactory(team=team, email="a@x.org", affiliation="Big Lab Inc")
    PanelMemberFactory(team=team, email="b@x.org", affiliation="big lab")
    PanelMemberFactory(team=team, email="c@x.org", affiliation="Institute")

    assert emails(team, cond("affiliation", "contains", "LAB")) == {"a@x.org", "b@x.org"}
    assert emails(team, cond("affiliation", "is", "Big Lab")) == {"b@x.org"}


def test_location_contains(team):
    PanelMemberFactory(team=team, email="a@x.org", location="Europe/Berlin")
    PanelMemberFactory(team=team, email="b@x.org", location="America/New_York")

    assert emails(team, cond("location", "contains", "europe")) == {"a@x.org"}


def test_consent_yes_and_no(team):
    PanelMemberFactory(team=team, email="yes@x.org", consent=True)
    # Known through an event they signed up for, without having agreed to be contacted.
    PanelMemberFactory(team=team, email="no@x.org", consent=False, registrations=1)

    assert emails(team, cond("consent", "is", "yes")) == {"yes@x.org"}
    assert emails(team, cond("consent", "is", False)) == {"no@x.org"}


def test_someone_who_only_answered_a_call_without_consent_is_not_in_the_panel(team):
    PanelMemberFactory(team=team, email="quiet@x.org", consent=False, calls_answered=1)
    PanelMemberFactory(team=team, email="came@x.org", consent=False, registrations=1)

    assert emails(team) == {"came@x.org"}
    assert emails(team, cond("consent", "is", False)) == {"came@x.org"}


@pytest.mark.parametrize("field", list(segments.COUNTS))
def test_each_count_is_exactly_at_least_and_at_most_on_both_sides_of_the_number(team, field):
    for n in (1, 2, 3):
        PanelMemberFactory(team=team, email=f"{n}@x.org", **{field: n})

    assert emails(team, cond(field, "eq", 2)) == {"2@x.org"}
    assert emails(team, cond(field, "gte", "2")) == {"2@x.org", "3@x.org"}
    assert emails(team, cond(field, "lte", 2)) == {"1@x.org", "2@x.org"}


@pytest.mark.parametrize("field", list(segments.DATES))
def test_each_date_is_never_more_than_or_within_n_days_on_both_sides_of_n(team, field):
    PanelMemberFactory(team=team, email="never@x.org", **{field: None})
    PanelMemberFactory(team=team, email="old@x.org", **{field: days_ago(30.1)})
    PanelMemberFactory(team=team, email="recent@x.org", **{field: days_ago(29.9)})

    assert emails(team, cond(field, "never")) == {"never@x.org"}
    assert emails(team, cond(field, "more_than", 30)) == {"old@x.org"}
    assert emails(team, cond(field, "within", "30")) == {"recent@x.org"}


def test_an_attribute_has_any_of_the_values_in_a_list_or_as_its_one_value(team):
    attribute(team, "models_used")
    PanelMemberFactory(team=team, email="list@x.org", attributes={"models_used": ["Llama", "Qwen"]})
    PanelMemberFactory(team=team, email="one@x.org", attributes={"models_used": "Mistral"})
    PanelMemberFactory(team=team, email="near@x.org", attributes={"models_used": ["Llama 3"]})
    PanelMemberFactory(team=team, email="none@x.org", attributes={})
    PanelMemberFactory(team=team, email="other@x.org", attributes={"languages": ["Llama"]})

    assert emails(team, cond("attributes.models_used", "in", ["Llama"])) == {"list@x.org"}
    assert emails(team, cond("attributes.models_used", "in", "Mistral, Qwen")) == {
        "list@x.org",
        "one@x.org",
    }


def test_an_attribute_mentions_a_text_in_any_of_its_values_ignoring_case(team):
    attribute(team, "use_case")
    PanelMemberFactory(team=team, email="a@x.org", attributes={"use_case": "Fine-tuning on GPUs"})
    PanelMemberFactory(team=team, email="b@x.org", attributes={"use_case": ["RAG", "fine-TUNING"]})
    PanelMemberFactory(team=team, email="c@x.org", attributes={"use_case": "Agents"})

    assert emails(team, cond("attributes.use_case", "contains", "fine-tuning")) == {
        "a@x.org",
        "b@x.org",
    }


def test_the_sqlite_attribute_conditions_match_as_postgresql_does():
    """The SQL SQLite runs (CI runs PostgreSQL: this keeps the other half honest)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE events_panelmember (email TEXT, attributes TEXT)")
    rows = {
        "list": {"models_used": ["Llama", "Qwen"]},
        "one": {"models_used": "Mistral"},
        "near": {"models_used": ["Llama 3"]},
        "accent": {"models_used": ["Méta 100%"]},
        "none": {},
    }
    for email, attributes in rows.items():
        db.execute("INSERT INTO events_panelmember VALUES (?, ?)", [email, json.dumps(attributes)])

    def where(sql: str, *params) -> set[str]:
        test = sql.format(attributes="attributes", path="?", wanted="?")
        found = db.execute("SELECT email FROM events_panelmember WHERE " + test, params)
        return {email for (email,) in found}

    path = '$."models_used"'
    assert where(segments.SQLITE_ANY_OF, path, json.dumps(["Llama"])) == {"list"}
    assert where(segments.SQLITE_ANY_OF, path, json.dumps(["Mistral", "Qwen"])) == {"list", "one"}
    assert where(segments.SQLITE_ANY_OF, path, json.dumps(["Méta 100%"])) == {"accent"}
    assert where(segments.SQLITE_MENTIONS, path, segments._like("llama")) == {"list", "near"}
    assert where(segments.SQLITE_MENTIONS, path, segments._like("100%")) == {"accent"}
    assert where(segments.SQLITE_MENTIONS, path, segments._like("0_")) == set()


def test_a_segment_works_as_a_subquery_too(team, other_team):
    """As a draw or an invitation would use it: `pk__in` a segment's rows."""
    attribute(team, "models_used")
    PanelMemberFactory(team=team, email="in@x.org", attributes={"models_used": ["Llama"]})
    PanelMemberFactory(team=team, email="out@x.org", attributes={"models_used": ["Qwen"]})
    PanelMemberFactory(team=other_team, email="in@x.org", attributes={"models_used": ["Llama"]})
    clean = segments.validate(
        team,
        [
            cond("attributes.models_used", "in", "Llama"),
            cond("attributes.models_used", "contains", "lam"),
        ],
    )
    chosen = PanelMember.objects.filter(pk__in=segments.members(team, clean).values("pk"))
    assert list(chosen.values_list("team_id", "email")) == [(team.pk, "in@x.org")]


def test_conditions_are_anded(team):
    PanelMemberFactory(team=team, email="both@x.org", role="researcher", attended=0)
    PanelMemberFactory(team=team, email="came@x.org", role="researcher", attended=2)
    PanelMemberFactory(team=team, email="dev@x.org", role="developer", attended=0)

    found = emails(team, cond("role", "in", ["researcher"]), cond("attended", "eq", 0))

    assert found == {"both@x.org"}


def test_a_segment_is_one_query_whatever_its_conditions(team, django_assert_num_queries):
    attribute(team, "models_used")
    PanelMemberFactory.create_batch(5, team=team, attributes={"models_used": ["Llama"]})
    clean = segments.validate(
        team,
        [
            cond("role", "in", ["developer"]),
            cond("attributes.models_used", "in", ["Llama"]),
            cond("last_contacted_at", "never"),
            cond("no_shows", "lte", 0),
        ],
    )
    with django_assert_num_queries(1):
        assert len(list(segments.members(team, clean))) == 5


def test_one_teams_segment_never_shows_another_teams_people(team, other_team):
    PanelMemberFactory(team=team, email="ours@x.org", consent=True)
    PanelMemberFactory(team=other_team, email="theirs@x.org", consent=True)
    # The same person in both panels is two rows: each team sees its own.
    PanelMemberFactory(team=other_team, email="ours@x.org", consent=True)

    clean = segments.validate(team, [cond("consent", "is", True)])
    found = list(segments.members(team, clean).values_list("team_id", "email"))
    assert found == [(team.pk, "ours@x.org")]
    assert list(segments.members(team, []).values_list("email", flat=True)) == ["ours@x.org"]


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ([cond("favourite_colour", "is", "red")], "There is no field “favourite_colour”"),
        ([cond("attributes.models_used", "in", "x")], "There is no field “attributes.models_used”"),
        ([cond("role", "gte", "2")], "choose one of “is any of”"),
        ([cond("attended", "eq", "many")], "“many” is not a whole number"),
        ([cond("attended", "gte", "2.5")], "“2.5” is not a whole number"),
        ([cond("attended", "gte", "99999999999999999999")], "the number is at most 1,000,000"),
        ([cond("last_contacted_at", "within", "-3")], "days cannot be negative"),
        ([cond("last_contacted_at", "within", -3)], "days cannot be negative"),
        ([cond("last_attended_at", "more_than", "")], "is not a whole number"),
        ([cond("role", "in", "wizard")], "“wizard” is not a role"),
        ([cond("role", "in", "")], "give at least one value"),
        ([cond("consent", "is", "maybe")], "answer yes or no"),
        ([cond("affiliation", "contains", "  ")], "type the text to look for"),
        ([cond("affiliation", "contains", "a\x00b")], "cannot contain a NUL character"),
        ([cond("role\x00", "in", "researcher")], "cannot contain a NUL character"),
        ([cond("consent", "is", "yes")] * 21, "at most 20 conditions"),
        ({"field": "role"}, "a list of conditions"),
        (["role"], "Condition 1 is not a field"),
    ],
)
def test_a_definition_that_makes_no_sense_is_refused_with_what_is_wrong(team, definition, message):
    with pytest.raises(ServiceError) as refusal:
        segments.validate(team, definition)
    assert message in refusal.value.message


def test_an_empty_segment_is_everyone_on_the_panel_page_but_is_not_saved(team, owner):
    assert segments.validate(team, []) == []
    with pytest.raises(ServiceError, match="Add at least one condition"):
        segments.create_segment(team=team, actor=owner, name="Everyone", definition=[])
    assert not Segment.objects.exists()


def test_another_teams_attribute_is_an_unknown_field(team, other_team):
    attribute(other_team, "models_used")
    with pytest.raises(ServiceError, match="There is no field"):
        segments.validate(team, [cond("attributes.models_used", "in", "Llama")])


def test_the_description_says_the_segment_in_words(team):
    clean = segments.validate(
        team,
        [
            cond("role", "in", ["researcher"]),
            cond("attended", "eq", 0),
            cond("last_contacted_at", "more_than", 30),
        ],
    )
    assert segments.describe(clean) == (
        "researchers, never attended, last contacted more than 30 days ago"
    )
    assert segments.describe([]) == "everyone in the panel"


def test_descriptions_of_the_other_conditions():
    said = segments.describe(
        [
            cond("role", "in", ["developer", "community"]),
            cond("no_shows", "gte", 2),
            cond("calls_answered", "eq", 1),
            cond("last_attended_at", "within", 1),
            cond("last_contacted_at", "never"),
            cond("consent", "is", True),
            cond("affiliation", "is", "ACME"),
            cond("attributes.models_used", "in", ["Llama", "Qwen"]),
            cond("attributes.use_case", "contains", "RAG"),
        ]
    )
    assert said == (
        "developers or community members, at least 2 no-shows, answered 1 call, attended "
        "within the last 1 day, never contacted, agreed to be contacted, affiliation is “ACME”, "
        "models_used includes “Llama” or “Qwen”, use_case mentions “RAG”"
    )


# Saved segments ---------------------------------------------------------------------------


def test_an_organizer_saves_a_segment_as_theirs_with_the_definition_typed(team):
    organizer = UserFactory()
    add_to_team(team, organizer, role="organizer")

    saved = segments.create_segment(
        team=team,
        actor=organizer,
        name="  Researchers   who never came ",
        definition=[cond("role", "in", "researcher"), cond("attended", "lte", "0")],
    )

    saved.refresh_from_db()
    assert saved.name == "Researchers who never came"
    assert saved.created_by == organizer
    assert saved.team == team
    assert saved.definition == [
        {"field": "role", "op": "in", "value": ["researcher"]},
        {"field": "attended", "op": "lte", "value": 0},
    ]


@pytest.mark.parametrize("role", ["reviewer", "door"])
def test_reviewers_and_door_staff_may_not_save_change_or_delete_segments(team, role):
    someone = UserFactory()
    add_to_team(team, someone, role=role)
    kept = SegmentFactory(team=team, name="Kept")
    definition = [cond("consent", "is", "yes")]

    with pytest.raises(ServiceError, match="owners and organizers"):
        segments.create_segment(team=team, actor=someone, name="Mine", definition=definition)
    with pytest.raises(ServiceError, match="owners and organizers"):
        segments.rename_segment(segment=kept, actor=someone, name="Renamed")
    with pytest.raises(ServiceError, match="owners and organizers"):
        segments.delete_segment(segment=kept, actor=someone)

    assert list(Segment.objects.values_list("name", flat=True)) == ["Kept"]


def test_another_teams_owner_may_not_touch_this_teams_segments(team, other_team):
    kept = SegmentFactory(team=team, name="Kept")
    stranger = other_team.memberships.get().user
    with pytest.raises(ServiceError):
        segments.delete_segment(segment=kept, actor=stranger)
    assert Segment.objects.filter(pk=kept.pk).exists()


def test_a_segment_name_is_needed_and_once_per_team(team, other_team, owner):
    SegmentFactory(team=team, name="Researchers")
    SegmentFactory(team=other_team, name="Developers")
    definition = [cond("consent", "is", "yes")]

    with pytest.raises(ServiceError, match="already has a segment named “researchers”"):
        segments.create_segment(team=team, actor=owner, name="researchers", definition=definition)
    with pytest.raises(ServiceError, match="Give the segment a name"):
        segments.create_segment(team=team, actor=owner, name=" ", definition=definition)
    with pytest.raises(ServiceError, match="at most 100 characters"):
        segments.create_segment(team=team, actor=owner, name="x" * 101, definition=definition)
    # Another team's names are theirs.
    segments.create_segment(team=team, actor=owner, name="Developers", definition=definition)
    assert Segment.objects.filter(team=team).count() == 2


def test_updating_a_segment_changes_its_name_and_conditions_or_nothing(team, owner):
    saved = SegmentFactory(team=team, name="Old", definition=[cond("consent", "is", True)])
    SegmentFactory(team=team, name="Taken")

    segments.update_segment(
        segment=saved, actor=owner, name="New", definition=[cond("attended", "gte", "1")]
    )
    saved.refresh_from_db()
    assert (saved.name, saved.definition) == ("New", [cond("attended", "gte", 1)])

    with pytest.raises(ServiceError):
        segments.update_segment(
            segment=saved, actor=owner, name="Newer", definition=[cond("attended", "gte", "-1")]
        )
    with pytest.raises(ServiceError):
        segments.update_segment(segment=saved, actor=owner, name="Taken")
    saved.refresh_from_db()
    assert (saved.name, saved.definition) == ("New", [cond("attended", "gte", 1)])

    segments.rename_segment(segment=saved, actor=owner, name="Renamed")
    saved.refresh_from_db()
    assert saved.name == "Renamed"


def test_deleting_a_segment_leaves_the_people(team, owner):
    PanelMemberFactory(team=team, consent=True)
    saved = SegmentFactory(team=team)

    segments.delete_segment(segment=saved, actor=owner)

    assert not Segment.objects.exists()
    assert team.panel.count() == 1


def test_a_segment_naming_a_removed_attribute_says_so(team):
    mapped = attribute(team, "models_used")
    saved = SegmentFactory(team=team, definition=[cond("attributes.models_used", "in", ["x"])])
    assert segments.definition_of(saved)
    mapped.delete()
    with pytest.raises(ServiceError, match=r"There is no field “attributes\.models_used”"):
        segments.definition_of(saved)
