"""The attendance pages: who may open them, the check-in list with and without JavaScript, the
QR link (the one GET that acts, and only for an organizer of the event), walk-ins, summaries,
corrections and the CSV export."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import segno
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from events.models import Notification, Registration, Session
from events.outbox import rendering
from events.services import attendance, scheduling
from events.services import registration as registration_service
from tests.factories import EventFactory, OrganizerFactory, RegistrationFactory, UserFactory

from .conftest import door_session, move, seat

pytestmark = pytest.mark.django_db
Status = Registration.Status
JSON = {"HTTP_ACCEPT": "application/json"}


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def qr_url(registration: Registration) -> str:
    return reverse("events:checkin_qr", args=[registration.checkin_token])


def checked_in(registration: Registration) -> bool:
    return Registration.objects.get(pk=registration.pk).checked_in_at is not None


# Who may open what -----------------------------------------------------------------------------

# name, method, which object's pk goes in the URL, POST data.
URLS = [
    ("manage:checkin", "get", "session", {}),
    ("manage:checkin_counts", "get", "session", {}),
    ("manage:walk_in", "post", "session", {"email": "walker@example.com"}),
    ("manage:check_in", "post", "registration", {}),
    ("manage:undo_check_in", "post", "registration", {}),
    ("manage:correct", "post", "registration", {"attended": "1"}),
    ("manage:attendance", "get", "session", {}),
    ("manage:attendance_csv", "get", "session", {}),
    ("manage:event_attendance", "get", "event", {}),
    ("manage:event_attendance_csv", "get", "event", {}),
]
IDS = [f"{name.split(':')[1]}-{method}" for name, method, _target, _data in URLS]


@pytest.fixture
def world(event, session):
    (registration,) = seat(session)
    return {"event": event, "session": session, "registration": registration}


def call(client: Client, world, name, method, target, data):
    return getattr(client, method)(reverse(name, args=[world[target].pk]), data)


def nothing_changed(world) -> None:
    registration = Registration.objects.get(pk=world["registration"].pk)
    assert registration.checked_in_at is None and not registration.no_show
    assert registration.changes.count() == 1  # its creation
    assert not Registration.objects.filter(user__email="walker@example.com").exists()


@pytest.mark.parametrize(("name", "method", "target", "data"), URLS, ids=IDS)
def test_every_attendance_url_sends_anonymous_visitors_to_log_in(world, name, method, target, data):
    response = call(Client(), world, name, method, target, data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    nothing_changed(world)


@pytest.mark.parametrize(("name", "method", "target", "data"), URLS, ids=IDS)
def test_every_attendance_url_is_a_404_for_someone_who_organizes_nothing(
    world, name, method, target, data, client_for
):
    response = call(client_for(UserFactory()), world, name, method, target, data)

    assert response.status_code == 404
    nothing_changed(world)


@pytest.mark.parametrize(("name", "method", "target", "data"), URLS, ids=IDS)
def test_every_attendance_url_is_a_404_for_the_attendee_themself(
    world, name, method, target, data, client_for
):
    attendee = world["registration"].user

    response = call(client_for(attendee), world, name, method, target, data)

    assert response.status_code == 404
    nothing_changed(world)


@pytest.mark.parametrize(("name", "method", "target", "data"), URLS, ids=IDS)
def test_every_attendance_url_is_a_404_for_the_organizer_of_another_event(
    world, name, method, target, data, client_for
):
    other = OrganizerFactory()
    seat(door_session(event=EventFactory(organizer=other)))

    response = call(client_for(other), world, name, method, target, data)

    assert response.status_code == 404
    nothing_changed(world)


@pytest.mark.parametrize(("name", "method", "target", "data"), URLS, ids=IDS)
def test_every_attendance_url_works_for_the_events_organizer(
    world, owner_client, name, method, target, data
):
    move(world["session"], starts_in=-timedelta(minutes=5))  # so corrections are allowed

    response = call(owner_client, world, name, method, target, data)

    assert response.status_code == (200 if method == "get" else 302)


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("manage:walk_in", "session"),
        ("manage:check_in", "registration"),
        ("manage:undo_check_in", "registration"),
        ("manage:correct", "registration"),
    ],
)
def test_state_changes_refuse_get(world, owner_client, name, target):
    response = owner_client.get(reverse(name, args=[world[target].pk]))

    assert response.status_code == 405
    nothing_changed(world)


def test_staff_may_check_people_in_at_any_event(world, client_for):
    staff = UserFactory(is_staff=True)

    response = client_for(staff).post(reverse("manage:check_in", args=[world["registration"].pk]))

    assert response.status_code == 302
    assert checked_in(world["registration"])


# The QR code's URL -----------------------------------------------------------------------------


def test_an_organizer_opening_the_qr_link_checks_the_person_in_and_sees_who(
    session, owner, owner_client
):
    (registration,) = seat(session, display_name="Ada Lovelace")

    response = owner_client.get(qr_url(registration))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Checked in" in html and "Ada Lovelace" in html and registration.user.email in html
    assert 'class="scan-result scan-in"' in html
    assert checked_in(registration)
    assert registration.changes.order_by("pk").last().note == "Checked in (QR code)"
    assert response["Cache-Control"].startswith("max-age=0")


def test_scanning_a_code_twice_says_already_checked_in(session, owner_client):
    (registration,) = seat(session, display_name="Ada Lovelace")
    owner_client.get(qr_url(registration))

    html = owner_client.get(qr_url(registration)).content.decode()

    assert "Already checked in" in html and "was already checked in at" in html
    assert 'class="scan-result scan-again"' in html
    assert registration.changes.filter(note__startswith="Checked in").count() == 1


def test_scanning_the_code_of_a_cancelled_registration_refuses_and_offers_a_walk_in(
    session, owner_client
):
    (registration,) = seat(session, display_name="Ada Lovelace")
    registration_service.cancel(registration=registration, actor=registration.user)

    html = owner_client.get(qr_url(registration)).content.decode()

    assert "Not checked in" in html and "only confirmed attendees" in html
    assert "Let in as a walk-in" in html
    assert not checked_in(registration)


def main(html: str) -> str:
    """The page's own content (the header names whoever is logged in)."""
    return html.split('<main id="main"')[1].split("</main>")[0]


