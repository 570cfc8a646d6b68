import re

import pytest

from tests.calendar_replies.imap import Dovecot
from tests.services import require

REPLY_ADDRESS = "Feedback Sessions <rsvp@replies.example.com>"
# What each registration's invites name as ORGANIZER (and From): the reply address with the
# registration's own secret as sub-address.
SECRET_ADDRESS = re.compile(r"rsvp\+[a-z0-9]{24}@replies\.example\.com")
MAILGUN_KEY = "key-for-mailgun-webhook-signatures-in-tests"


@pytest.fixture
def replies_by_webhook(settings):
    """Calendar replies on, through Mailgun's inbound webhook."""
    settings.CALENDAR_REPLY_ADDRESS = REPLY_ADDRESS
    settings.CALENDAR_REPLIES_WEBHOOK = "mailgun"
    settings.CALENDAR_REPLIES_IMAP_URL = ""
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    return settings


@pytest.fixture
def dovecot():
    require("imap")
    with Dovecot() as server:
        yield server


@pytest.fixture
def replies_by_imap(settings, dovecot):
    """Calendar replies on, through a real IMAP mailbox (dovecot) polled by the task."""
    settings.CALENDAR_REPLY_ADDRESS = REPLY_ADDRESS
    settings.CALENDAR_REPLIES_WEBHOOK = ""
    settings.CALENDAR_REPLIES_IMAP_URL = dovecot.url
    return dovecot
