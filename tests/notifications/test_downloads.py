"""Calendar downloads (events.views.calendar): one confirmed session's invite.ics for its owner,
a private feed per person behind a resettable token, a public feed per public event without
the place (still telling subscribers of a cancellation for 30 days), and 'add to Google /
Outlook' links with the right UTC times."""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import vobject
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from accounts.services import export_user_data
from events import ics
from events.models import Event, Notification
from events.services.registration import cancel, register
from events.services.scheduling import (
    cancel_event,
    cancel_session,
    publish_event,
    unpublish_event,
    update_session,
)
from tests.factories import EventFactory, SessionFactory, UserFactory, organizer_of
from tests.notifications.helpers import (
    FIXED_START,
    deliver_pending,
    invites,
    parse_calendar,
)

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


def test_the_download_is_the_emailed_invite_itself_so_importing_it_updates_the_same_entry(
    smtp, client_for
):
    session = SessionFactory(location="Room 1", online_url="https://meet.example.com/z")
    user = UserFactory(display_name="Ada Lovelace")
    registration = register(user=user, session=session)
    update_session(session=session, actor=organizer_of(session.event), location="Room 2")
    deliver_pending()
    emailed = invites(smtp.to(user.email))[-1]

    response = client_for(user).get(invite_url(registration))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    # Not a PUBLISH copy of the invite's UID (it collides with the invite where both are
    # imported): the same REQUEST, so a calendar holding the invite finds it up to date.
    download = parse_calendar(response.content)
    assert download.method == emailed.method == "REQUEST"
    assert download.uid == emailed.uid == ics.uid_for(session)
    assert download.sequence == emailed.sequence
    assert download.organizer == emailed.organizer
    assert [a.lower() for a in download.attendees] == [f"mailto:{user.email}"]
    assert "Room 2" in download.location
    # The person's own join link, never the meeting's address.
    assert f"/join/{registration.join_token}/" in download.location
    assert "meet.example.com" not in response.content.decode()
    assert download.start == session.starts_at


def test_nobody_else_downloads_someone_elses_invite(client_for):
    registration = register(user=UserFactory(), session=SessionFactory())
    url = invite_url(registration)

    assert client_for(UserFactory()).get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))


def test_the_owner_gets_no_invite_for_a_seat_they_do_not_hold(client_for):
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
    mine_registration = register(user=user, session=mine)
    called_off = SessionFactory()
    register(user=user, session=called_off)
    cancel_session(session=called_off, actor=organizer_of(called_off.event))
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
    assert f"/join/{mine_registration.join_token}/" in str(events[0]["LOCATION"])
    assert "meet.example.com" not in response.content.decode()


def test_a_wrong_feed_token_is_a_404():
    user = UserFactory()
    register(user=user, session=SessionFactory())

    assert Client().get(reverse("events:user_feed", args=["not-the-token"])).status_code == 404
    assert Client().get(feed_url(user)[:-8] + "x.ics").status_code == 404


def test_resetting_the_feed_token_cuts_off_the_old_address(client_for):
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
    cancel_session(session=gone, actor=organizer_of(event))

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


def test_the_google_and_outlook_links_carry_the_sessions_utc_times(client_for):
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


def test_the_outlook_link_writes_spaces_as_percent_20_which_outlook_reads_as_spaces(client_for):
    session = SessionFactory(event__title="Design review", title="Europe slot")
    user = UserFactory()
    register(user=user, session=session)

    page = client_for(user).get(reverse("events:my_sessions")).content.decode()
    _, outlook = calendar_links(page)

    query = urlsplit(outlook).query
    assert "subject=Design%20review%3A%20Europe%20slot" in query
    assert "+" not in query
    assert parse_qs(query)["subject"] == ["Design review: Europe slot"]


# Control characters in what reaches a calendar -----------------------------------------------


def test_titles_with_line_breaks_and_control_characters_still_give_valid_calendar_files(
    smtp, client_for
):
    # Written around the forms (which refuse them): rows from before, the admin, a script.
    event = EventFactory(title="Demo\nday\r\x01 two\x7f")
    session = SessionFactory(
        event=event, title="Slot\r\nA\x1b", location="Room\n1\t(east)\u2028wing"
    )
    user = UserFactory(display_name="Ada\r\nLovelace")
    registration = register(user=user, session=session)

    download = client_for(user).get(invite_url(registration))
    personal = Client().get(feed_url(user))
    public = Client().get(reverse("events:event_feed", args=[event.pk]))

    assert [r.status_code for r in (download, personal, public)] == [200, 200, 200]
    invite = parse_calendar(download.content)  # icalendar and vobject, no errors
    [mine] = parse_feed(personal.content)
    [listed] = parse_feed(public.content)
    for entry in (invite.ical.walk("VEVENT")[0], mine, listed):
        assert str(entry["SUMMARY"]) == "Demo day two: Slot A"
    assert invite.location == str(mine["LOCATION"]) == "Room 1 (east) wing"
    assert invite.attendees[0].params["CN"] == "Ada Lovelace"
    assert str(Calendar.from_ical(public.content)["X-WR-CALNAME"]) == "Demo day two"
    assert str(Calendar.from_ical(public.content)["NAME"]) == "Demo day two"
    for body in (download.content, personal.content, public.content):
        # Every content line is free of control characters but the CRLF that ends it.
        for line in body.split(b"\r\n"):
            assert not re.search(rb"[\x00-\x1f\x7f]", line), line
    deliver_pending()
    [emailed] = invites(smtp.to(user.email))
    assert emailed.ical.walk("VEVENT")[0]["SUMMARY"] == "Demo day two: Slot A"
    page = client_for(user).get(reverse("events:my_sessions")).content.decode()
    for link, field in zip(calendar_links(page), ("text", "subject"), strict=True):
        assert parse_qs(urlsplit(link).query)[field] == ["Demo day two: Slot A"]