@pytest.mark.parametrize("who", ["anonymous", "attendee", "stranger", "other organizer"])
def test_anyone_else_opening_the_qr_link_changes_nothing_and_learns_nothing(
    session, who, client_for
):
    (registration,) = seat(session, display_name="Ada Lovelace")
    other_organizer = OrganizerFactory()
    seat(door_session(event=EventFactory(organizer=other_organizer)))
    client = {
        "anonymous": Client(),
        "attendee": client_for(registration.user),
        "stranger": client_for(UserFactory()),
        "other organizer": client_for(other_organizer),
    }[who]

    response = client.get(qr_url(registration))
    bogus = client.get(reverse("events:checkin_qr", args=["x" * 32]))

    assert not checked_in(registration)
    html = main(response.content.decode())
    for secret in ("Ada Lovelace", registration.user.email, session.event.title, "Room 1"):
        assert secret not in html
    assert "Show the code at the door" in html
    # A valid code and a made-up one look the same: the page is no oracle.
    assert response.status_code == bogus.status_code == (200 if who == "anonymous" else 404)
    assert html.replace(registration.checkin_token, "TOKEN") == main(
        bogus.content.decode()
    ).replace("x" * 32, "TOKEN")


def test_an_anonymous_organizer_is_offered_to_log_in_and_back_to_the_code(session, owner):
    (registration,) = seat(session)

    html = Client().get(qr_url(registration)).content.decode()

    assert f"{reverse('account_login')}?next=/checkin/{registration.checkin_token}/" in html


def test_a_token_checks_in_only_its_own_registration_not_another_session_of_the_person(
    event, owner, owner_client
):
    morning = door_session(event=event)
    (first,) = seat(morning)
    evening = door_session(event=event)
    move(evening, starts_in=timedelta(hours=3))
    second = registration_service.register(user=first.user, session=evening)

    owner_client.get(qr_url(first))

    assert checked_in(first) and not checked_in(second)


