"""A deleted account's calendar answers go with it: each inbound row keeps the sender's
address."""

import email

import pytest

from accounts.services import delete_account
from events.models import CalendarReply
from events.services import calendar_replies
from events.services.registration import register
from tests.calendar_replies.helpers import reply_mail
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites

pytestmark = pytest.mark.django_db


def test_deleting_an_account_deletes_its_calendar_answers(replies_by_webhook, smtp):
    session = SessionFactory()
    ada, bob = UserFactory(), UserFactory()
    register(user=ada, session=session)
    register(user=bob, session=session)
    deliver_pending()
    for user in (ada, bob):
        raw = reply_mail(invites(smtp.to(user.email))[0], partstat="ACCEPTED", sender=user.email)
        calendar_replies.take(message=email.message_from_bytes(raw), raw=raw, source="imap")

    delete_account(user=ada)

    assert list(CalendarReply.objects.values_list("sender", flat=True)) == [bob.email.lower()]
