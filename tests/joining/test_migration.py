"""Migration 0035: sessions made before there was a choice become in person, online or hybrid
from what they had, and every registration gets a join token of its own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from events.models import Registration, Session
from tests.migrations import migrate_to_latest, migrator  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BEFORE = ("events", "0034_audit_log")
AFTER = ("events", "0035_join_links")


def test_sessions_get_their_format_from_what_they_had_and_registrations_their_own_tokens(
    migrator,  # noqa: F811 (the fixture)
):
    apps = migrator(*BEFORE)
    Team = apps.get_model("events", "Team")
    Questionnaire = apps.get_model("events", "Questionnaire")
    Event = apps.get_model("events", "Event")
    OldSession = apps.get_model("events", "Session")
    OldRegistration = apps.get_model("events", "Registration")
    team = Team.objects.create(name="Crew", slug="crew")
    event = Event.objects.create(
        title="Preview", team=team, screening=Questionnaire.objects.create()
    )
    start = timezone.now() + timedelta(days=3)
    made = {}
    for name, location, url in [
        ("room", "Room 1", ""),
        ("online", "", "https://meet.example.com/a"),
        ("both", "Room 2", "https://meet.example.com/b"),
        ("neither", "", ""),
    ]:
        made[name] = OldSession.objects.create(
            event=event,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=5,
            location=location,
            online_url=url,
        ).pk
    for n in range(3):
        # The accounts table stays at its latest migration: today's model writes it.
        person = User.objects.create(email=f"p{n}@example.com")
        for pk in made.values():
            OldRegistration.objects.create(session_id=pk, user_id=person.pk, status="confirmed")

    migrator(*AFTER)
    migrate_to_latest()

    formats = {name: Session.objects.get(pk=pk).format for name, pk in made.items()}
    assert formats == {
        "room": "in_person",
        "online": "online",
        "both": "hybrid",
        "neither": "in_person",
    }
    tokens = list(Registration.objects.values_list("join_token", flat=True))
    assert len(tokens) == 12 and len(set(tokens)) == 12
    assert all(len(token) == 32 for token in tokens)
    # The event's window is the default one: from 15 minutes before the start to the end.
    session = Session.objects.select_related("event").get(pk=made["online"])
    assert session.join_window == (start - timedelta(minutes=15), start + timedelta(hours=1))