def test_an_organizer_of_another_event_cannot_use_a_token_there(session, owner, client_for):
    (registration,) = seat(session)
    other = OrganizerFactory()
    their_session = door_session(event=EventFactory(organizer=other))
    move(their_session, starts_in=timedelta(hours=3))
    theirs = registration_service.register(user=registration.user, session=their_session)
    assert theirs.status == Status.CONFIRMED

    response = client_for(other).get(qr_url(registration))

    assert response.status_code == 404
    assert not checked_in(registration) and not checked_in(theirs)


def test_an_attendee_cannot_check_themself_in_by_any_url(session, client_for):
    (registration,) = seat(session)
    client = client_for(registration.user)

    client.get(qr_url(registration))
    post = client.post(reverse("manage:check_in", args=[registration.pk]), **JSON)

    assert post.status_code == 404
    assert not checked_in(registration)


# The check-in list -----------------------------------------------------------------------------


def test_the_check_in_page_lists_confirmed_people_with_counts_and_others_apart(
    session, owner, owner_client
):
    ada, bob = seat(session, 2)
    Registration.objects.filter(pk=ada.pk).update(checked_in_at=session.starts_at)
    waiting = RegistrationFactory(
        session=session, user=UserFactory(display_name="Wanda Waiting"), status=Status.WAITLISTED
    )

    html = owner_client.get(reverse("manage:checkin", args=[session.pk])).content.decode()

    listed = html.split('id="door-list"')[1].split("</ul>")[0]
    assert ada.user.name in listed and bob.user.name in listed
    assert "Wanda Waiting" not in listed
    others = html.split('id="door-others"')[1]
    assert "Wanda Waiting" in others and "Let in" in others
    assert f'id="r{waiting.pk}"' in html
    counts = re.findall(r'data-count="(\w+)">(\d+)<', html)
    assert counts == [("expected", "2"), ("checked_in", "1"), ("remaining", "1")]


def test_the_check_in_page_has_no_inline_script_and_loads_its_own(session, owner_client):
    seat(session, 2)

    html = owner_client.get(reverse("manage:checkin", args=[session.pk])).content.decode()

    assert "/static/js/checkin.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert not re.search(r'\sstyle="', html)


def test_searching_without_javascript_filters_by_name_or_email(session, owner_client):
    seat(session, display_name="Grace Hopper")
    seat(session, display_name="Alan Turing", email="alan@turing.example")
    url = reverse("manage:checkin", args=[session.pk])

    by_name = owner_client.get(url, {"q": "grace"}).content.decode()
    by_email = owner_client.get(url, {"q": "TURING.example"}).content.decode()

    assert "Grace Hopper" in by_name and "Alan Turing" not in by_name
    assert "Alan Turing" in by_email and "Grace Hopper" not in by_email


def test_checking_in_without_javascript_comes_back_to_the_list_and_search(session, owner_client):
    (registration,) = seat(session, display_name="Grace Hopper")

    response = owner_client.post(
        reverse("manage:check_in", args=[registration.pk]), {"q": "grace hop"}
    )

    assert response.status_code == 302
    url = reverse("manage:checkin", args=[session.pk])
    assert response["Location"] == f"{url}?q=grace+hop#r{registration.pk}"
    assert texts(response) == ["Grace Hopper is checked in."]
    assert checked_in(registration)


def test_a_back_target_from_the_request_is_never_followed_as_a_url(session, owner_client):
    (registration,) = seat(session)

    response = owner_client.post(
        reverse("manage:check_in", args=[registration.pk]), {"back": "https://evil.example/"}
    )

    assert response["Location"].startswith(reverse("manage:checkin", args=[session.pk]))


def test_checking_in_by_script_answers_json_with_the_new_counts(session, owner_client):
    first, _second = seat(session, 2)

    response = owner_client.post(reverse("manage:check_in", args=[first.pk]), **JSON)

    assert response.status_code == 200
    data = response.json()
    assert data["ok"] and data["changed"]
    assert data["registration"]["id"] == first.pk and data["registration"]["checked_in"]
    assert re.fullmatch(r"\d\d:\d\d", data["registration"]["checked_in_at"])
    assert data["counts"]["expected"] == 2 and data["counts"]["checked_in"] == 1
    assert data["counts"]["remaining"] == 1
    assert list(data["counts"]["checked_in_ids"]) == [str(first.pk)]


