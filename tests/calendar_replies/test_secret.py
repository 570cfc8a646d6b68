"""Each registration's invites name its own secret reply address, rsvp+<secret>@..., and only
an answer that comes back to it counts: session UIDs are public (the event's feed) and a From
header is easily forged, so a "No" with the right UID From the attendee's own address, but
without their secret, keeps their seat. Through a real IMAP mailbox (dovecot) and Mailgun's
signed inbound webhook."""

import logging
import re

import pytest
from django.urls import reverse

from events import itip, tasks
from events.models import CalendarReply, Registration
from events.services.registration import register
from events.services.waitlist import accept_offer
from tests.calendar_replies import providers
from tests.calendar_replies.conftest import MAILGUN_KEY, REPLY_ADDRESS
from tests.calendar_replies.helpers import reply_mail
from tests.factories import SessionFactory, UserFactory
from tests.notifications.helpers import deliver_pending, invites

pytestmark = pytest.mark.django_db

Status = Registration.Status
BARE = "rsvp@replies.example.com"
NO_SECRET = "the message does not carry their secret reply address"


def two_seats_and_a_waitlist(smtp):
    """Ada and Cy hold the two seats, Bob waits; Ada's and Cy's invites."""
    session = SessionFactory(capacity=2, waitlist_enabled=True)
    ada, cy, bob = UserFactory(), UserFactory(), UserFactory()
    assert register(user=ada, session=session).status == Status.CONFIRMED
    assert register(user=cy, session=session).status == Status.CONFIRMED
    assert register(user=bob, session=session).status == Status.WAITLISTED
    deliver_pending()
    [ada_invite] = invites(smtp.to(ada.email))
    [cy_invite] = invites(smtp.to(cy.email))
    return session, ada, cy, bob, ada_invite, cy_invite


def address_of(invite) -> str:
    return invite.organizer.removeprefix("mailto:")


def status(session, user) -> str:
    return Registration.objects.get(session=session, user=user).status


@pytest.mark.imap
def test_a_forged_no_without_the_secret_keeps_the_seat_and_the_genuine_one_frees_it(
    replies_by_imap, smtp, caplog
):
    mailbox = replies_by_imap
    session, ada, cy, bob, ada_invite, cy_invite = two_seats_and_a_waitlist(smtp)
    assert address_of(ada_invite) != address_of(cy_invite)  # one secret each
    # Right UID, right From, right SEQUENCE, but sent to the bare reply address...
    mailbox.deliver(
        reply_mail(ada_invite, partstat="DECLINED", sender=ada.email, to=BARE, organizer=BARE)
    )
    # ... or to a sub-address with a made-up secret.
    guess = "rsvp+0123456789abcdef01234567@replies.example.com"
    mailbox.deliver(
        reply_mail(ada_invite, partstat="DECLINED", sender=ada.email, to=guess, organizer=guess)
    )
    # Ada's secret used to answer for Cy's entry (Cy's UID, Cy's From).
    mailbox.deliver(
        reply_mail(
            cy_invite,
            partstat="DECLINED",
            sender=cy.email,
            to=address_of(ada_invite),
            organizer=ada_invite.organizer,
        )
    )
    with caplog.at_level(logging.INFO, logger="events.services.calendar_replies"):
        assert tasks.poll_calendar_replies() == 3

    assert [status(session, u) for u in (ada, cy, bob)] == ["confirmed", "confirmed", "waitlisted"]
    assert (
        list(CalendarReply.objects.values_list("outcome", "reason")) == [("ignored", NO_SECRET)] * 3
    )
    assert sum(NO_SECRET in r.getMessage() for r in caplog.records) == 3

    # Ada's calendar answers: to her address, which it also echoes as ORGANIZER.
    mailbox.deliver(reply_mail(ada_invite, partstat="DECLINED", sender=ada.email))
    assert tasks.poll_calendar_replies() == 1
    assert [status(session, u) for u in (ada, cy, bob)] == ["cancelled", "confirmed", "offered"]


@pytest.mark.imap
def test_the_secret_is_found_in_the_delivery_headers_when_the_calendar_drops_it(
    replies_by_imap, smtp
):
    """A catch-all route or a mailbox keeps the address a message was delivered to in
    Delivered-To / X-Original-To even when To and ORGANIZER name the bare address."""
    mailbox = replies_by_imap
    session, ada, cy, _bob, ada_invite, cy_invite = two_seats_and_a_waitlist(smtp)
    mailbox.deliver(
        reply_mail(
            ada_invite,
            partstat="DECLINED",
            sender=ada.email,
            to=BARE,
            organizer=BARE,
            headers={"Delivered-To": address_of(ada_invite)},
        )
    )
    mailbox.deliver(
        reply_mail(
            cy_invite,
            partstat="ACCEPTED",
            sender=cy.email,
            to=BARE,
            organizer=BARE,
            headers={"X-Original-To": address_of(cy_invite)},
        )
    )
    assert tasks.poll_calendar_replies() == 2
    assert status(session, ada) == "cancelled"
    assert Registration.objects.get(user=cy).current_calendar_answer == "accepted"


