"""The organizers' pages: who may open them, what they change (always through the services),
and that bad input is a clear 400 with nothing written."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import Event, Notification, Registration, Session
from events.services import lottery, scheduling
from events.services import screening as question_service
from events.services.registration import register
from tests.factories import (
    EventFactory,
    OrganizerFactory,
    SessionFactory,
    UserFactory,
    add_to_team,
    team_of,
)

pytestmark = pytest.mark.django_db
Status = Registration.Status
BERLIN = ZoneInfo("Europe/Berlin")


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def apply(session: Session, count: int = 1, **user_fields) -> list[Registration]:
    return [
        register(user=UserFactory(**user_fields), session=session, answers=None)
        for _ in range(count)
    ]


@pytest.fixture
def owner():
    return OrganizerFactory(display_name="Olga Owner")


@pytest.fixture
def owner_client(owner, client_for) -> Client:
    return client_for(owner)


@pytest.fixture
def event(owner):
    return EventFactory(organizer=owner, registration_mode="approval", title="Model preview")


@pytest.fixture
def session(event):
    return SessionFactory(event=event, capacity=2)


# The access table ---------------------------------------------------------------------------

# name, method, how to build the URL's arguments from the world, POST data (for the owner).
EVENT_URLS = [
    ("manage:event", "get", lambda w: [w["event"].pk], {}),
    ("manage:event_edit", "get", lambda w: [w["event"].pk], {}),
    ("manage:event_edit", "post", lambda w: [w["event"].pk], {"title": ""}),
    ("manage:event_publish", "post", lambda w: [w["event"].pk], {}),
    ("manage:event_unpublish", "post", lambda w: [w["event"].pk], {}),
    ("manage:event_cancel", "get", lambda w: [w["event"].pk], {}),
    ("manage:event_cancel", "post", lambda w: [w["event"].pk], {}),
    # The event's screening questions, in the question editor every questionnaire shares.
    (
        "manage:question_new",
        "post",
        lambda w: [w["event"].screening_id],
        {"label": "Why?", "kind": "short_text"},
    ),
    ("manage:question_edit", "get", lambda w: [w["question"].pk], {}),
    (
        "manage:question_edit",
        "post",
        lambda w: [w["question"].pk],
        {"label": "Why?", "kind": "long_text"},
    ),
    ("manage:question_move", "post", lambda w: [w["question"].pk], {"direction": "up"}),
    ("manage:question_delete", "post", lambda w: [w["question"].pk], {}),
    ("manage:session_create", "get", lambda w: [w["event"].pk], {}),
    ("manage:session_create", "post", lambda w: [w["event"].pk], {}),
    ("manage:session_edit", "get", lambda w: [w["session"].pk], {}),
    ("manage:session_edit", "post", lambda w: [w["session"].pk], {}),
    ("manage:session_cancel", "get", lambda w: [w["session"].pk], {}),
    ("manage:session_cancel", "post", lambda w: [w["session"].pk], {}),
    ("manage:registrations", "get", lambda w: [w["session"].pk], {}),
    (
        "manage:registrations_action",
        "post",
        lambda w: [w["session"].pk],
        {"action": "reject", "ids": ["REG"]},
    ),
    ("manage:registrations_csv", "get", lambda w: [w["session"].pk], {}),
    ("manage:lottery_draw", "post", lambda w: [w["session"].pk], {}),
    ("manage:registration", "get", lambda w: [w["registration"].pk], {}),
]
ALL_URLS = [
    ("manage:dashboard", "get", lambda w: [], {}),
    ("manage:event_create", "get", lambda w: [], {}),
    ("manage:event_create", "post", lambda w: [], {}),
    *EVENT_URLS,
]


def ids(params):
    return [f"{name.split(':')[1]}-{method}" for name, method, _args, _data in params]


@pytest.fixture
def world(owner, event, session):
    co_organizer = OrganizerFactory()
    add_to_team(event.team, co_organizer)
    (registration,) = apply(session)
    question = question_service.add_question(
        event=event, actor=owner, label="What do you build?", kind="short_text"
    )
    return {
        "event": event,
        "session": session,
        "registration": registration,
        "question": question,
        "co_organizer": co_organizer,
    }


def call(client: Client, world, name, method, args, data):
    data = {k: [str(world["registration"].pk)] if v == ["REG"] else v for k, v in data.items()}
    return getattr(client, method)(reverse(name, args=args(world)), data)


@pytest.mark.parametrize(("name", "method", "args", "data"), ALL_URLS, ids=ids(ALL_URLS))
def test_every_manage_url_sends_anonymous_visitors_to_log_in(world, name, method, args, data):
    response = call(Client(), world, name, method, args, data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize(("name", "method", "args", "data"), ALL_URLS, ids=ids(ALL_URLS))
def test_every_manage_url_is_a_404_for_someone_who_is_not_an_organizer(
    world, name, method, args, data, client_for
):
    response = call(client_for(UserFactory()), world, name, method, args, data)

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method", "args", "data"), EVENT_URLS, ids=ids(EVENT_URLS))
def test_every_event_url_is_a_404_for_the_organizer_of_another_event(
    world, name, method, args, data, client_for
):
    other = OrganizerFactory()
    EventFactory(organizer=other)

    response = call(client_for(other), world, name, method, args, data)

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method", "args", "data"), ALL_URLS, ids=ids(ALL_URLS))
def test_every_manage_url_opens_for_the_events_organizer(
    world, owner_client, name, method, args, data
):
    response = call(owner_client, world, name, method, args, data)

    expected = {200} if method == "get" else {302, 400}
    assert response.status_code in expected


def test_posts_by_the_organizer_of_another_event_change_nothing(world, client_for):
    other = client_for(OrganizerFactory())
    posts = [p for p in EVENT_URLS if p[1] == "post"]

    codes = {
        call(other, world, name, "post", args, data).status_code for name, _m, args, data in posts
    }

    assert codes == {404}
    event = Event.objects.get(pk=world["event"].pk)
    assert event.status == Event.Status.PUBLISHED
    assert event.team.memberships.count() == 2
    assert list(event.questions.values_list("label", "kind")) == [
        ("What do you build?", "short_text")
    ]
    assert Session.objects.get(pk=world["session"].pk).status == Session.Status.SCHEDULED
    assert Registration.objects.get(pk=world["registration"].pk).status == Status.APPLIED


def test_staff_may_open_any_event(world, client_for):
    staff = UserFactory(is_staff=True)

    response = client_for(staff).get(reverse("manage:event", args=[world["event"].pk]))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "name", ["event_publish", "event_unpublish", "question_new", "lottery_draw"]
)
def test_state_changes_refuse_get(world, owner_client, name):
    target = {
        "lottery_draw": world["session"].pk,
        "question_new": world["event"].screening_id,
    }.get(name, world["event"].pk)

    response = owner_client.get(reverse(f"manage:{name}", args=[target]))

    assert response.status_code == 405


# Dashboard ------------------------------------------------------------------------------------


def test_the_dashboard_lists_my_events_in_every_status_with_their_counts(owner, owner_client):
    event = EventFactory(organizer=owner, title="Open call", registration_mode="open")
    session = SessionFactory(event=event, capacity=3)
    SessionFactory(event=event, capacity=5)
    apply(session, 2)
    EventFactory(organizer=owner, title="Still a draft", status="draft")
    EventFactory(title="Someone else's event")

    html = owner_client.get(reverse("manage:dashboard")).content.decode()

    assert "Open call" in html and "Still a draft" in html
    assert "Someone else&#x27;s event" not in html
    assert "2 / 8" in html  # confirmed / seats over both sessions
    assert reverse("manage:event_create") in html


def test_the_dashboard_query_count_does_not_grow_with_events(owner, owner_client):
    def make(count):
        for _ in range(count):
            session = SessionFactory(event=EventFactory(organizer=owner), capacity=3)
            apply(session, 1)

    make(5)
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(reverse("manage:dashboard")).status_code == 200
    make(195)
    with CaptureQueriesContext(connection) as many:
        html = owner_client.get(reverse("manage:dashboard")).content.decode()

    assert (
        html.count(
            reverse("manage:event", args=[Event.objects.filter(team=team_of(owner)).first().pk])
        )
        == 1
    )
    assert len(many) == len(few)


# Creating and editing events ----------------------------------------------------------------


ONE_LINE = "Use one line of plain text: line breaks, tabs and other control characters"


def event_data(**overrides) -> dict:
    data = {
        "title": "Prototype demo: the new model",
        "kind": "demo",
        "description": "We show **the prototype**.",
        "visibility": "public",
        "registration_mode": "lottery",
        "timezone": "Europe/Berlin",
        "registration_opens_at": "2030-07-01T10:00",
        "registration_closes_at": "2030-07-10T18:00",
        "terms_text": "Do not share what you see.",
        "terms_version": "0",
        "offer_hours": "12",
        "lottery_reserved_shares": "researcher=30, community = 10%",
    }
    data.update(overrides)
    return data


def test_creating_an_event_stores_its_times_in_utc_and_puts_it_in_my_team(owner, owner_client):
    response = owner_client.post(reverse("manage:event_create"), event_data())

    event = Event.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:event", args=[event.pk])
    assert event.status == Event.Status.DRAFT
    assert event.team == team_of(owner)
    # 10:00 in Berlin in July is 08:00 UTC.
    assert event.registration_opens_at == datetime(2030, 7, 1, 8, 0, tzinfo=UTC)
    assert event.registration_closes_at == datetime(2030, 7, 10, 16, 0, tzinfo=UTC)
    assert event.lottery_reserved_shares == {"researcher": 30, "community": 10}
    assert event.terms_version == 1
    assert event.offer_hours == 12


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "This field is required."),
        (
            {"registration_closes_at": "2030-06-30T10:00"},
            "Registration must close after it opens.",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, "Select a valid choice."),
        ({"lottery_reserved_shares": "researcher 30"}, "is not of the form role=percent"),
        ({"lottery_reserved_shares": "wizard=30"}, "“wizard” is not a role."),
        ({"lottery_reserved_shares": "researcher=70, community=40"}, "more than 100%"),
        ({"registration_opens_at": "next tuesday"}, "Enter a valid date/time."),
        ({"offer_hours": "0"}, "greater than or equal to 1"),
        ({"title": "Demo\nday"}, ONE_LINE),
        ({"title": "Demo\rday"}, ONE_LINE),
        ({"title": "Demo\x07day"}, ONE_LINE),
    ],
)
def test_creating_an_event_with_bad_input_is_refused_and_writes_nothing(
    owner_client, overrides, message
):
    response = owner_client.post(reverse("manage:event_create"), event_data(**overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Event.objects.exists()


def test_the_edit_form_shows_times_in_the_events_zone(event, owner_client):
    event.registration_closes_at = datetime(2030, 1, 15, 17, 30, tzinfo=UTC)
    event.save()

    html = owner_client.get(reverse("manage:event_edit", args=[event.pk])).content.decode()

    assert 'value="2030-01-15T18:30"' in html  # Berlin is UTC+1 in winter
    assert 'value="Europe/Berlin" selected' in html


def test_editing_an_event_saves_the_change(event, owner_client):
    response = owner_client.post(
        reverse("manage:event_edit", args=[event.pk]),
        event_data(title="Renamed", timezone="America/New_York", lottery_reserved_shares=""),
    )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.title == "Renamed"
    assert event.registration_opens_at == datetime(2030, 7, 1, 14, 0, tzinfo=UTC)
    assert event.lottery_reserved_shares == {}


def test_renaming_an_event_to_a_title_on_two_lines_is_refused(event, owner_client):
    response = owner_client.post(
        reverse("manage:event_edit", args=[event.pk]),
        event_data(title="Model preview\r\nBEGIN:VEVENT", lottery_reserved_shares=""),
    )

    assert response.status_code == 400
    assert ONE_LINE in response.content.decode()
    event.refresh_from_db()
    assert event.title == "Model preview"


def test_a_refusal_of_the_service_is_a_form_error_and_nothing_is_written(event, owner_client):
    event.terms_text, event.terms_version = "Secret.", 3
    event.save()

    response = owner_client.post(
        reverse("manage:event_edit", args=[event.pk]),
        event_data(title="Changed", terms_text="Secret.", terms_version="2"),
    )

    assert response.status_code == 400
    assert "The terms version cannot go down." in response.content.decode()
    event.refresh_from_db()
    assert (event.title, event.terms_version) == ("Model preview", 3)


def test_a_time_skipped_by_the_clock_change_is_refused(owner_client):
    response = owner_client.post(
        reverse("manage:event_create"), event_data(registration_opens_at="2030-03-31T02:30")
    )

    assert response.status_code == 400
    assert "does not exist in Europe/Berlin" in response.content.decode()


def test_publishing_needs_a_session_then_unpublishing_goes_back_to_draft(owner, owner_client):
    event = EventFactory(organizer=owner, status="draft")
    publish = reverse("manage:event_publish", args=[event.pk])

    response = owner_client.post(publish)
    assert "Add at least one session before publishing." in texts(response)
    SessionFactory(event=event)
    owner_client.post(publish)
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED

    owner_client.post(reverse("manage:event_unpublish", args=[event.pk]))
    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT


def test_cancelling_an_event_asks_first_then_cancels_its_sessions(event, session, owner_client):
    apply(session, 2)
    url = reverse("manage:event_cancel", args=[event.pk])

    page = owner_client.get(url).content.decode()
    assert "2 people are signed up" in page
    assert "<button" in page
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED

    owner_client.post(url)
    event.refresh_from_db()
    session.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert session.is_cancelled
    assert set(session.registrations.values_list("status", flat=True)) == {Status.CANCELLED}
    assert "This event is already cancelled." in texts(owner_client.post(url))


def test_a_user_written_title_is_escaped_and_the_description_sanitized(owner, owner_client):
    event = EventFactory(
        organizer=owner,
        title="<script>alert(1)</script>",
        description="**bold** <img src=x onerror=alert(2)>",
    )

    html = owner_client.get(reverse("manage:event", args=[event.pk])).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html
    assert "<strong>bold</strong>" in html
    assert "onerror" not in html


# Sessions ---------------------------------------------------------------------------------------


def session_data(**overrides) -> dict:
    data = {
        "title": "Europe slot",
        "starts_at": "2030-07-20T16:00",
        "ends_at": "2030-07-20T17:30",
        "capacity": "12",
        "waitlist_enabled": "on",
        "location": "Room 4",
        "online_url": "https://meet.example.com/abc",
    }
    data.update(overrides)
    return data


def test_creating_a_session_reads_its_times_in_the_events_zone(event, owner_client):
    response = owner_client.post(reverse("manage:session_create", args=[event.pk]), session_data())

    assert response.status_code == 302
    session = event.sessions.get()
    assert session.starts_at == datetime(2030, 7, 20, 14, 0, tzinfo=UTC)
    assert session.ends_at == datetime(2030, 7, 20, 15, 30, tzinfo=UTC)
    assert (session.capacity, session.waitlist_enabled, session.title) == (12, True, "Europe slot")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": "2030-07-20T15:00"}, "The session must end after it starts."),
        ({"capacity": "0"}, "greater than or equal to 1"),
        ({"online_url": "javascript:alert(1)"}, "Enter a valid URL."),
        ({"starts_at": ""}, "This field is required."),
        ({"title": "Europe\r\nslot"}, ONE_LINE),
        ({"location": "Room\n4"}, ONE_LINE),
    ],
)
def test_a_bad_session_is_refused_and_nothing_is_written(event, owner_client, overrides, message):
    response = owner_client.post(
        reverse("manage:session_create", args=[event.pk]), session_data(**overrides)
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not event.sessions.exists()


def test_editing_a_session_shows_and_saves_times_in_the_events_zone(session, owner_client):
    url = reverse("manage:session_edit", args=[session.pk])
    shown = session.starts_at.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")

    assert f'value="{shown}"' in owner_client.get(url).content.decode()
    response = owner_client.post(url, session_data(capacity="5"))

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.capacity == 5
    assert session.starts_at == datetime(2030, 7, 20, 14, 0, tzinfo=UTC)
    assert session.sequence == 1  # the time changed: calendars get an update


def test_capacity_below_the_seats_taken_is_refused_with_the_services_message(owner, owner_client):
    event = EventFactory(organizer=owner, registration_mode="open")
    session = SessionFactory(event=event, capacity=3)
    apply(session, 3)

    response = owner_client.post(
        reverse("manage:session_edit", args=[session.pk]), session_data(capacity="2")
    )

    assert response.status_code == 400
    assert "the capacity cannot go below 3" in response.content.decode()
    session.refresh_from_db()
    assert (session.capacity, session.title) == (3, "")


def test_cancelling_a_session_asks_first_then_tells_everyone(session, owner_client):
    apply(session, 1)
    url = reverse("manage:session_cancel", args=[session.pk])

    assert "Cancel the session" in owner_client.get(url).content.decode()
    session.refresh_from_db()
    assert not session.is_cancelled

    response = owner_client.post(url)
    session.refresh_from_db()
    assert response.status_code == 302
    assert session.is_cancelled
    assert session.registrations.get().status == Status.CANCELLED
    assert "This session is already cancelled." in texts(owner_client.post(url))


# The registrations table and its bulk actions -------------------------------------------------


def act(client, session, action, registrations, **extra):
    return client.post(
        reverse("manage:registrations_action", args=[session.pk]),
        {"action": action, "ids": [r.pk for r in registrations], **extra},
    )


def test_bulk_approval_beyond_capacity_reports_refusals_and_never_overbooks(session, owner_client):
    applicants = apply(session, 4)

    response = act(owner_client, session, "approve", applicants)

    session.refresh_from_db()
    statuses = sorted(r.status for r in Registration.objects.filter(session=session))
    assert session.seats_taken == session.capacity == 2
    assert statuses == [Status.APPLIED, Status.APPLIED, Status.CONFIRMED, Status.CONFIRMED]
    shown = texts(response)
    assert "Approve: 2 done." in shown
    assert sum("The session is full" in text for text in shown) == 2


def test_approve_or_waitlist_puts_the_overflow_on_the_waitlist(session, owner_client):
    applicants = apply(session, 3)

    act(owner_client, session, "approve_or_waitlist", applicants)

    statuses = [r.status for r in Registration.objects.filter(session=session)]
    assert sorted(statuses) == [Status.CONFIRMED, Status.CONFIRMED, Status.WAITLISTED]


def test_ids_from_another_session_are_ignored(event, session, owner, owner_client):
    mine = apply(session, 1)
    same_event_other_session = apply(SessionFactory(event=event), 1)
    other_event = EventFactory(registration_mode="approval")
    add_to_team(other_event.team, owner)
    other_events = apply(SessionFactory(event=other_event), 1)

    response = act(owner_client, session, "reject", mine + same_event_other_session + other_events)

    assert "Reject: 1 done." in texts(response)
    assert Registration.objects.get(pk=mine[0].pk).status == Status.REJECTED
    for registration in same_event_other_session + other_events:
        assert Registration.objects.get(pk=registration.pk).status == Status.APPLIED


def test_reject_and_cancel_act_on_the_ticked_people(owner, owner_client):
    event = EventFactory(organizer=owner, registration_mode="open")
    session = SessionFactory(event=event, capacity=1)
    seated, waiting, also_waiting = apply(session, 3)
    assert (seated.status, waiting.status) == (Status.CONFIRMED, Status.WAITLISTED)

    act(owner_client, session, "reject", [also_waiting])
    response = act(owner_client, session, "move_in", [waiting])
    assert "The session is full: there is no free seat to move anyone into." in texts(response)
    response = act(owner_client, session, "cancel", [seated])

    assert "Cancel: 1 done." in texts(response)
    statuses = dict(Registration.objects.values_list("pk", "status"))
    assert statuses[also_waiting.pk] == Status.REJECTED
    assert statuses[seated.pk] == Status.CANCELLED
    assert seated.changes.last().note == "Cancelled by an organizer"
    # The freed seat went to the next person on the waitlist, as an offer.
    assert statuses[waiting.pk] == Status.OFFERED
    session.refresh_from_db()
    assert session.seats_taken == 1


def test_moving_in_from_the_waitlist_takes_a_free_seat_ahead_of_the_queue(owner, owner_client):
    event = EventFactory(organizer=owner, registration_mode="open")
    session = SessionFactory(event=event, capacity=1)
    _seated, waiting = apply(session, 2)
    # Once a session has started, freed seats are not offered by themselves any more.
    now = timezone.now()
    scheduling.update_session(
        session=session,
        actor=owner,
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(minutes=50),
        capacity=2,
        past_confirmed=True,
    )

    response = act(owner_client, session, "move_in", [waiting])

    assert "Move in from the waitlist: 1 done." in texts(response)
    assert Registration.objects.get(pk=waiting.pk).status == Status.CONFIRMED
    session.refresh_from_db()
    assert session.seats_taken == 2


def test_an_action_needs_a_known_name_and_someone_ticked(session, owner_client):
    (applicant,) = apply(session)

    assert "Choose an action." in texts(act(owner_client, session, "delete", [applicant]))
    assert "Tick at least one person first." in texts(act(owner_client, session, "approve", []))
    assert Registration.objects.get(pk=applicant.pk).status == Status.APPLIED


def test_the_table_filters_by_status_and_counts_each(session, owner_client):
    first, second, third = apply(session, 3)
    act(owner_client, session, "reject", [first])
    url = reverse("manage:registrations", args=[session.pk])

    html = owner_client.get(url, {"status": "applied"}).content.decode()

    assert re.search(r'aria-current="page">Applied <span class="count">2</span>', html)
    assert re.search(r'>Not selected <span class="count">1</span>', html)
    assert re.search(r'>All <span class="count">3</span>', html)
    assert second.user.email in html and third.user.email in html
    assert first.user.email not in html
    assert '<th scope="col">Email</th>' in html


def test_the_table_shows_answers_escaped_and_links_to_each_history(
    event, session, owner, client_for
):
    question = question_service.add_question(
        event=event, actor=owner, label="<b>Stack</b>", kind="short_text"
    )
    registration = register(
        user=UserFactory(display_name="<i>Eve</i>"),
        session=session,
        answers={str(question.pk): "<script>alert(1)</script>"},
    )

    html = client_for(owner).get(reverse("manage:registrations", args=[session.pk]))
    html = html.content.decode()

    assert "&lt;b&gt;Stack&lt;/b&gt;</span> &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<i>Eve" not in html
    assert reverse("manage:registration", args=[registration.pk]) in html


def queries_at_5_and_200(client, url: str, session) -> tuple[list, list, str]:
    """The queries of `url` with 5 and then 200 applicants in `session`, and the page at 200."""
    apply(session, 5)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    apply(session, 195)
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    return few.captured_queries, many.captured_queries, page


def test_the_registrations_query_count_does_not_grow_with_people(event, owner, owner_client):
    session = SessionFactory(event=event, capacity=500)
    question_service.add_question(
        event=event, actor=owner, label="Why?", kind="short_text", required=False
    )
    url = reverse("manage:registrations", args=[session.pk])
    few, many, html = queries_at_5_and_200(owner_client, url, session)

    assert html.count('name="ids"') == 200
    assert len(many) == len(few)


def test_the_lottery_button_draws_and_the_table_shows_seed_and_ranks(owner, owner_client):
    event = EventFactory(organizer=owner, registration_mode="lottery")
    session = SessionFactory(event=event, capacity=2)
    apply(session, 5)
    url = reverse("manage:registrations", args=[session.pk])
    assert "Draw the lottery now" in owner_client.get(url).content.decode()

    response = owner_client.post(reverse("manage:lottery_draw", args=[session.pk]))

    session.refresh_from_db()
    assert response["Location"] == url
    assert "Lottery drawn: 2 confirmed, 3 waitlisted, 0 not selected." in texts(response)[0]
    html = owner_client.get(url).content.decode()
    assert session.lottery_seed in html
    assert "Draw the lottery now" not in html
    ranks = sorted(session.registrations.values_list("lottery_rank", flat=True))
    assert ranks == [1, 2, 3, 4, 5]
    assert re.search(r'<td class="num"[^>]*>5</td>', html)
    again = owner_client.post(reverse("manage:lottery_draw", args=[session.pk]))
    assert "The lottery for this session has already been drawn." in texts(again)


def test_the_lottery_button_refuses_a_session_that_has_started_and_writes_nothing(
    owner, owner_client
):
    event = EventFactory(organizer=owner, registration_mode="lottery")
    session = SessionFactory(event=event, capacity=2)
    applied = apply(session, 3)
    Session.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(minutes=55),
    )
    url = reverse("manage:registrations", args=[session.pk])

    response = owner_client.post(reverse("manage:lottery_draw", args=[session.pk]))

    assert response["Location"] == url
    assert texts(response) == [
        "This session has already started: its seats can no longer be drawn."
    ]
    session.refresh_from_db()
    assert (session.lottery_drawn_at, session.seats_taken) == (None, 0)
    assert {r.status for r in Registration.objects.filter(pk__in=[a.pk for a in applied])} == {
        Status.APPLIED
    }
    html = owner_client.get(url).content.decode()
    assert "Draw the lottery now" not in html


def test_sessions_without_a_lottery_have_no_draw(session, owner_client):
    html = owner_client.get(reverse("manage:registrations", args=[session.pk])).content.decode()
    assert "Draw the lottery now" not in html

    response = owner_client.post(reverse("manage:lottery_draw", args=[session.pk]))

    assert "This session does not use a lottery." in texts(response)


def test_the_csv_has_the_columns_and_answers_and_defuses_formulas(
    event, session, owner, client_for
):
    question = question_service.add_question(
        event=event, actor=owner, label="=Which stack?", kind="multiple", choices=["Py", "Rs"]
    )
    text = question_service.add_question(event=event, actor=owner, label="Why", kind="short_text")
    register(
        user=UserFactory(display_name='=HYPERLINK("http://evil")', email="eve@example.com"),
        session=session,
        answers={str(question.pk): [0, 1], str(text.pk): "@SUM(A1:A9)"},
    )
    register(
        user=UserFactory(display_name="-2+3", role="researcher"),
        session=session,
        answers={str(question.pk): [0], str(text.pk): "+plain"},
    )

    response = client_for(owner).get(reverse("manage:registrations_csv", args=[session.pk]))

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Name", "Email", "Role", "Status", "Registered", "'=Which stack?", "Why"]
    assert rows[1][:4] == ['\'=HYPERLINK("http://evil")', "eve@example.com", "Developer", "Applied"]
    assert rows[1][5:] == ["Py; Rs", "'@SUM(A1:A9)"]
    assert rows[2][0] == "'-2+3"
    assert rows[2][2] == "Researcher"
    assert rows[2][6] == "'+plain"
    assert len(rows) == 3


# A person's history ----------------------------------------------------------------------------


def test_a_persons_page_shows_their_history_and_their_other_registrations_with_me(
    event, session, owner, owner_client
):
    person = UserFactory(display_name="Ada", affiliation="Analytical Engines", role="researcher")
    registration = register(user=person, session=session)
    act(owner_client, session, "approve", [registration])
    mine_too = EventFactory(organizer=owner, title="My other event")
    register(user=person, session=SessionFactory(event=mine_too))
    not_mine = EventFactory(title="Not my event")
    register(user=person, session=SessionFactory(event=not_mine))

    html = owner_client.get(reverse("manage:registration", args=[registration.pk])).content.decode()

    assert "Analytical Engines" in html and "Researcher" in html
    assert "new → Applied" in html
    assert "Applied → Confirmed" in html
    assert "Olga Owner" in html  # who approved
    assert "My other event" in html
    assert "Not my event" not in html


# Pages as markup -------------------------------------------------------------------------------


def manage_pages(world) -> list[str]:
    return [
        reverse("manage:dashboard"),
        reverse("manage:event_create"),
        reverse("manage:event", args=[world["event"].pk]),
        reverse("manage:event_edit", args=[world["event"].pk]),
        reverse("manage:event_cancel", args=[world["event"].pk]),
        reverse("manage:session_create", args=[world["event"].pk]),
        reverse("manage:session_edit", args=[world["session"].pk]),
        reverse("manage:session_cancel", args=[world["session"].pk]),
        reverse("manage:registrations", args=[world["session"].pk]),
        reverse("manage:registration", args=[world["registration"].pk]),
    ]


def test_every_input_on_the_manage_pages_has_a_label(world, owner_client):
    for url in manage_pages(world):
        html = owner_client.get(url).content.decode()
        ids_ = re.findall(
            r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|submit)")[^>]*\bid="([^"]+)"', html
        )
        unlabelled = re.findall(
            r'<(?:input|select|textarea)(?![^>]*type="(?:hidden|submit)")(?![^>]*\bid=)[^>]*>', html
        )
        assert not unlabelled, f"{url}: {unlabelled}"
        for field_id in ids_:
            assert f'for="{field_id}"' in html, f"{url}: #{field_id} has no label"


def test_the_manage_pages_have_no_inline_script_and_post_with_a_token(world, owner_client):
    for url in manage_pages(world):
        html = owner_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert not re.search(r"\son[a-z]+=", html), url
        assert not re.search(r'href="javascript:', html), url
        for form in re.findall(r'<form method="post".*?</form>', html, re.S):
            assert "csrfmiddlewaretoken" in form, url
            assert "<button" in form, url
        for table in re.findall(r"<thead>.*?</thead>", html, re.S):
            assert "<td" not in table and '<th scope="col"' in table, url


def test_the_event_page_query_count_does_not_grow_with_sessions(event, owner, owner_client):
    url = reverse("manage:event", args=[event.pk])

    def make(count):
        for _ in range(count):
            apply(SessionFactory(event=event), 1)
            add_to_team(event.team, OrganizerFactory())

    make(5)
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(url).status_code == 200
    make(195)
    with CaptureQueriesContext(connection) as many:
        html = owner_client.get(url).content.decode()

    assert html.count("Registrations</a>") == 200
    assert len(many) == len(few)


def test_changing_the_mode_after_sign_ups_is_refused_with_the_services_message(
    event, session, owner_client
):
    apply(session, 1)

    response = owner_client.post(
        reverse("manage:event_edit", args=[event.pk]),
        event_data(registration_mode="open", lottery_reserved_shares=""),
    )

    assert response.status_code == 400
    assert "The registration mode cannot change once people have signed up" in (
        response.content.decode()
    )
    event.refresh_from_db()
    assert event.registration_mode == Event.Mode.APPROVAL


@pytest.mark.parametrize("role", ["reviewer", "door"])
def test_reviewers_and_door_staff_open_the_organizer_area_but_create_no_event(
    event, client_for, role
):
    colleague = UserFactory()
    add_to_team(event.team, colleague, role=role)
    client = client_for(colleague)

    assert client.get(reverse("manage:event", args=[event.pk])).status_code == 404
    assert client.get(reverse("manage:dashboard")).status_code == 200
    assert client.get(reverse("manage:event_create")).status_code == 404
    assert client.post(reverse("manage:event_create"), {"title": "Mine"}).status_code == 404


def test_an_organizer_sets_the_reminder_hours_of_an_event(event, owner_client):
    from events.forms.manage import EventForm

    data = {**EventForm(instance=event).initial}
    data = {k: v for k, v in data.items() if v is not None and k != "organizers"}
    data.update(reminder_hours="48, 2", lottery_reserved_shares="")
    data.pop("registration_opens_at", None)
    data.pop("registration_closes_at", None)

    response = owner_client.post(reverse("manage:event_edit", args=[event.pk]), data)
    event.refresh_from_db()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert event.reminder_hours == [48, 2]

    bad = owner_client.post(
        reverse("manage:event_edit", args=[event.pk]), {**data, "reminder_hours": "24, soon"}
    )
    assert bad.status_code == 400
    assert "whole numbers of hours" in bad.content.decode()
    event.refresh_from_db()
    assert event.reminder_hours == [48, 2]


def test_a_persons_page_query_count_does_not_grow_with_their_history(event, owner, owner_client):
    person = UserFactory()
    registration = register(user=person, session=SessionFactory(event=event))
    url = reverse("manage:registration", args=[registration.pk])

    def make(count):
        for _ in range(count):
            mine = register(user=person, session=SessionFactory(event=event))
            # Each of their other registrations with me is a row of the page.
            act(owner_client, mine.session, "reject", [mine])

    make(5)
    with CaptureQueriesContext(connection) as few:
        assert owner_client.get(url).status_code == 200
    make(195)
    with CaptureQueriesContext(connection) as many:
        html = owner_client.get(url).content.decode()

    assert html.count("Not selected") >= 200
    assert len(many) == len(few)


def test_the_csv_query_count_does_not_grow_with_people(event, owner, owner_client):
    session = SessionFactory(event=event, capacity=500)
    question_service.add_question(
        event=event, actor=owner, label="Why?", kind="short_text", required=False
    )
    url = reverse("manage:registrations_csv", args=[session.pk])
    few, many, page = queries_at_5_and_200(owner_client, url, session)
    rows = list(csv.reader(io.StringIO(page)))

    assert len(rows) == 201
    assert len(many) == len(few)


@pytest.mark.parametrize("name", ["manage:session_cancel", "manage:event_cancel"])
def test_the_cancel_pages_query_count_does_not_grow_with_people(owner, owner_client, name):
    event = EventFactory(organizer=owner, registration_mode="open")
    session = SessionFactory(event=event, capacity=500)
    url = reverse(name, args=[event.pk if name == "manage:event_cancel" else session.pk])
    few, many, html = queries_at_5_and_200(owner_client, url, session)

    assert "200 people" in html
    assert len(many) == len(few)


def test_a_lottery_drawn_with_nobody_applying_says_so(owner, owner_client):
    event = EventFactory(
        organizer=owner,
        registration_mode="lottery",
        registration_closes_at=timezone.now() - timedelta(minutes=1),
    )
    session = SessionFactory(event=event, capacity=2)
    lottery.draw_due_lotteries()

    html = owner_client.get(reverse("manage:registrations", args=[session.pk])).content.decode()

    assert "nobody applied, so there was nobody to draw" in html
    assert "Draw the lottery now" not in html


def test_editing_a_session_down_to_no_seats_is_refused_and_nothing_is_written(
    session, owner_client
):
    before = Session.objects.values().get(pk=session.pk)

    response = owner_client.post(
        reverse("manage:session_edit", args=[session.pk]), session_data(capacity="0")
    )

    assert response.status_code == 400
    assert "greater than or equal to 1" in response.content.decode()
    assert Session.objects.values().get(pk=session.pk) == before


def test_the_registration_history_shows_times_in_my_zone_with_its_name(owner, session, client_for):
    owner.timezone = "Asia/Tokyo"
    owner.save(update_fields=["timezone"])
    [registration] = apply(session)
    registration.changes.update(created_at=datetime(2030, 7, 1, 8, 5, tzinfo=UTC))

    html = client_for(owner).get(reverse("manage:registration", args=[registration.pk]))
    history = html.content.decode().split('id="history-title"')[1].split("</table>")[0]

    # 08:05 UTC is 17:05 in Tokyo.
    assert re.search(r"<time datetime=\"[^\"]+\">[^<]*17:05 JST</time>", history), history


def test_the_registrations_table_and_the_messages_page_name_my_zone(owner, session, client_for):
    owner.timezone = "Asia/Tokyo"
    owner.save(update_fields=["timezone"])
    [registration] = apply(session)
    Registration.objects.filter(pk=registration.pk).update(
        created_at=datetime(2030, 7, 1, 8, 5, tzinfo=UTC)
    )
    client = client_for(owner)

    table = client.get(reverse("manage:registrations", args=[session.pk])).content.decode()
    messages = client.get(reverse("manage:session_messages", args=[session.pk])).content.decode()

    assert "17:05 JST" in table  # 08:05 UTC
    assert re.search(r"\d\d:\d\d JST</time>", messages), messages


def past_session_data(**overrides) -> dict:
    # Yesterday in Berlin, the event's zone.
    start = (timezone.now() - timedelta(days=1)).astimezone(BERLIN)
    return session_data(
        starts_at=start.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        **overrides,
    )


def test_a_session_starting_in_the_past_asks_for_confirmation_before_it_is_created(
    event, owner_client
):
    url = reverse("manage:session_create", args=[event.pk])

    response = owner_client.post(url, past_session_data())

    assert response.status_code == 400
    html = response.content.decode()
    assert "This session starts in the past" in html
    assert 'type="checkbox" name="confirm_past"' in html
    assert not event.sessions.exists()


def test_a_past_session_is_created_once_the_organizer_confirms_it(event, owner_client):
    url = reverse("manage:session_create", args=[event.pk])

    response = owner_client.post(url, past_session_data(confirm_past="on"))

    assert response.status_code == 302
    assert event.sessions.get().starts_at < timezone.now()


def test_the_new_session_form_shows_no_past_checkbox_until_it_is_needed(event, owner_client):
    html = owner_client.get(reverse("manage:session_create", args=[event.pk])).content.decode()

    assert 'type="checkbox" name="confirm_past"' not in html
    assert "starts in the past" not in html


def test_the_service_refuses_an_unconfirmed_past_session(event, owner):
    start = timezone.now() - timedelta(hours=3)

    with pytest.raises(scheduling.StartsInThePast):
        scheduling.create_session(
            event=event,
            actor=owner,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=5,
        )

    assert not event.sessions.exists()


def test_moving_a_session_into_the_past_asks_for_confirmation_before_anyone_is_told(
    session, owner_client
):
    """A mistyped year while editing has the effects of creating a past session, and more:
    everyone seated is sent the change and, the session being over, the survey at once."""
    [seated] = apply(session)
    Registration.objects.filter(pk=seated.pk).update(status=Status.CONFIRMED)
    before = (session.starts_at, session.ends_at, session.sequence)
    owed = Notification.objects.count()
    url = reverse("manage:session_edit", args=[session.pk])

    response = owner_client.post(url, past_session_data())

    assert response.status_code == 400
    html = response.content.decode()
    assert "moves the session into the past" in html
    assert 'type="checkbox" name="confirm_past"' in html
    session.refresh_from_db()
    assert (session.starts_at, session.ends_at, session.sequence) == before
    assert Notification.objects.count() == owed

    response = owner_client.post(url, past_session_data(confirm_past="on"))

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.starts_at < timezone.now()
