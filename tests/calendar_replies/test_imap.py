"""Calendar answers through a real IMAP mailbox (dovecot, started by the test) polled by the
beat task: a "No" in the attendee's calendar frees the seat for the waitlist and a CANCEL
confirms it; a "Yes" or "Maybe" is recorded; duplicates, forgeries and stale answers change
nothing."""

import logging
from email.utils import parseaddr

import pytest
from django.db import OperationalError

from events import tasks
from events.models import CalendarReply, Notification, Registration
from events.services import mailbox as mailbox_service
from events.services.registration import register
from events.services.scheduling import update_session
from tests import factories
from tests.calendar_replies.conftest import REPLY_ADDRESS, SECRET_ADDRESS
from tests.calendar_replies.helpers import reply_mail
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites

pytestmark = [pytest.mark.imap, pytest.mark.django_db]

Status = Registration.Status


def full_session_with_a_waitlist():
    session = SessionFactory(capacity=1, waitlist_enabled=True)
    ada, bob = UserFactory(), UserFactory()
    assert register(user=ada, session=session).status == Status.CONFIRMED
    assert register(user=bob, session=session).status == Status.WAITLISTED
    return session, ada, bob


def invite_of(smtp, user):
    deliver_pending()
    [invite, *_] = invites(smtp.to(user.email))
    return invite


def test_a_no_in_the_calendar_frees_the_seat_for_the_waitlist_and_a_cancel_confirms_it(
    replies_by_imap, smtp
):
    mailbox = replies_by_imap
    session, ada, bob = full_session_with_a_waitlist()
    deliver_pending()
    [message] = smtp.to(ada.email)
    [invite] = invites([message])
    # The invite asks for an answer, from and to Ada's own secret reply address.
    assert SECRET_ADDRESS.fullmatch(invite.organizer.removeprefix("mailto:"))
    assert parseaddr(message["From"])[1] == invite.organizer.removeprefix("mailto:")
    assert invite.attendees[0].params["RSVP"] == "TRUE"

    mailbox.deliver(reply_mail(invite, partstat="DECLINED", sender=ada.email))
    assert tasks.poll_calendar_replies() == 1

    ada_row = Registration.objects.get(session=session, user=ada)
    assert ada_row.status == Status.CANCELLED
    assert ada_row.changes.last().note == "Declined in their calendar"
    assert Registration.objects.get(session=session, user=bob).status == Status.OFFERED
    deliver_pending()
    cancel = [i for i in invites(smtp.to(ada.email)) if i.method == "CANCEL"]
    assert [(c.uid, c.organizer) for c in cancel] == [(invite.uid, invite.organizer)]
    assert cancel[0].sequence > invite.sequence
    assert mailbox.unseen() == 0  # read, and marked so in the mailbox


def test_a_reply_delivered_twice_is_processed_once(replies_by_imap, smtp):
    mailbox = replies_by_imap
    session, ada, bob = full_session_with_a_waitlist()
    invite = invite_of(smtp, ada)
    raw = reply_mail(invite, partstat="DECLINED", sender=ada.email, message_id="<once@gmail>")
    mailbox.deliver(raw)
    mailbox.deliver(raw)  # the same message again (a forward, a redelivery)

    assert tasks.poll_calendar_replies() == 2
    assert tasks.poll_calendar_replies() == 0  # nothing left unseen

    assert CalendarReply.objects.get().message_id == "<once@gmail>"
    assert Registration.objects.get(session=session, user=ada).status == Status.CANCELLED
    assert Registration.objects.get(session=session, user=bob).status == Status.OFFERED
    owed = Notification.objects.filter(recipient=ada, kind=Notification.Kind.CANCELLED)
    assert owed.count() == 1
    # Ada signs up again; the old answer, delivered once more, does not cancel her anew.
    assert register(user=ada, session=session).status == Status.WAITLISTED
    mailbox.deliver(raw)
    assert tasks.poll_calendar_replies() == 1
    assert Registration.objects.get(session=session, user=ada).status == Status.WAITLISTED


def test_yes_and_maybe_are_recorded_not_acted_on(replies_by_imap, smtp):
    mailbox = replies_by_imap
    session = SessionFactory()
    ada, bob = UserFactory(), UserFactory()
    register(user=ada, session=session)
    register(user=bob, session=session)
    deliver_pending()
    [ada_invite] = invites(smtp.to(ada.email))
    [bob_invite] = invites(smtp.to(bob.email))

    mailbox.deliver(reply_mail(ada_invite, partstat="ACCEPTED", sender=ada.email))
    mailbox.deliver(reply_mail(bob_invite, partstat="TENTATIVE", sender=bob.email))
    assert tasks.poll_calendar_replies() == 2

    ada_row = Registration.objects.get(user=ada)
    bob_row = Registration.objects.get(user=bob)
    assert (ada_row.status, ada_row.current_calendar_answer) == (Status.CONFIRMED, "accepted")
    assert (bob_row.status, bob_row.current_calendar_answer) == (Status.CONFIRMED, "tentative")

    # The session moves: a "Yes" to the old time says nothing about the new one.
    update_session(session=session, actor=factories.organizer_of(session.event), location="Room 7")
    ada_row.refresh_from_db()
    assert ada_row.current_calendar_answer == ""


