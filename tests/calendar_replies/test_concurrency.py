"""Replies processed once even when copies arrive at the same moment (a provider's retry
racing the first delivery, the webhook and the IMAP poll both holding the message): real
threads on PostgreSQL, each with its own connection."""

import email
import threading

import pytest
from django.db import close_old_connections, connection

from events.models import CalendarReply, Notification, Registration, RegistrationChange
from events.services import calendar_replies
from events.services.registration import register
from tests.calendar_replies.helpers import reply_mail
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites

COPIES = 8


def take_all_at_once(raw: bytes) -> list[str]:
    barrier = threading.Barrier(COPIES)
    outcomes = [""] * COPIES

    def run(index: int) -> None:
        try:
            barrier.wait()
            message = email.message_from_bytes(raw)
            taken = calendar_replies.take(message=message, raw=raw, source="imap")
            outcomes[index] = taken.outcome
        except Exception as error:  # noqa: BLE001 - every failure is an outcome to report
            outcomes[index] = f"error: {error.__class__.__name__}: {error}"
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_copies_of_one_no_delivered_at_once_cancel_once(replies_by_webhook, smtp):
    session = SessionFactory(capacity=1, waitlist_enabled=True)
    ada, bob = UserFactory(), UserFactory()
    register(user=ada, session=session)
    register(user=bob, session=session)
    deliver_pending()
    [invite] = invites(smtp.to(ada.email))
    raw = reply_mail(invite, partstat="DECLINED", sender=ada.email)

    outcomes = take_all_at_once(raw)

    assert sorted(outcomes) == ["applied"] + ["duplicate"] * (COPIES - 1)
    assert CalendarReply.objects.count() == 1
    ada_row = Registration.objects.get(user=ada)
    assert ada_row.status == Registration.Status.CANCELLED
    assert (
        RegistrationChange.objects.filter(registration=ada_row, to_status="cancelled").count() == 1
    )
    assert Notification.objects.filter(recipient=ada, kind=Notification.Kind.CANCELLED).count() == 1
    assert Registration.objects.get(user=bob).status == Registration.Status.OFFERED
