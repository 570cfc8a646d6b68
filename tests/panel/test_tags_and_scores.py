"""The pool's tags and review scores reach the panel: a rebuild and the minute's refresh fill
`tags` (the team's tag names on the person's confirmed submissions, across its calls) and
`review_score` (the mean of the team's reviews of them), and segments filter on both."""

import json
import sqlite3
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events import tasks
from events.models import PanelMember, Response, Review, Submission, Team
from events.services import ServiceError, open_calls, panel, segments
from tests.factories import OrganizerFactory, PanelMemberFactory, add_to_team

from .conftest import confirmed, make_call, row

pytestmark = pytest.mark.django_db


def cond(field, op, value=None) -> dict:
    return {"field": field, "op": op, "value": value}


def emails(team, *conditions) -> set[str]:
    clean = segments.validate(team, list(conditions))
    return set(segments.members(team, clean).values_list("email", flat=True))


@pytest.fixture
def second_call(organizer, team):
    return make_call(organizer, team, title="Second call", slug="second")


def test_a_rebuild_gathers_tags_across_calls_and_the_mean_of_every_review(
    organizer, team, call, second_call
):
    colleague = OrganizerFactory()
    add_to_team(team, colleague)
    first = confirmed(call, "ada@example.com", consent=True)
    second = confirmed(second_call, "ada@example.com", consent=True)
    confirmed(call, "grace@example.com", consent=True)
    open_calls.set_tags(submission=first, actor=organizer, names=["Shortlist", "gpu"])
    open_calls.set_tags(submission=second, actor=organizer, names=["shortlist", "agents"])
    open_calls.review(submission=first, reviewer=organizer, score=5)
    open_calls.review(submission=first, reviewer=colleague, score=4)
    open_calls.review(submission=second, reviewer=organizer, score=2)

    panel.refresh(team=team)

    ada = row(team, "ada@example.com")
    assert ada.tags == ["agents", "gpu", "shortlist"]
    assert ada.review_score == pytest.approx(11 / 3)
    grace = row(team, "grace@example.com")
    assert (grace.tags, grace.review_score) == ([], None)


def test_another_teams_tags_and_reviews_never_count(team, call):
    stranger = OrganizerFactory()
    theirs = make_call(stranger, title="Theirs", slug="theirs")
    confirmed(call, "ada@example.com")
    elsewhere = confirmed(theirs, "ada@example.com")
    open_calls.set_tags(submission=elsewhere, actor=stranger, names=["theirs"])
    open_calls.review(submission=elsewhere, reviewer=stranger, score=1)

    panel.refresh(team=team)

    assert (row(team, "ada@example.com").tags, row(team, "ada@example.com").review_score) == (
        [],
        None,
    )


def _an_hour_ago(team) -> None:
    """Everything so far happened an hour ago, and the panel took it in then."""
    long_ago = timezone.now() - timedelta(hours=1)
    Submission.objects.update(confirmed_at=long_ago - timedelta(hours=1))
    Response.objects.update(updated_at=long_ago - timedelta(hours=1))
    Review.objects.update(updated_at=long_ago - timedelta(hours=1))
    panel.refresh(team=team)
    Team.objects.filter(pk=team.pk).update(panel_refreshed_at=long_ago)
    PanelMember.objects.update(refreshed_at=long_ago)


def test_the_minutes_refresh_takes_in_a_tag_changed_on_the_submissions_page(
    client, organizer, team, call
):
    ada = confirmed(call, "ada@example.com", consent=True)
    confirmed(call, "grace@example.com", consent=True)
    tasks.refresh_panels()
    _an_hour_ago(team)
    client.force_login(organizer)

    client.post(reverse("manage:submission_tags", args=[ada.pk]), {"tags": "Shortlist, gpu"})
    written = panel.refresh_changed()

    assert written == 1  # Ada alone
    assert row(team, "ada@example.com").tags == ["gpu", "shortlist"]

    client.post(reverse("manage:submission_tags", args=[ada.pk]), {"tags": "gpu"})
    panel.refresh_changed()
    assert row(team, "ada@example.com").tags == ["gpu"]


def test_the_minutes_refresh_takes_in_tags_given_to_many_in_the_pool(client, organizer, team, call):
    confirmed(call, "ada@example.com", consent=True)
    grace = confirmed(call, "grace@example.com", consent=True)
    tasks.refresh_panels()
    _an_hour_ago(team)
    client.force_login(organizer)

    client.post(
        reverse("manage:pool_action", args=[call.pk]),
        {"action": "tag", "tag": "Maybe", "ids": [grace.pk]},
    )
    panel.refresh_changed()

    assert row(team, "grace@example.com").tags == ["maybe"]
    assert row(team, "ada@example.com").tags == []


def test_the_minutes_refresh_takes_in_a_review_given_or_changed(organizer, team, call):
    ada = confirmed(call, "ada@example.com", consent=True)
    tasks.refresh_panels()
    _an_hour_ago(team)

    open_calls.review(submission=ada, reviewer=organizer, score=3)
    panel.refresh_changed()
    assert row(team, "ada@example.com").review_score == 3

    _an_hour_ago(team)
    open_calls.review(submission=ada, reviewer=organizer, score=5)
    panel.refresh_changed()
    assert row(team, "ada@example.com").review_score == 5


