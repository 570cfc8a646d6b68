"""What online attendees are sent, over a real SMTP server: their personal join link in the
confirmation, its invite and the reminders; never the meeting's own address."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from events.models import Registration
from events.services import reminders
from events.services.registration import register
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import bodies, calendar_part, deliver_pending, parse_calendar

pytestmark = pytest.mark.django_db

MEETING = "https://meet.example.com/secret-room"


def join_link(registration: Registration) -> str:
    return f"{settings.SITE_URL}{reverse('events:join', args=[registration.join_token])}"


def test_an_online_confirmation_and_its_invite_carry_the_personal_link_only(smtp):
    session = SessionFactory(location="", online_url=MEETING)
    assert session.format == "online"
    user = UserFactory()
    registration = register(user=user, session=session)
    deliver_pending()
    [message] = smtp.to(user.email)
    text, html = bodies(message)
    invite = parse_calendar(calendar_part(message))
    link = join_link(registration)
    assert f"Join online: {link}" in text
    assert f'href="{link}"' in html
    assert "This link is yours alone" in text
    assert invite.location == link and invite.url == link and link in invite.description
    for part in (text, html, calendar_part(message).decode()):
        assert MEETING not in part
    # No door to show a code at: no check-in code for an online session.
    assert "checkin-qr.png" not in text
    assert not [p for p in message.walk() if p.get_filename() == "checkin-qr.png"]


def test_a_hybrid_confirmation_has_the_room_and_the_link(smtp):
    session = SessionFactory(location="Room 3", online_url=MEETING)
    user = UserFactory()
    registration = register(user=user, session=session)
    deliver_pending()
    [message] = smtp.to(user.email)
    text, _html = bodies(message)
    assert "Where: Room 3" in text and join_link(registration) in text
    assert "checkin-qr.png" in text  # some come to the room
    assert MEETING not in text


def test_an_in_person_confirmation_has_no_join_link(smtp):
    session = SessionFactory(location="Room 3")
    user = UserFactory()
    register(user=user, session=session)
    deliver_pending()
    [message] = smtp.to(user.email)
    text, html = bodies(message)
    assert "/join/" not in text + html + calendar_part(message).decode()


def test_reminders_carry_the_personal_link(smtp):
    session = SessionFactory(location="", online_url=MEETING)
    user = UserFactory()
    registration = register(user=user, session=session)
    deliver_pending()
    smtp.messages.clear()
    assert reminders.queue_due(now=session.starts_at - timedelta(minutes=59)) == 1
    deliver_pending()
    [reminder] = smtp.to(user.email)
    text, html = bodies(reminder)
    assert "starts in about an hour" in text
    assert join_link(registration) in text and join_link(registration) in html
    assert MEETING not in text + html