def test_a_double_tap_by_script_is_harmless_and_says_so(session, owner_client):
    (registration,) = seat(session)
    url = reverse("manage:check_in", args=[registration.pk])
    owner_client.post(url, **JSON)

    data = owner_client.post(url, **JSON).json()

    assert data["ok"] and not data["changed"]
    assert "already checked in at" in data["message"]
    assert data["counts"]["checked_in"] == 1


def test_undo_by_script_answers_json(session, owner, owner_client):
    (registration,) = seat(session)
    attendance.check_in(registration=registration, actor=owner)

    data = owner_client.post(reverse("manage:undo_check_in", args=[registration.pk]), **JSON)

    assert data.json()["ok"] and not data.json()["registration"]["checked_in"]
    assert data.json()["counts"]["checked_in"] == 0
    assert not checked_in(registration)


def test_a_refused_check_in_by_script_is_a_400_with_the_reason(session, owner_client):
    (registration,) = seat(session)
    registration_service.cancel(registration=registration, actor=registration.user)

    response = owner_client.post(reverse("manage:check_in", args=[registration.pk]), **JSON)

    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "message": f"{registration.user.name} is cancelled, not confirmed: only confirmed "
        "attendees can be checked in. Let them in as a walk-in if a seat is free.",
    }


def test_the_counts_endpoint_answers_json_for_the_live_update(session, owner, owner_client):
    first, _second, third = seat(session, 3)
    attendance.check_in(registration=first, actor=owner)
    registration_service.cancel(registration=third, actor=third.user)

    response = owner_client.get(reverse("manage:checkin_counts", args=[session.pk]))

    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    data = response.json()
    assert {k: data[k] for k in ("expected", "checked_in", "remaining", "walk_ins")} == {
        "expected": 2,
        "checked_in": 1,
        "remaining": 1,
        "walk_ins": 0,
    }
    assert data["seats_left"] == 3
    assert list(data["checked_in_ids"]) == [str(first.pk)]


def test_the_check_in_page_says_when_the_door_is_not_open_yet(event, owner_client):
    session = door_session(event=event)
    seat(session)
    move(session, starts_in=timedelta(days=2))

    html = owner_client.get(reverse("manage:checkin", args=[session.pk])).content.decode()

    assert "Check-in opens 24 hours before the session starts" in html
    assert re.search(r'class="door-button" disabled', html)


def test_the_check_in_page_query_count_does_not_grow_with_attendees(session, owner, owner_client):
    Session.objects.filter(pk=session.pk).update(capacity=300)
    url = reverse("manage:checkin", args=[session.pk])

    def add(count: int) -> None:
        for registration in seat(session, count):
            if registration.pk % 2:
                attendance.check_in(registration=registration, actor=owner)
        RegistrationFactory(session=session, user=UserFactory(), status="waitlisted")

    add(5)
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(url).status_code == 200
    add(195)
    with CaptureQueriesContext(connection) as many:
        html = owner_client.get(url).content.decode()

    assert html.count('class="door-button"') == 200
    assert len(many) == len(few), [q["sql"] for q in many]


def test_the_counts_endpoint_query_count_does_not_grow_with_attendees(session, owner, owner_client):
    Session.objects.filter(pk=session.pk).update(capacity=300)
    url = reverse("manage:checkin_counts", args=[session.pk])
    for registration in seat(session, 5):
        attendance.check_in(registration=registration, actor=owner)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(url)
    for registration in seat(session, 95):
        attendance.check_in(registration=registration, actor=owner)
    with CaptureQueriesContext(connection) as many:
        data = owner_client.get(url).json()

    assert data["checked_in"] == 100
    assert len(many) == len(few)


# Walk-ins ----------------------------------------------------------------------------------------


def test_a_walk_in_is_added_and_checked_in_from_the_form(session, owner_client):
    response = owner_client.post(
        reverse("manage:walk_in", args=[session.pk]),
        {"email": "walker@example.com", "name": "Walker"},
    )

    registration = Registration.objects.get(user__email="walker@example.com")
    assert response.status_code == 302
    assert response["Location"].endswith(f"#r{registration.pk}")
    assert registration.walk_in and registration.checked_in_at
    assert texts(response) == ["Walker is in as a walk-in and checked in. 4 seats left."]