def post(client, form: dict):
    return client.post(reverse("events:inbound_webhook", args=["mailgun"]), form)


def test_through_the_webhook_the_envelope_recipient_carries_the_secret(
    replies_by_webhook, smtp, client
):
    session, ada, cy, bob, ada_invite, cy_invite = two_seats_and_a_waitlist(smtp)
    forged = reply_mail(ada_invite, partstat="DECLINED", sender=ada.email, to=BARE, organizer=BARE)
    assert post(client, providers.parsed_form(forged, MAILGUN_KEY)).status_code == 200
    # Ada's secret as the envelope recipient of a "No" for Cy's entry.
    crossed = reply_mail(cy_invite, partstat="DECLINED", sender=cy.email, to=BARE, organizer=BARE)
    form = providers.parsed_form(crossed, MAILGUN_KEY, recipient=address_of(ada_invite))
    assert post(client, form).status_code == 200
    assert [status(session, u) for u in (ada, cy, bob)] == ["confirmed", "confirmed", "waitlisted"]
    assert set(CalendarReply.objects.values_list("reason", flat=True)) == {NO_SECRET}

    # Mailgun routes rsvp+<secret>@ to the bare route and reports the sub-address it was sent to.
    genuine = reply_mail(ada_invite, partstat="DECLINED", sender=ada.email, to=BARE, organizer=BARE)
    form = providers.parsed_form(genuine, MAILGUN_KEY, recipient=address_of(ada_invite))
    assert post(client, form).status_code == 200
    assert [status(session, u) for u in (ada, cy, bob)] == ["cancelled", "confirmed", "offered"]


def test_an_entry_invited_before_secrets_records_yes_but_a_no_does_not_cancel(
    replies_by_webhook, smtp, client
):
    """Registrations invited with the bare reply address (before secrets) cannot prove an
    answer is theirs: a Yes or Maybe is recorded, a No changes nothing (they cancel on the
    site)."""
    session, ada, cy, _bob, ada_invite, cy_invite = two_seats_and_a_waitlist(smtp)
    Registration.objects.filter(session=session).update(calendar_organizer=REPLY_ADDRESS)
    no = reply_mail(ada_invite, partstat="DECLINED", sender=ada.email, to=BARE, organizer=BARE)
    yes = reply_mail(cy_invite, partstat="ACCEPTED", sender=cy.email, to=BARE, organizer=BARE)
    for raw in (no, yes):
        assert post(client, providers.parsed_form(raw, MAILGUN_KEY)).status_code == 200

    assert status(session, ada) == "confirmed"
    assert Registration.objects.get(user=cy).current_calendar_answer == "accepted"
    assert CalendarReply.objects.get(sender=ada.email).reason == (
        "a No to an invite without a secret reply address does not cancel"
    )


def test_without_sub_addressing_invites_name_the_bare_address_and_a_no_never_cancels(
    replies_by_webhook, smtp, client, settings
):
    settings.CALENDAR_REPLY_SUBADDRESS = False
    session, ada, cy, _bob, ada_invite, cy_invite = two_seats_and_a_waitlist(smtp)
    assert ada_invite.organizer == cy_invite.organizer == f"mailto:{BARE}"
    assert ada_invite.attendees[0].params["RSVP"] == "TRUE"
    no = reply_mail(ada_invite, partstat="DECLINED", sender=ada.email)
    maybe = reply_mail(cy_invite, partstat="TENTATIVE", sender=cy.email)
    for raw in (no, maybe):
        assert post(client, providers.parsed_form(raw, MAILGUN_KEY)).status_code == 200

    assert status(session, ada) == "confirmed"
    assert Registration.objects.get(user=cy).current_calendar_answer == "tentative"


def test_sub_addresses_are_made_and_read_back_whatever_the_reply_address_looks_like():
    secret = "0123456789abcdef01234567"
    for configured, bare in [
        ("Feedback <rsvp@replies.example.com>", "rsvp@replies.example.com"),
        ("rsvp+feedback@example.com", "rsvp+feedback@example.com"),  # already a sub-address
        # A tag that looks like a secret (20 letters) is the configured address's own.
        (
            "Feedback <rsvp+feedbacksessions2026@example.com>",
            "rsvp+feedbacksessions2026@example.com",
        ),
    ]:
        address = itip.with_secret(configured, secret)
        assert itip.split_secret(address, configured) == (bare, secret)
        assert itip.split_secret(configured, configured) == (bare, "")
        assert itip.is_reply_address(address, configured)
        assert itip.is_reply_address(configured, configured)
        # Some servers fold the case of what they deliver to.
        assert itip.split_secret(address.upper(), configured) == (bare, secret)
        assert itip.carries_secret([address.upper()], address, configured)
        assert not itip.carries_secret([configured], address, configured)
        assert not itip.carries_secret(
            [itip.with_secret(configured, "f" * 24)], address, configured
        )
        # Only the configured address's own sub-addresses carry one: not another local part's,
        # nor another domain's.
        local, domain = bare.split("@")
        for other in (f"x{local}+{secret}@{domain}", f"{local}+{secret}@other.example.com"):
            assert itip.split_secret(other, configured) == (other, "")
            assert not itip.is_reply_address(other, configured)
    assert not itip.carries_secret(
        ["rsvp@replies.example.com"], "rsvp@replies.example.com", "rsvp@replies.example.com"
    )
    # The same tag is no secret of the bare address it was cut from...
    tagged = "rsvp+feedbacksessions2026@example.com"
    assert itip.split_secret(tagged, tagged) == (tagged, "")
    # ... and is one of `rsvp@` itself.
    assert itip.split_secret(tagged, "rsvp@example.com") == (
        "rsvp@example.com",
        "feedbacksessions2026",
    )


