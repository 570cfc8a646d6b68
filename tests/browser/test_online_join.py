"""An online session's attendee joins through their personal link: the confirmation arrives
over SMTP with the link (never the meeting's address); opened before the window, the page says
when to come back; opened in the window on a phone, one press of its focused button (never the
page by itself: mail scanners run scripts) leads to the meeting; the organizer's attendance page
then shows them as attended, joined online.

The meeting is a small web server the test starts on this machine (another origin than the
site's), so the journey needs no network: what is tested is that our page leads there."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Notification, Registration
from events.outbox import delivery
from events.services import scheduling
from events.services.registration import register
from tests.factories import EventFactory, SessionFactory, UserFactory, organizer_of

from .steps import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOM = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Launch room</title>
</head><body><main><h1>Launch room</h1><p>You are in the meeting.</p></main></body></html>"""


class Room(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(ROOM)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def meeting() -> Iterator[str]:
    """The meeting's address: a web server of its own, as a video-call provider's would be."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Room)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/launch-room"
    server.shutdown()


def deliver_pending() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(notification_id=pk)


def test_an_online_attendee_joins_through_their_link_and_the_organizer_sees_them_attended(
    open_tab, smtp, meeting
):
    event = EventFactory(title="Model launch preview", join_opens_before=5)
    organizer = organizer_of(event)
    organizer.display_name, organizer.timezone = "Olga Organizer", "UTC"
    organizer.save(update_fields=["display_name", "timezone"])
    starts = timezone.now() + timedelta(minutes=10)
    session = SessionFactory(
        event=event,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        location="",
        online_url=meeting,
    )
    ada = UserFactory(display_name="Ada Attendee", email="ada@example.com", timezone="UTC")
    register(user=ada, session=session)
    deliver_pending()
    [mail] = smtp.to(ada.email)
    assert meeting not in smtp.text(mail)
    [link] = [u for u in smtp.links(mail) if "/join/" in u]
    join = urlsplit(link).path

    attendee = open_tab("attendee", phone=True)
    page = attendee.page

    # Ten minutes before the start, with the window opening five minutes before: not yet.
    attendee.visit(join, "join page, before the window")
    expect(page.locator(".join-page")).to_contain_text("The meeting opens")
    expect(page.get_by_role("button", name="Join the meeting")).to_have_count(0)
    assert meeting not in page.content()
    assert Registration.objects.get(user=ada).first_joined_at is None

    # The organizer opens the door a quarter of an hour ahead: the same link now leads in.
    scheduling.update_event(event=event, actor=organizer, join_opens_before=15)
    attendee.visit(join, "join page, inside the window")
    button = page.get_by_role("button", name="Join the meeting")
    expect(button).to_be_focused()  # one press (or Enter) away
    # A mail scanner that opens the link and runs its scripts joins nobody.
    page.wait_for_timeout(1000)
    assert page.url.endswith(join)
    assert Registration.objects.get(user=ada).first_joined_at is None
    button.click()
    page.wait_for_url(meeting)
    attendee.check("the meeting, reached through the link")
    expect(page.get_by_role("heading", level=1)).to_have_text("Launch room")
    registration = Registration.objects.get(user=ada)
    assert registration.first_joined_at is not None
    assert registration.checked_in_at is not None

    # The organizer sees Ada attended, joined online.
    desk = open_tab("organizer")
    log_in(desk, email=organizer.email, name="Olga Organizer")
    desk.visit(f"/manage/sessions/{session.pk}/attendance/", "attendance")
    row = desk.page.locator(f"#r{registration.pk}")
    expect(row).to_contain_text("Ada Attendee")
    expect(row).to_contain_text("Attended")
    expect(row).to_contain_text("Joined online at")