def test_a_tag_condition_has_any_or_none_of_the_names_ignoring_case(team):
    PanelMemberFactory(team=team, email="short@x.org", tags=["gpu", "shortlist"])
    PanelMemberFactory(team=team, email="gpu@x.org", tags=["gpu"])
    PanelMemberFactory(team=team, email="bare@x.org", tags=[])

    assert emails(team, cond("tags", "has_any", "Shortlist")) == {"short@x.org"}
    assert emails(team, cond("tags", "has_any", ["shortlist", "gpu"])) == {
        "short@x.org",
        "gpu@x.org",
    }
    assert emails(team, cond("tags", "has_none", "shortlist")) == {"gpu@x.org", "bare@x.org"}
    assert emails(team, cond("tags", "has_none", "gpu, shortlist")) == {"bare@x.org"}


def test_a_score_condition_is_at_least_or_at_most_and_never_matches_someone_unscored(team):
    PanelMemberFactory(team=team, email="high@x.org", review_score=4.5)
    PanelMemberFactory(team=team, email="edge@x.org", review_score=3.5)
    PanelMemberFactory(team=team, email="low@x.org", review_score=11 / 3)
    PanelMemberFactory(team=team, email="unscored@x.org", review_score=None)

    assert emails(team, cond("review_score", "gte", "3.5")) == {
        "high@x.org",
        "edge@x.org",
        "low@x.org",
    }
    assert emails(team, cond("review_score", "gte", 3.7)) == {"high@x.org"}
    assert emails(team, cond("review_score", "lte", "3.5")) == {"edge@x.org"}
    assert emails(team, cond("review_score", "lte", "5")) == {
        "high@x.org",
        "edge@x.org",
        "low@x.org",
    }


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (cond("review_score", "gte", "7"), "scores go from 1 to 5"),
        (cond("review_score", "gte", "0.5"), "scores go from 1 to 5"),
        (cond("review_score", "lte", "3.25"), "one decimal place at most"),
        (cond("review_score", "gte", "high"), "“high” is not a score"),
        (cond("review_score", "gte", "-2"), "“-2” is not a score"),
        (cond("review_score", "gte", ""), "give a score from 1 to 5"),
        (cond("review_score", "gte", True), "is not a score"),
        (cond("review_score", "gte", "3\x00"), "cannot contain a NUL character"),
        (cond("review_score", "eq", "3"), "choose one of “is at least”, “is at most”"),
        (cond("tags", "has_any", ""), "give at least one value"),
        (cond("tags", "has_any", " , "), "give at least one value"),
        (cond("tags", "has_none", ["gpu\x00"]), "cannot contain a NUL character"),
        (cond("tags", "in", "gpu"), "choose one of “has any of”, “has none of”"),
    ],
)
def test_a_bad_tag_or_score_condition_is_refused_with_what_is_wrong(team, condition, message):
    with pytest.raises(ServiceError) as refusal:
        segments.validate(team, [condition])
    assert message in refusal.value.message


def test_tag_and_score_conditions_in_words(team):
    clean = segments.validate(
        team,
        [
            cond("tags", "has_any", "Shortlist, gpu"),
            cond("tags", "has_none", "declined"),
            cond("review_score", "gte", "3.5"),
            cond("review_score", "lte", "4"),
        ],
    )
    assert clean[2]["value"] == 3.5
    assert segments.describe(clean) == (
        "tagged “shortlist” or “gpu”, not tagged “declined”, mean review score at least 3.5, "
        "mean review score at most 4"
    )


def test_the_panel_page_shows_tags_and_the_score(client, owner, team):
    PanelMemberFactory(team=team, email="ada@x.org", tags=["gpu", "shortlist"], review_score=11 / 3)
    PanelMemberFactory(team=team, email="grace@x.org")
    client.force_login(owner)

    page = client.get(
        reverse("manage:panel", args=[team.slug]),
        {"c-0-field": "tags", "c-0-op": "has_any", "c-0-value": "gpu"},
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert '<span class="tag">gpu</span><span class="tag">shortlist</span>' in html
    assert ">3.7<" in html
    assert "grace@x.org" not in html
    assert "tagged “gpu”" in html


def test_the_sqlite_tag_condition_matches_as_postgresql_does():
    """The SQL SQLite runs for tags: the list's own items (CI runs PostgreSQL)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE events_panelmember (email TEXT, tags TEXT)")
    for email, tags in {"both": ["gpu", "shortlist"], "gpu": ["gpu"], "bare": []}.items():
        db.execute("INSERT INTO events_panelmember VALUES (?, ?)", [email, json.dumps(tags)])

    def where(*wanted: str) -> set[str]:
        test = segments.SQLITE_ANY_OF.format(attributes="tags", path="?", wanted="?")
        found = db.execute(
            "SELECT email FROM events_panelmember WHERE " + test, ["$", json.dumps(wanted)]
        )
        return {email for (email,) in found}

    assert where("shortlist") == {"both"}
    assert where("gpu", "shortlist") == {"both", "gpu"}
    assert where("agents") == set()
