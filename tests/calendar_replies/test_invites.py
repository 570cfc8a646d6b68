"""What the invites say about answers: RSVP=TRUE and the reply address as ORGANIZER (and
From) only where answers are read; otherwise RSVP=FALSE, so no calendar offers Yes / No /
Maybe buttons that do nothing. The .ics download says the same as the mail."""

from email.utils import parseaddr

import pytest
from django.urls import reverse

from events.services.registration import register
from tests.calendar_replies.conftest import REPLY_ADDRESS, SECRET_ADDRESS
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites, parse_calendar

pytestmark = pytest.mark.django_db


def mailed_and_downloaded(smtp, client_for):
    user = UserFactory()
    registration = register(user=user, session=SessionFactory())
    deliver_pending()
    [message] = smtp.to(user.email)
    [mailed] = invites([message])
    response = client_for(user).get(reverse("events:invite_ics", args=[registration.pk]))
    return message, mailed, parse_calendar(response.content)


def test_without_inbound_mail_invites_ask_for_no_answer(smtp, client_for, settings):
    # A reply address alone is not enough: nothing would read what arrives there.
    settings.CALENDAR_REPLY_ADDRESS = REPLY_ADDRESS
    message, mailed, downloaded = mailed_and_downloaded(smtp, client_for)

    for invite in (mailed, downloaded):
        assert invite.organizer == "mailto:noreply@localhost"
        assert invite.attendees[0].params["RSVP"] == "FALSE"
        assert b"RSVP=FALSE" in invite.raw.replace(b"\r\n ", b"")  # unfolded
    assert parseaddr(message["From"])[1] == "noreply@localhost"


@pytest.mark.parametrize("way", ["webhook", "imap"])
def test_with_inbound_mail_invites_ask_for_an_answer_at_the_reply_address(
    smtp, client_for, settings, way
):
    settings.CALENDAR_REPLY_ADDRESS = REPLY_ADDRESS
    if way == "webhook":
        settings.CALENDAR_REPLIES_WEBHOOK = "mailgun"
    else:
        settings.CALENDAR_REPLIES_IMAP_URL = "imaps://rsvp:secret@imap.example.com/INBOX"
    message, mailed, downloaded = mailed_and_downloaded(smtp, client_for)

    for invite in (mailed, downloaded):
        assert SECRET_ADDRESS.fullmatch(invite.organizer.removeprefix("mailto:"))
        assert invite.organizer_cn == "Feedback Sessions"
        assert invite.attendees[0].params["RSVP"] == "TRUE"
    # Invariant 4: the calendar message comes From its ORGANIZER, the same for both.
    assert mailed.organizer == downloaded.organizer
    assert parseaddr(message["From"]) == ("Feedback Sessions", mailed.organizer[len("mailto:") :])
