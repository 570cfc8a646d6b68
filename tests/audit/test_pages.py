"""The owners' audit log pages: what an owner reads (who, what, about which object, what
changed, in their language), the filters, the pages, the CSV; and that neither the number of
entries nor of people makes a page run more queries."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import AuditEntry
from events.services import audit, scheduling
from events.services import registration as registration_service
from tests.factories import EventFactory, SessionFactory, UserFactory, add_to_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    owner = UserFactory(display_name="Olive Owner")
    event = EventFactory(organizer=owner, title="Launch feedback")
    team = event.team
    organizer = UserFactory(display_name="Oscar Organizer")
    add_to_team(team, organizer, role="organizer")
    session = SessionFactory(event=event, capacity=10)
    other_event = EventFactory(team=team, title="Other event")
    return owner, organizer, team, event, session, other_event


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_an_owner_reads_who_changed_what_in_words(world, client_for):
    owner, organizer, team, _event, session, _other = world
    scheduling.update_session(session=session, actor=organizer, capacity=12)
    attendee = UserFactory(email="ada@example.com", display_name="Ada Lovelace")
    registration = registration_service.register(user=attendee, session=session)
    registration_service.cancel(registration=registration, actor=organizer, by_organizer=True)

    page = client_for(owner).get(reverse("manage:team_audit", args=[team.slug]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Oscar Organizer (Organizer)" in html
    assert "Session changed" in html and "capacity: 10 → 12" in html
    assert "Registration cancelled by the team" in html
    assert f"registration #{registration.pk}" in html
    assert f"person (id): {attendee.pk}" in html
    # The attendee is a number here, never a name or an address.
    assert "Ada" not in html and "ada@example.com" not in html


def test_the_same_log_reads_in_french(world, client_for):
    owner, organizer, team, _event, session, _other = world
    scheduling.update_session(session=session, actor=organizer, capacity=12)
    client = client_for(owner)
    client.cookies["django_language"] = "fr"
    html = client.get(reverse("manage:team_audit", args=[team.slug])).content.decode()
    assert "Journal d’audit" in html
    assert "Session modifiée" in html
    assert "capacité" in html.lower()


def test_an_events_log_shows_that_event_only(world, client_for):
    owner, organizer, _team, event, _session, other_event = world
    scheduling.update_event(event=event, actor=organizer, title="Launch feedback, take 2")
    scheduling.update_event(event=other_event, actor=organizer, title="Elsewhere")

    html = client_for(owner).get(reverse("manage:event_audit", args=[event.pk])).content.decode()

    assert "take 2" in html
    assert "Elsewhere" not in html


def test_the_filters_narrow_by_action_kind_person_and_days(world, client_for):
    owner, organizer, team, event, session, _other = world
    scheduling.update_event(event=event, actor=organizer, title="By the organizer")
    scheduling.update_session(session=session, actor=owner, capacity=11)
    old = AuditEntry.objects.get(action="session.updated")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    client = client_for(owner)
    url = reverse("manage:team_audit", args=[team.slug])

    session_row, event_row = 'title="session.updated"', 'title="event.updated"'
    by_kind = client.get(url, {"action": "session"}).content.decode()
    assert session_row in by_kind and event_row not in by_kind
    by_person = client.get(url, {"actor": organizer.pk}).content.decode()
    assert event_row in by_person and session_row not in by_person
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    recent = client.get(url, {"since": since}).content.decode()
    assert event_row in recent and session_row not in recent


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "yesterday"}, "Enter a valid date."),
        ({"since": "2026-05-02", "until": "2026-05-01"}, "The first day comes after the last"),
        ({"action": "event.exploded"}, "Select a valid choice."),
        ({"actor": "nobody"}, "Select a valid choice."),
        ({"page": "x"}, "is not a page number"),
    ],
)
def test_a_filter_that_makes_no_sense_is_a_400_that_says_why(world, client_for, query, message):
    owner, _organizer, team, *_ = world
    response = client_for(owner).get(reverse("manage:team_audit", args=[team.slug]), query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_csv_holds_every_entry_the_filter_keeps(world, client_for):
    owner, organizer, team, event, session, _other = world
    scheduling.update_session(session=session, actor=organizer, capacity=12)
    scheduling.update_event(event=event, actor=organizer, title="=HYPERLINK(evil)")

    response = client_for(owner).get(
        reverse("manage:team_audit_csv", args=[team.slug]), {"action": "event.updated"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    header, *rows = _csv(response)
    assert header[:6] == ["Time", "Who (id)", "Who", "Role", "Action (code)", "Action"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Action (code)"] == "event.updated"
    assert row["Who (id)"] == str(organizer.pk)
    assert row["Event (id)"] == str(event.pk)
    assert "'=HYPERLINK" not in row["Details"] or row["Details"].startswith("title")
    assert '"title": [' in row["Details (JSON)"]


def test_a_bad_filter_in_the_csv_is_a_400(world, client_for):
    owner, _organizer, team, *_ = world
    response = client_for(owner).get(
        reverse("manage:team_audit_csv", args=[team.slug]), {"until": "soon"}
    )
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def _entries(team, event, actors, count):
    with transaction.atomic():
        for n in range(count):
            audit.record(
                actor=actors[n % len(actors)],
                action="session.updated",
                team=team,
                event=event,
                object_type="session",
                object_id=n,
                summary={"changes": {"capacity": [n, n + 1]}},
            )


def test_the_pages_queries_do_not_grow_with_entries_or_people(world, client_for):
    owner, _organizer, team, event, _session, _other = world
    client = client_for(owner)
    team_url = reverse("manage:team_audit", args=[team.slug])
    event_url = reverse("manage:event_audit", args=[event.pk])
    _entries(team, event, [owner], 5)
    with CaptureQueriesContext(connection) as few_team:
        assert client.get(team_url).status_code == 200
    with CaptureQueriesContext(connection) as few_event:
        assert client.get(event_url).status_code == 200

    people = [UserFactory() for _ in range(20)]
    for person in people:
        add_to_team(team, person, role="organizer")
    _entries(team, event, people, 200)
    with CaptureQueriesContext(connection) as many_team:
        page = client.get(team_url).content.decode()
    with CaptureQueriesContext(connection) as many_event:
        assert client.get(event_url).status_code == 200

    assert page.count("<tr>") == 1 + 50  # the header and a full page
    assert "Page 1 of 5" in page
    assert len(many_team.captured_queries) == len(few_team.captured_queries)
    assert len(many_event.captured_queries) == len(few_event.captured_queries)


def test_a_page_past_the_end_shows_the_last_one(world, client_for):
    owner, _organizer, team, event, *_ = world
    _entries(team, event, [owner], 60)
    html = (
        client_for(owner)
        .get(reverse("manage:team_audit", args=[team.slug]), {"page": "99"})
        .content.decode()
    )
    assert "Page 2 of 2" in html