def test_forged_stale_and_unknown_replies_change_nothing_and_are_logged(
    replies_by_imap, smtp, caplog
):
    mailbox = replies_by_imap
    session, ada, bob = full_session_with_a_waitlist()
    invite = invite_of(smtp, ada)
    mallory = UserFactory()
    # Someone else answering "No" for Ada (her address as ATTENDEE, theirs as From).
    mailbox.deliver(
        reply_mail(invite, partstat="DECLINED", sender=mallory.email, attendee=ada.email)
    )
    # Bob, waitlisted, answering with Ada's invite as if it were his.
    mailbox.deliver(reply_mail(invite, partstat="DECLINED", sender=bob.email))
    # A UID of no session of ours.
    other = invite.__class__(**{**invite.__dict__, "uid": "something-else@example.com"})
    mailbox.deliver(reply_mail(other, partstat="DECLINED", sender=ada.email))
    # A message with no calendar answer at all (a person writing back by hand).
    mailbox.deliver(
        b"From: Ada <" + ada.email.encode() + b">\r\nTo: rsvp@replies.example.com\r\n"
        b"Message-ID: <by-hand@example.com>\r\nSubject: Re: your invite\r\n\r\nSee you!\r\n"
    )
    # The session moved (SEQUENCE up); an answer to the first invite comes in late.
    update_session(session=session, actor=factories.organizer_of(session.event), location="Room 7")
    mailbox.deliver(reply_mail(invite, partstat="DECLINED", sender=ada.email, sequence=0))

    with caplog.at_level(logging.INFO, logger="events.services.calendar_replies"):
        assert tasks.poll_calendar_replies() == 5

    assert Registration.objects.get(session=session, user=ada).status == Status.CONFIRMED
    assert Registration.objects.get(session=session, user=bob).status == Status.WAITLISTED
    reasons = sorted(CalendarReply.objects.values_list("reason", flat=True))
    assert set(CalendarReply.objects.values_list("outcome", flat=True)) == {"ignored"}
    assert reasons == sorted(
        [
            "the sender is not the attendee who answered",
            "they were never sent an invite",  # Bob, waitlisted
            "unknown UID",
            "no calendar reply in the message",
            "an answer to SEQUENCE 0, older than their invite's 1",
        ]
    )
    logged = [r.getMessage() for r in caplog.records if "changed nothing" in r.getMessage()]
    assert len(logged) == 5
    assert any("older than their invite" in line for line in logged)


def test_an_invite_made_before_replies_were_configured_keeps_its_organizer(settings, smtp, dovecot):
    """ORGANIZER never changes over an entry's life: people invited while answers went to
    the no-reply address keep it (and are not asked for an answer nobody reads)."""
    session = SessionFactory()
    ada = UserFactory()
    register(user=ada, session=session)
    deliver_pending()
    [before] = invites(smtp.to(ada.email))
    assert before.organizer == "mailto:noreply@localhost"

    settings.CALENDAR_REPLY_ADDRESS = REPLY_ADDRESS
    settings.CALENDAR_REPLIES_IMAP_URL = dovecot.url
    bob = UserFactory()
    register(user=bob, session=session)
    update_session(session=session, actor=factories.organizer_of(session.event), location="Room 7")
    deliver_pending()
    ada_mail = smtp.to(ada.email)
    [_, update] = invites(ada_mail)
    assert update.organizer == before.organizer
    assert parseaddr(ada_mail[-1]["From"])[1] == "noreply@localhost"
    assert update.attendees[0].params["RSVP"] == "FALSE"
    bob_invites = invites(smtp.to(bob.email))
    [bob_organizer] = {i.organizer for i in bob_invites}
    assert SECRET_ADDRESS.fullmatch(bob_organizer.removeprefix("mailto:"))
    assert {i.attendees[0].params["RSVP"] for i in bob_invites} == {"TRUE"}


def test_a_message_that_fails_stays_unread_and_is_taken_at_the_next_poll(
    replies_by_imap, smtp, monkeypatch
):
    mailbox = replies_by_imap
    session, ada, _bob = full_session_with_a_waitlist()
    invite = invite_of(smtp, ada)
    mailbox.deliver(reply_mail(invite, partstat="DECLINED", sender=ada.email))
    real_take = mailbox_service.take

    def database_down(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(mailbox_service, "take", database_down)
    assert tasks.poll_calendar_replies() == 0
    assert mailbox.unseen() == 1
    assert Registration.objects.get(session=session, user=ada).status == Status.CONFIRMED

    monkeypatch.setattr(mailbox_service, "take", real_take)
    assert tasks.poll_calendar_replies() == 1
    assert mailbox.unseen() == 0
    assert Registration.objects.get(session=session, user=ada).status == Status.CANCELLED
