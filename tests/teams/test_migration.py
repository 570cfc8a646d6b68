"""Migrations teams (events 0012-0014, accounts 0003) move every event and open call into a
team made of its organizers: one team per distinct set of organizers, named after the set's
first event (or call), its organizers its owners, with a history row each; a flagged organizer
who organized nothing gets a team of their own. Nothing else may change: a database seeded
before them is checked row by row after them, and after going back."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from accounts.models import User
from events.models import (
    Event,
    Membership,
    OpenCall,
    PoolTag,
    Registration,
    Review,
    Session,
    Submission,
    Team,
    TeamHistory,
)
from tests.migrations import migrate_to_latest, migrator  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BEFORE = ("events", "0011_screening_on_the_question_engine")
LONG_TITLE = "A call with a title far longer than a team's name may be: " + "very " * 20 + "long"

# Who organized what before teams (by the person's first name).
EVENTS = [
    # (title, organizers, time zone), in the order they were created
    ("Spring feedback: the new model", {"ada", "bob"}, "Europe/Berlin"),
    ("Prototype demo", {"bob", "ada"}, "Europe/Paris"),  # the same people: the same team
    ("Spring feedback: the new model", {"cy"}, "America/Montreal"),  # same title, new people
    # Made in the admin, its organizers since gone: only staff ran it, and only staff run its
    # team, which has no members.
    ("Nobody's event", set(), "UTC"),
]
CALLS = [
    ("What do you expect?", "expect", {"ada", "bob"}),  # the people of the first two events
    (LONG_TITLE, "long", {"cy", "ada"}),  # a set of its own: a team named after the call
]
FLAGGED = {"ada", "cy", "dee", "zed"}  # bob was added as a co-organizer by email: no flag
PEOPLE = {
    "ada": ("Ada", "Europe/Paris"),
    "bob": ("Bob", "Europe/London"),
    "cy": ("Cy", "America/Montreal"),
    "dee": ("Dee", "Asia/Tokyo"),  # flagged, organized nothing
    "zed": ("", "UTC"),  # flagged, organized nothing, no display name
    "eve": ("Eve", "UTC"),
    "fay": ("Fay", "UTC"),
}


def email(name: str) -> str:
    return f"{name}@example.com"


def seed(apps) -> None:
    """A database as it was before teams, written with the models of that time."""
    User = apps.get_model("accounts", "User")
    Event = apps.get_model("events", "Event")
    Session = apps.get_model("events", "Session")
    Registration = apps.get_model("events", "Registration")
    Questionnaire = apps.get_model("events", "Questionnaire")
    OpenCall = apps.get_model("events", "OpenCall")
    Submission = apps.get_model("events", "Submission")
    Review = apps.get_model("events", "Review")
    PoolTag = apps.get_model("events", "PoolTag")
    people = {
        name: User.objects.create(
            email=email(name),
            display_name=display,
            timezone=zone,
            is_organizer=name in FLAGGED,
        )
        for name, (display, zone) in PEOPLE.items()
    }
    start = timezone.now() + timedelta(days=7)
    sessions = []
    for n, (title, organizers, zone) in enumerate(EVENTS):
        event = Event.objects.create(title=title, timezone=zone, status="published")
        event.organizers.set([people[name] for name in organizers])
        for k in range(2 if n == 0 else 1):
            sessions.append(
                Session.objects.create(
                    event=event,
                    starts_at=start + timedelta(days=n, hours=k),
                    ends_at=start + timedelta(days=n, hours=k + 1),
                    capacity=5,
                    seats_taken=1,
                    location=f"Room {n}{k}",
                )
            )
    for session in sessions:
        Registration.objects.create(
            user=people["eve"],
            session=session,
            status="confirmed",
            confirmed_at=start - timedelta(days=1),
            answers={"1": "an answer"},
        )
    Registration.objects.create(
        user=people["fay"], session=sessions[0], status="waitlisted", waitlisted_at=start
    )
    Registration.objects.create(
        user=people["fay"], session=sessions[-1], status="cancelled", cancelled_at=start
    )

    for title, slug, organizers in CALLS:
        call = OpenCall.objects.create(
            title=title, slug=slug, status="published", questionnaire=Questionnaire.objects.create()
        )
        call.organizers.set([people[name] for name in organizers])
        tag = PoolTag.objects.create(call=call, name="shortlist")
        for who in ("eve", "stranger"):
            submission = Submission.objects.create(
                call=call,
                email=email(who),
                user=people.get(who),
                name=who.title(),
                nonce=f"nonce-{slug}-{who}",
                submitted_at=start - timedelta(days=3),
                confirmed_at=start - timedelta(days=2),
            )
            submission.tags.add(tag)
            for score, reviewer in enumerate(sorted(organizers), start=2):
                Review.objects.create(
                    submission=submission, reviewer=people[reviewer], score=score, note=who
                )


# The rows a migration must not touch, and the one column teams add to two of them.
TABLES = {
    "accounts.User": User,
    "events.Event": Event,
    "events.Session": Session,
    "events.Registration": Registration,
    "events.OpenCall": OpenCall,
    "events.Submission": Submission,
    "events.Review": Review,
    "events.PoolTag": PoolTag,
}
ADDED = {"team_id"}
# Columns the migrations may change: the flag goes, and 0015 (after the teams) gives an event
# that asked no screening questions an empty questionnaire of its own.
GONE = {"is_organizer", "screening_id"}


def rows(model) -> dict[int, dict]:
    return {row["id"]: row for row in model.objects.order_by("pk").values()}


def old_rows(apps) -> dict[str, dict[int, dict]]:
    return {label: rows(apps.get_model(label)) for label in TABLES}


def tags(submission_model) -> set[tuple[int, int]]:
    return set(submission_model.tags.through.objects.values_list("submission_id", "pooltag_id"))


def organizer_sets(apps) -> dict[str, dict[int, frozenset[str]]]:
    """Each event's and call's organizers, by email, with the models of before teams."""
    return {
        label: {
            obj.pk: frozenset(obj.organizers.values_list("email", flat=True))
            for obj in apps.get_model(label).objects.all()
        }
        for label in ("events.Event", "events.OpenCall")
    }


def assert_rows_unchanged(before: dict[str, dict[int, dict]], after_of) -> None:
    """Every row of `before` is still there, with every column it had (but those teams
    removed), and no row came or went."""
    for label, old in before.items():
        new = after_of(label)
        assert sorted(new) == sorted(old), f"{label}: rows came or went"
        for pk, row in old.items():
            kept = {key: value for key, value in row.items() if key not in GONE}
            assert {key: new[pk][key] for key in kept} == kept, f"{label} {pk} changed"


def applied(app: str) -> set[str]:
    return {
        name for (label, name) in MigrationRecorder(connection).applied_migrations() if label == app
    }


def test_every_event_and_call_lands_in_the_team_of_its_organizers_and_nothing_is_lost(
    migrator,  # noqa: F811 (the fixture imported above)
):
    apps = migrator(*BEFORE)
    assert "0003_no_organizer_flag" not in applied("accounts")
    seed(apps)
    before = old_rows(apps)
    old_tags = tags(apps.get_model("events", "Submission"))
    sets = organizer_sets(apps)

    migrate_to_latest()

    # Row by row, nothing lost and nothing changed but the new team.
    assert_rows_unchanged(before, lambda label: rows(TABLES[label]))
    assert tags(Submission) == old_tags
    for model in (Event, OpenCall):
        assert not model.objects.filter(team=None).exists()

    # One team per distinct set of organizers, in the order of its first event, then call.
    expected_teams: dict[frozenset[str], tuple[str, str]] = {}  # set -> (name, time zone)
    for title, organizers, zone in EVENTS:
        expected_teams.setdefault(frozenset(map(email, organizers)), (title, zone))
    for title, _, organizers in CALLS:
        first = min(organizers, key=list(PEOPLE).index)  # the first by id
        expected_teams.setdefault(frozenset(map(email, organizers)), (title, PEOPLE[first][1]))
    by_owners = {}
    for team in Team.objects.all():
        owners = frozenset(team.memberships.values_list("user__email", flat=True))
        assert set(team.memberships.values_list("role", flat=True)) <= {"owner"}, team
        by_owners[owners] = team
    for organizers, (name, zone) in expected_teams.items():
        assert organizers in by_owners, f"no team owned by exactly {sorted(organizers)}"
        team = by_owners[organizers]
        assert (team.name, team.timezone) == (name[:100], zone)
        history = team.history.order_by("pk")
        assert sorted(history.values_list("action", "role", "subject_email")) == sorted(
            ("added", "owner", address) for address in organizers
        )
        assert not history.exclude(actor=None).exists()

    nobodys = Event.objects.get(title="Nobody's event").team
    assert nobodys.name == "Nobody's event" and not nobodys.memberships.exists()

    # Each event and call is in the team of the people who organized it.
    for label, model in (("events.Event", Event), ("events.OpenCall", OpenCall)):
        for pk, organizers in sets[label].items():
            assert model.objects.get(pk=pk).team == by_owners[organizers], (label, pk)

    # Flagged organizers with nothing to organize get a team of their own; nobody else does.
    own = {
        frozenset({email("dee")}): "Dee's team",
        frozenset({email("zed")}): "zed's team",
    }
    for owners, name in own.items():
        assert owners in by_owners, f"{name}: no team owned by {sorted(owners)} alone"
        team = by_owners[owners]
        assert team.name == name
        assert not team.events.exists() and not team.calls.exists()
        assert list(team.history.values_list("action", "role")) == [("added", "owner")]
    assert set(by_owners) == set(expected_teams) | set(own)
    assert Team.objects.count() == len(expected_teams) + len(own)
    assert TeamHistory.objects.count() == Membership.objects.count()
    assert not Membership.objects.filter(user__email__in=[email("eve"), email("fay")]).exists()

    # Short names: unique (two teams are named after the same title), and fit their column.
    slugs = list(Team.objects.values_list("slug", flat=True))
    assert len(set(slugs)) == len(slugs)
    assert all(slug and len(slug) <= 50 for slug in slugs)
    spring = Team.objects.filter(name=EVENTS[0][0]).order_by("pk")
    assert [team.slug for team in spring] == [
        "spring-feedback-the-new-model",
        "spring-feedback-the-new-model-2",
    ]


def test_going_back_gives_every_event_and_call_its_organizers_again(
    migrator,  # noqa: F811 (the fixture imported above)
):
    apps = migrator(*BEFORE)
    seed(apps)
    before = old_rows(apps)
    old_tags = tags(apps.get_model("events", "Submission"))
    sets = organizer_sets(apps)
    migrate_to_latest()

    apps = migrator(*BEFORE)

    assert "0003_no_organizer_flag" not in applied("accounts")
    assert organizer_sets(apps) == sets
    assert_rows_unchanged(before, lambda label: rows(apps.get_model(label)))
    assert tags(apps.get_model("events", "Submission")) == old_tags
    # The flag comes back for those who had it; the attendees never had it. (Bob, added as a
    # co-organizer without the flag, gets it: he runs events.)
    flagged = set(
        apps.get_model("accounts", "User")
        .objects.filter(is_organizer=True)
        .values_list("email", flat=True)
    )
    assert flagged - {email("bob")} == set(map(email, FLAGGED))