def test_a_walk_in_for_a_full_session_is_a_400_with_the_reason_and_nothing_written(
    event, owner_client
):
    session = door_session(event=event, capacity=1)
    seat(session)

    response = owner_client.post(
        reverse("manage:walk_in", args=[session.pk]), {"email": "walker@example.com"}
    )

    assert response.status_code == 400
    assert "The session is full" in response.content.decode()
    assert not Registration.objects.filter(user__email="walker@example.com").exists()


def test_a_walk_in_with_a_bad_email_is_a_400(session, owner_client):
    response = owner_client.post(reverse("manage:walk_in", args=[session.pk]), {"email": "nope"})

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_letting_in_someone_from_the_waitlist_gives_them_the_free_seat(session, owner_client):
    waiting = RegistrationFactory(session=session, user=UserFactory(), status=Status.WAITLISTED)

    owner_client.post(reverse("manage:walk_in", args=[session.pk]), {"email": waiting.user.email})

    waiting.refresh_from_db()
    assert waiting.status == Status.CONFIRMED and waiting.walk_in and waiting.checked_in_at


# Summaries, corrections, export ----------------------------------------------------------------


@pytest.fixture
def past(event, owner):
    """A session that took place, 5 people who held a seat: Ada came, Bob did not (swept), Cy
    cancelled late, a walk-in came, and someone with a formula for a name came too."""
    session = door_session(event=event, capacity=6, title="Morning")
    ada, bob, cy = seat(session, 3)
    (evil,) = seat(session, display_name='=HYPERLINK("http://evil.example")')
    attendance.check_in(registration=ada, actor=owner)
    attendance.check_in(registration=evil, actor=owner)
    attendance.add_walk_in(session=session, actor=owner, email="walker@example.com", name="Wal")
    registration_service.cancel(registration=cy, actor=cy.user)
    move(session, starts_in=-timedelta(hours=3))
    attendance.mark_no_shows()
    return {"session": session, "ada": ada, "bob": bob, "cy": cy, "evil": evil}


def test_the_session_summary_shows_the_numbers_and_a_chart(past, owner_client):
    session = past["session"]

    html = owner_client.get(reverse("manage:attendance", args=[session.pk])).content.decode()

    facts = dict(re.findall(r'<dt[^>]*>([^<]+)</dt><dd class="num[^"]*">([^<]+)</dd>', html))
    assert facts == {
        "Registered": "5",
        "Attended": "3",
        "of whom walk-ins": "1",
        "No-shows": "1",
        "Not checked in": "0",
        "Cancelled": "1",
        "of which late": "1",
        "Attendance rate": "75%",
    }
    assert '<svg class="chart"' in html and 'role="img"' in html
    assert "Registered: 5; Attended: 3; No-shows: 1" in html  # the chart's description
    assert "Mark attended" in html and "Mark no-show" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r'\sstyle="', html)


def test_the_organizer_corrects_a_no_show_from_the_summary(past, owner_client):
    bob = past["bob"]

    response = owner_client.post(
        reverse("manage:correct", args=[bob.pk]), {"attended": "1", "back": "attendance"}
    )

    assert response["Location"] == (
        f"{reverse('manage:attendance', args=[past['session'].pk])}#r{bob.pk}"
    )
    bob.refresh_from_db()
    assert bob.checked_in_at and not bob.no_show


def test_a_correction_without_a_choice_changes_nothing(past, owner_client):
    bob = past["bob"]

    response = owner_client.post(reverse("manage:correct", args=[bob.pk]), {"attended": "maybe"})

    assert texts(response) == ["Choose attended or no-show."]
    assert Registration.objects.get(pk=bob.pk).no_show


def test_the_event_summary_adds_the_sessions_up(past, event, owner, owner_client):
    other = door_session(event=event, capacity=5)
    came, _absent = seat(other, 2)
    attendance.check_in(registration=came, actor=owner)
    dropped = door_session(event=event)
    seat(dropped, 2)
    scheduling.cancel_session(session=dropped, actor=owner)

    html = owner_client.get(reverse("manage:event_attendance", args=[event.pk])).content.decode()

    total = html.split("<tfoot>")[1].split("</tfoot>")[0]
    assert re.findall(r'<td class="num strong"[^>]*>([^<]+)</td>', total) == [
        "7",  # 5 + 2 registered; the cancelled session's 2 are left out
        "4",  # 3 + 1 attended
        "1",
        "1",  # the other session has not ended: one not checked in yet
        "1",
        "1",
        "67%",
    ]
    assert "cancelled sessions left out" in total
    assert html.count('<rect class="tone-ok"') == 2
    assert "Morning" in html


