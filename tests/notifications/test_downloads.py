"""Calendar downloads (events.views.calendar): one confirmed session's invite.ics for its owner,
a private feed per person behind a resettable token, a public feed per public event without
the place, and 'add to Google / Outlook' links with the right UTC times."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import vobject
from django.conf import settings
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from events import ics
from events.models import Event
from events.services.registration import cancel, register
from events.services.scheduling import cancel_session, update_session
from tests.factories import EventFactory, SessionFactory, UserFactory
from tests.notifications.helpers import FIXED_START, calendar_part, client_for, deliver_pending

pytestmark = pytest.mark.django_db


def parse_feed(data: bytes) -> list:
    calendar = Calendar.from_ical(data)
    problems = [(c.name, c.errors) for c in calendar.walk() if c.errors]
    assert not problems, problems
    other = vobject.readOne(data.decode())
    assert other.method.value == str(calendar["METHOD"]) == "PUBLISH"
    assert len(getattr(other, "vevent_list", [])) == len(calendar.walk("VEVENT"))
    return calendar.walk("VEVENT")


def uids(events) -> set[str]:
    return {str(e["UID"]) for e in events}


def invite_url(registration) -> str:
    return reverse("events:invite_ics", args=[registration.pk])


def test_the_owner_downloads_their_confirmed_session_with_the_invites_uid(smtp):
    session = SessionFactory(location="Room 1", online_url="https://meet.example.com/z")
    user = UserFactory()
    registration = register(user=user, session=session)
    update_session(session=session, actor=session.event.organizers.get(), location="Room 2")
    deliver_pending()
    emailed = Calendar.from_ical(calendar_part(smtp.to(user.email)[-1])).walk("VEVENT")[0]

    response = client_for(user).get(invite_url(registration))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    [event] = parse_feed(response.content)
    assert str(event["UID"]) == str(emailed["UID"]) == ics.uid_for(session)
    assert int(event["SEQUENCE"]) == int(emailed["SEQUENCE"])
    assert "Room 2" in str(event["LOCATION"])
    assert "meet.example.com/z" in str(event["LOCATION"])
    assert event.decoded("DTSTART") == session.starts_at


def test_nobody_else_downloads_someone_elses_invite():
    registration = register(user=UserFactory(), session=SessionFactory())
    url = invite_url(registration)

    assert client_for(UserFactory()).get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))


def test_the_owner_gets_no_invite_for_a_seat_they_do_not_hold():
    full = SessionFactory(capacity=1)
    register(user=UserFactory(), session=full)
    user = UserFactory()
    waiting = register(user=user, session=full)
    applied = register(user=user, session=SessionFactory(event__registration_mode="approval"))
    left = register(user=user, session=SessionFactory())
    cancel(registration=left, actor=user)
    client = client_for(user)

    for registration in (waiting, applied, left):
        assert client.get(invite_url(registration)).status_code == 404, registration.status


def feed_url(user) -> str:
    return reverse("events:user_feed", args=[user.calendar_token])


def test_the_private_feed_lists_the_persons_confirmed_sessions_only():
    user = UserFactory()
    mine = SessionFactory(online_url="https://meet.example.com/mine")
    register(user=user, session=mine)
    called_off = SessionFactory()
    register(user=user, session=called_off)
    cancel_session(session=called_off, actor=called_off.event.organizers.get())
    left = SessionFactory()
    cancel(registration=register(user=user, session=left), actor=user)
    full = SessionFactory(capacity=1)
    register(user=UserFactory(), session=full)
    register(user=user, session=full)  # waitlisted
    register(user=UserFactory(), session=SessionFactory())  # someone else's

    response = Client().get(feed_url(user))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    events = parse_feed(response.content)
    assert uids(events) == {ics.uid_for(mine)}
    assert "meet.example.com/mine" in str(events[0]["LOCATION"])


def test_a_wrong_feed_token_is_a_404():
    user = UserFactory()
    register(user=user, session=SessionFactory())

    assert Client().get(reverse("events:user_feed", args=["not-the-token"])).status_code == 404
    assert Client().get(feed_url(user)[:-8] + "x.ics").status_code == 404


def test_resetting_the_feed_token_cuts_off_the_old_address():
    user = UserFactory()
    old = feed_url(user)
    client = client_for(user)

    assert client.get(reverse("events:reset_feed_token")).status_code == 405
    assert Client().get(old).status_code == 200
    response = client.post(reverse("events:reset_feed_token"))

    assert response.status_code == 302
    user.refresh_from_db()
    assert Client().get(old).status_code == 404
    assert Client().get(feed_url(user)).status_code == 200


def test_the_public_event_feed_has_the_sessions_without_the_place():
    event = EventFactory()
    first = SessionFactory(
        event=event, location="Secret room", online_url="https://meet.example.com/s"
    )
    second = SessionFactory(event=event, location="Other secret room")
    gone = SessionFactory(event=event)
    cancel_session(session=gone, actor=event.organizers.get())

    response = Client().get(reverse("events:event_feed", args=[event.pk]))

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    events = parse_feed(response.content)
    assert uids(events) == {ics.uid_for(s) for s in (first, second, gone)}
    body = response.content.decode()
    assert "Secret room" not in body
    assert "meet.example.com" not in body
    assert all("LOCATION" not in e for e in events)
    statuses = {str(e["UID"]): str(e["STATUS"]) for e in events}
    assert statuses[ics.uid_for(gone)] == "CANCELLED"
    page = f"{settings.SITE_URL}{reverse('events:detail', args=[event.pk])}"
    assert all(page in str(e["DESCRIPTION"]) for e in events)


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Event.Status.DRAFT},
        {"visibility": Event.Visibility.UNLISTED},
        {"registration_mode": Event.Mode.INVITATION},
    ],
    ids=["draft", "unlisted", "invitation-only"],
)
def test_the_public_feed_of_an_event_that_is_not_public_is_a_404(fields):
    session = SessionFactory(event=EventFactory(**fields))

    response = Client().get(reverse("events:event_feed", args=[session.event_id]))

    assert response.status_code == 404


def calendar_links(page: str) -> tuple[str, str]:
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
    google = next(h for h in hrefs if h.startswith("https://calendar.google.com/"))
    outlook = next(h for h in hrefs if h.startswith("https://outlook.live.com/"))
    return google, outlook


def test_the_google_and_outlook_links_carry_the_sessions_utc_times():
    session = SessionFactory(
        starts_at=FIXED_START, ends_at=FIXED_START + timedelta(hours=1, minutes=30)
    )
    user = UserFactory(timezone="Asia/Tokyo")
    register(user=user, session=session)

    page = client_for(user).get(reverse("events:my_sessions")).content.decode()
    google, outlook = calendar_links(page)

    google_query = parse_qs(urlsplit(google).query)
    assert google_query["dates"] == ["20300715T140000Z/20300715T153000Z"]
    assert google_query["action"] == ["TEMPLATE"]
    assert google_query["text"] == [session.event.title]
    outlook_query = parse_qs(urlsplit(outlook).query)
    assert outlook_query["startdt"] == ["2030-07-15T14:00:00Z"]
    assert outlook_query["enddt"] == ["2030-07-15T15:30:00Z"]


def test_the_calendar_links_convert_a_zoned_time_to_utc():
    from zoneinfo import ZoneInfo

    start = FIXED_START.astimezone(ZoneInfo("America/New_York"))
    item = ics.Occurrence(
        uid="x", summary="S", start=start, end=start + timedelta(hours=1), sequence=0, url=""
    )

    assert "dates=20300715T140000Z%2F20300715T150000Z" in ics.google_link(item)
    assert "startdt=2030-07-15T14%3A00%3A00Z" in ics.outlook_link(item)