# A reply address whose local part carries a tag of 20 letters and digits, as a secret does.
TAGGED = "rsvp+feedbacksessions2026@replies.example.com"


def test_a_tag_in_the_reply_address_is_no_secret_and_a_forged_no_keeps_the_seat(
    replies_by_webhook, smtp, client, settings
):
    """Everyone's invites name the public reply address; its own tag must not count as the
    registration's secret, or anyone could cancel anyone's seat with the UID and a From."""
    settings.CALENDAR_REPLY_ADDRESS = f"Feedback Sessions <{TAGGED}>"
    settings.CALENDAR_REPLY_SUBADDRESS = False
    session, ada, cy, bob, ada_invite, cy_invite = two_seats_and_a_waitlist(smtp)
    assert ada_invite.organizer == cy_invite.organizer == f"mailto:{TAGGED}"
    assert ada_invite.attendees[0].params["RSVP"] == "TRUE"
    forged = reply_mail(ada_invite, partstat="DECLINED", sender=ada.email, to=TAGGED)
    assert post(client, providers.parsed_form(forged, MAILGUN_KEY)).status_code == 200

    assert [status(session, u) for u in (ada, cy, bob)] == ["confirmed", "confirmed", "waitlisted"]
    assert CalendarReply.objects.get(sender=ada.email).reason == (
        "a No to an invite without a secret reply address does not cancel"
    )


def test_a_reply_address_with_a_tag_gets_secret_sub_addresses_that_ask_for_and_take_answers(
    replies_by_webhook, smtp, client, settings
):
    settings.CALENDAR_REPLY_ADDRESS = f"Feedback Sessions <{TAGGED}>"
    session, ada, cy, bob, ada_invite, cy_invite = two_seats_and_a_waitlist(smtp)
    secret_of_ada = address_of(ada_invite)
    assert re.fullmatch(
        r"rsvp\+feedbacksessions2026\+[a-z0-9]{24}@replies\.example\.com", secret_of_ada
    )
    assert secret_of_ada != address_of(cy_invite)
    assert ada_invite.attendees[0].params["RSVP"] == "TRUE"
    # The public reply address is not Ada's secret.
    forged = reply_mail(
        ada_invite, partstat="DECLINED", sender=ada.email, to=TAGGED, organizer=TAGGED
    )
    assert post(client, providers.parsed_form(forged, MAILGUN_KEY)).status_code == 200
    assert status(session, ada) == "confirmed"
    assert CalendarReply.objects.get(sender=ada.email).reason == NO_SECRET

    genuine = reply_mail(ada_invite, partstat="DECLINED", sender=ada.email)
    assert post(client, providers.parsed_form(genuine, MAILGUN_KEY)).status_code == 200
    assert [status(session, u) for u in (ada, cy, bob)] == ["cancelled", "confirmed", "offered"]
    # Her calendar gets the CANCEL from the same organizer.
    deliver_pending()
    cancel = invites(smtp.to(ada.email))[-1]
    assert (cancel.method, cancel.organizer) == ("CANCEL", ada_invite.organizer)


def test_a_registration_keeps_the_secret_it_was_made_with_through_its_first_invite(
    replies_by_webhook, smtp, client
):
    """Bob waits with a secret made with his row; the seat he is offered and takes is invited
    under that same secret (nothing in his calendar ever names another)."""
    _session, ada, _cy, bob, ada_invite, _cy_invite = two_seats_and_a_waitlist(smtp)
    made_with = Registration.objects.get(user=bob).calendar_organizer
    genuine = reply_mail(ada_invite, partstat="DECLINED", sender=ada.email)
    assert post(client, providers.parsed_form(genuine, MAILGUN_KEY)).status_code == 200
    offered = Registration.objects.get(user=bob)
    assert offered.status == Status.OFFERED
    accept_offer(registration=offered, user=bob)
    deliver_pending()
    [bob_invite] = invites(smtp.to(bob.email))
    assert Registration.objects.get(user=bob).calendar_organizer == made_with
    assert bob_invite.organizer == "mailto:" + made_with.split("<")[1].rstrip(">")