def test_the_attendance_csv_lists_everyone_who_held_a_seat(past, owner_client):
    session = past["session"]

    response = owner_client.get(reverse("manage:attendance_csv", args=[session.pk]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="session-{session.pk}-attendance.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Event",
        "Session",
        "Session starts",
        "Name",
        "Email",
        "Status",
        "Attendance",
        "Checked in at",
        "Checked in by",
        "Walk-in",
        "Cancelled at",
    ]
    by_email = {row[4]: row for row in rows[1:]}
    assert len(by_email) == 5
    ada, bob, cy = (by_email[past[k].user.email] for k in ("ada", "bob", "cy"))
    walker = by_email["walker@example.com"]
    assert ada[:2] == ["Model preview", "Morning"]
    assert (ada[5], ada[6], ada[8], ada[9]) == ("Confirmed", "Attended", "Olga Owner", "no")
    assert ada[7] and not ada[10]
    assert (bob[6], bob[7], bob[8]) == ("No-show", "", "")
    assert (cy[5], cy[6]) == ("Cancelled", "Cancelled late") and cy[10]
    assert (walker[3], walker[6], walker[9]) == ("Wal", "Attended (walk-in)", "yes")
    # A name that looks like a formula is defused.
    assert by_email[past["evil"].user.email][3] == '\'=HYPERLINK("http://evil.example")'


def test_the_event_csv_covers_every_session(past, event, owner_client):
    other = door_session(event=event)
    seat(other, 2)

    response = owner_client.get(reverse("manage:event_attendance_csv", args=[event.pk]))

    rows = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    assert len(rows) == 7
    assert [r[6] for r in rows[-2:]] == ["Not checked in", "Not checked in"]


# Attendance history where applications are reviewed -------------------------------------------


def history_world(owner, *, people: int) -> Session:
    """`people` applicants to a new session, each with a past: one attended, one no-show."""
    event = EventFactory(organizer=owner, registration_mode="approval")
    upcoming = door_session(event=event, capacity=500)
    earlier = door_session(event=EventFactory(organizer=owner), capacity=500)
    seated = seat(earlier, people)
    for registration in seated[::2]:
        attendance.check_in(registration=registration, actor=owner)
    move(earlier, starts_in=-timedelta(hours=3))
    attendance.mark_no_shows()
    move(earlier, starts_in=-timedelta(days=30))  # out of the way of new sign-ups
    for registration in seated:
        registration_service.register(user=registration.user, session=upcoming)
    return upcoming


def test_the_registrations_table_shows_each_persons_attendance_history(owner, owner_client):
    session = history_world(owner, people=2)

    html = owner_client.get(reverse("manage:registrations", args=[session.pk])).content.decode()

    assert '<th scope="col">Attendance</th>' in html
    assert html.count('<span class="badge badge-ok">1 attended</span>') == 1
    assert html.count('<span class="badge badge-danger">1 no-show</span>') == 1


def test_the_registrations_table_query_count_stays_constant_with_histories(owner, owner_client):
    few_session = history_world(owner, people=4)
    many_session = history_world(owner, people=40)

    with CaptureQueriesContext(connection) as few:
        owner_client.get(reverse("manage:registrations", args=[few_session.pk]))
    with CaptureQueriesContext(connection) as many:
        html = owner_client.get(reverse("manage:registrations", args=[many_session.pk]))

    assert html.content.decode().count("1 no-show") == 20
    assert len(many) == len(few)


def test_the_registration_page_shows_the_history_and_this_sessions_attendance(past, owner_client):
    bob = past["bob"]

    html = owner_client.get(reverse("manage:registration", args=[bob.pk])).content.decode()

    assert '<span class="badge badge-danger">No-show</span>' in html
    assert '<span class="badge badge-danger">1 no-show</span>' in html
    assert "Mark attended" in html
    assert "No-show: not checked in by the end of the session" in html  # in the history


def test_the_history_counts_only_events_the_viewer_organizes(past, owner, client_for):
    other = OrganizerFactory()
    their_session = door_session(event=EventFactory(organizer=other))
    theirs = registration_service.register(user=past["bob"].user, session=their_session)

    html = client_for(other).get(reverse("manage:registration", args=[theirs.pk]))

    assert "No attendance yet" in html.content.decode()


# The attendee's side -----------------------------------------------------------------------------


def test_my_sessions_shows_a_qr_code_for_each_confirmed_seat_only(session, client_for):
    (registration,) = seat(session)
    waiting_session = door_session(capacity=1)
    move(waiting_session, starts_in=timedelta(days=3))
    seat(waiting_session)
    waiting = registration_service.register(user=registration.user, session=waiting_session)
    assert waiting.status == Status.WAITLISTED

    html = client_for(registration.user).get(reverse("events:my_sessions")).content.decode()

    assert html.count('<svg role="img" aria-label="Check-in QR code"') == 1
    assert "<title>Check-in QR code</title>" in html
    assert "Your check-in code: show it at the door." in html
    # The code is drawn from the check-in URL and nothing else.
    expected = segno.make(
        f"http://localhost:8000/checkin/{registration.checkin_token}/", error="m", micro=False
    ).svg_inline(scale=5, border=4, svgclass="qr-code", lineclass=None)
    path = re.search(r' d="([^"]+)"', expected).group(1)
    assert f' d="{path}"' in html


def test_no_qr_code_when_the_event_does_not_check_people_in(event, session, client_for):
    (registration,) = seat(session)
    event.checkin_enabled = False
    event.save(update_fields=["checkin_enabled"])

    html = client_for(registration.user).get(reverse("events:my_sessions")).content.decode()

    assert "Check-in QR code" not in html


def test_the_confirmation_email_carries_the_qr_code_as_a_png_beside_the_invite(session):
    (registration,) = seat(session)
    notification = Notification.objects.get(registration=registration, kind="confirmed")

    message = rendering.build(notification)
    mime = message.message()

    assert mime.get_content_type() == "multipart/mixed"
    alternative, *attachments = mime.get_payload()
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("invite.ics", "application/ics"),
        ("checkin-qr.png", "image/png"),
    ]
    assert attachments[1].get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")
    assert "Your check-in code is attached (checkin-qr.png)" in message.body
    assert "checkin-qr.png" in message.alternatives[0].content
    # The check-in URL itself is not a link in the mail (scanners follow links).
    assert registration.checkin_token not in message.body + message.alternatives[0].content