# Feeds -----------------------------------------------------------------------------------------


def test_an_empty_personal_feed_still_holds_a_component_and_shows_no_entry():
    user = UserFactory()

    response = Client().get(feed_url(user))

    assert response.status_code == 200
    calendar = Calendar.from_ical(response.content)
    # RFC 5545: a VCALENDAR holds at least one component. A VTIMEZONE shows nothing.
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE"]
    assert parse_feed(response.content) == []
    other = vobject.readOne(response.content.decode())
    assert [c.name for c in other.components()] == ["VTIMEZONE"]


def test_both_feeds_tell_calendar_apps_to_fetch_them_again_every_hour():
    user = UserFactory()
    session = SessionFactory()
    register(user=user, session=session)

    personal = Client().get(feed_url(user)).content
    public = Client().get(reverse("events:event_feed", args=[session.event_id])).content

    for body in (personal, public):
        assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
        assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in body
        calendar = Calendar.from_ical(body)
        assert calendar.refresh_interval == timedelta(hours=1)


def event_feed(event):
    return Client().get(reverse("events:event_feed", args=[event.pk]))


def statuses_in(response) -> dict[str, tuple[str, int]]:
    return {
        str(e["UID"]): (str(e["STATUS"]), int(e["SEQUENCE"])) for e in parse_feed(response.content)
    }


def withdrawn_days_ago(event, days: float) -> None:
    Event.objects.filter(pk=event.pk).update(withdrawn_at=timezone.now() - timedelta(days=days))


def test_a_cancelled_events_feed_shows_its_sessions_cancelled_for_30_days_then_is_gone():
    event = EventFactory()
    first, second = SessionFactory(event=event), SessionFactory(event=event)
    register(user=UserFactory(), session=first)

    cancel_event(event=event, actor=organizer_of(event))
    response = event_feed(event)

    assert response.status_code == 200
    assert {uid: status for uid, (status, _) in statuses_in(response).items()} == {
        ics.uid_for(first): "CANCELLED",
        ics.uid_for(second): "CANCELLED",
    }
    withdrawn_days_ago(event, 29.9)
    assert event_feed(event).status_code == 200
    withdrawn_days_ago(event, 30.1)
    assert event_feed(event).status_code == 410


def test_an_unpublished_events_feed_cancels_its_sessions_until_it_is_published_again():
    event = EventFactory()
    session = SessionFactory(event=event)
    before = statuses_in(event_feed(event))[ics.uid_for(session)]

    unpublish_event(event=event, actor=organizer_of(event))
    status, sequence = statuses_in(event_feed(event))[ics.uid_for(session)]

    assert before == ("CONFIRMED", 0)
    assert (status, sequence) == ("CANCELLED", 1)  # newer than what subscribers hold
    publish_event(event=event, actor=organizer_of(event))
    # Scheduled again, and newer than the cancellation they were shown.
    assert statuses_in(event_feed(event))[ics.uid_for(session)] == ("CONFIRMED", 2)
    unpublish_event(event=event, actor=organizer_of(event))
    withdrawn_days_ago(event, 31)
    assert event_feed(event).status_code == 410


def test_a_session_over_before_the_event_was_withdrawn_stays_as_it_was_in_the_feed():
    event = EventFactory()
    past = SessionFactory(
        event=event,
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=2) + timedelta(hours=1),
    )
    coming = SessionFactory(event=event)

    cancel_event(event=event, actor=organizer_of(event))
    statuses = statuses_in(event_feed(event))

    assert statuses[ics.uid_for(past)] == ("CONFIRMED", 0)
    assert statuses[ics.uid_for(coming)][0] == "CANCELLED"


def test_a_draft_never_published_has_no_feed_even_once_cancelled():
    event = EventFactory(status=Event.Status.DRAFT)
    SessionFactory(event=event)

    cancel_event(event=event, actor=organizer_of(event))

    assert event_feed(event).status_code == 404


def test_an_entry_added_from_the_download_is_cancelled_though_the_emailed_invite_never_left(
    smtp, client_for
):
    """The download is the invite itself (a REQUEST): a calendar it reached has an entry
    as surely as one the email reached. Greylisted, the "you're in" waits for its retry;
    meanwhile the person adds the session from the .ics link, then cancels: the CANCEL
    must carry its calendar part, or the entry, with its place, stays."""
    session = SessionFactory(location="Room 4")
    user = UserFactory()
    registration = register(user=user, session=session)
    smtp.data_replies = ["451 4.7.1 greylisted, try again later"]
    deliver_pending()
    assert client_for(user).get(invite_url(registration)).status_code == 200
    # Recorded, so it is theirs to see in their data export too.
    [exported] = export_user_data(user=user)["registrations"]
    assert exported["calendar_file_downloaded_at"]

    cancel(registration=registration, actor=user)
    Notification.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    deliver_pending()
    deliver_pending()

    [cancellation] = invites(smtp.to(user.email))
    assert (cancellation.method, cancellation.uid) == ("CANCEL", ics.uid_for(session))