def test_messages_without_an_invite_carry_no_qr_code(event):
    session = door_session(event=event, capacity=1)
    seat(session)
    waiting = registration_service.register(user=UserFactory(), session=session)

    notification = Notification.objects.get(registration=waiting, kind="waitlisted")
    message = rendering.build(notification)

    assert "checkin-qr.png" not in [a.filename for a in message.attachments if a.filename]
    assert "check-in code" not in message.body


def test_the_json_of_a_check_in_has_no_html(session, owner_client):
    (registration,) = seat(session, display_name="<b>Bold</b>")

    response = owner_client.post(reverse("manage:check_in", args=[registration.pk]), **JSON)

    assert json.loads(response.content)["message"] == "<b>Bold</b> is checked in."


def test_a_code_opened_from_a_link_on_another_site_asks_before_checking_in(session, owner_client):
    (registration,) = seat(session, display_name="Ada Lovelace")

    response = owner_client.get(qr_url(registration), HTTP_SEC_FETCH_SITE="cross-site")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Check in?" in html and "Check in Ada Lovelace" in html
    assert not checked_in(registration)
    owner_client.post(reverse("manage:check_in", args=[registration.pk]))
    assert checked_in(registration)


@pytest.mark.parametrize("site", ["none", "same-origin"])
def test_a_code_scanned_or_opened_from_our_pages_checks_in_at_once(session, owner_client, site):
    (registration,) = seat(session)

    owner_client.get(qr_url(registration), HTTP_SEC_FETCH_SITE=site)

    assert checked_in(registration)
