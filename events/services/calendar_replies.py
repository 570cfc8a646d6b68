"""Calendar answers that reach the app (README, "Calendar replies").

Invites name the reply address as their ORGANIZER once replies are configured, so the
Yes / No / Maybe of Gmail, Outlook or Apple Calendar comes back by mail: through the mail
provider's inbound webhook (views/inbound.py, django-anymail) or an IMAP folder polled by
beat (services/mailbox.py). Both hand each message to `take`, the one place that decides:

- a "No" (PARTSTAT=DECLINED) from the attendee's own address, to the invite they hold now,
  sent back to their own secret reply address, cancels their registration through
  `registration.cancel`: the seat goes to the waitlist and the CANCEL they are owed confirms
  it;
- a "Yes" or "Maybe" is recorded on the registration and shown to organizers;
- anything else (another UID, another address, an answer to an older SEQUENCE, a person with
  no confirmed seat, a message without the registration's secret) changes nothing and is
  logged.

The secret is what makes an answer theirs: session UIDs are public (the event's feed) and a
From header is easily forged, but each registration's invites name its own organizer,
rsvp+<secret>@example.com (Registration.calendar_organizer), which only the attendee's
calendar knows. It comes back as the answer's ORGANIZER, or in the recipient headers, or as
the envelope recipient a provider reports. Entries whose organizer carries no secret (invited
before secrets, or with CALENDAR_REPLY_SUBADDRESS off) may record a Yes or Maybe, never
cancel: a "No" without the secret could be anyone's.

A message is processed once: its Message-ID is the key of a CalendarReply row written in the
same transaction as what it did, so a copy delivered again, even at the same moment, finds
the row (it waits on the unique index) and does nothing.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import ics, itip
from ..models import CalendarReply, Registration, Session
from ..models.registration import has_secret
from . import ServiceError
from .registration import cancel
from .transitions import lock

logger = logging.getLogger(__name__)

Outcome = CalendarReply.Outcome
DECLINE_NOTE = "Declined in their calendar"


@dataclass(frozen=True)
class Taken:
    outcome: str  # "applied", "ignored", or "duplicate" (processed before: nothing done)
    reason: str = ""
    registration_id: int | None = None


def take(
    *, message: Message, raw: bytes, source: str, envelope_recipients: Iterable[str] = ()
) -> Taken:
    """Read one inbound message as a calendar answer, once (see the module's docstring).
    `raw` is the message as received (its digest keys a message without a Message-ID);
    `envelope_recipients` the addresses the provider says it was delivered to."""
    key = itip.message_id(message, raw)
    sender = itip.sender(message)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = CalendarReply.objects.create(
                    message_id=key, source=source[:40], sender=sender[:254], outcome=Outcome.IGNORED
                )
        except IntegrityError:
            logger.info("Calendar reply %s from %s: already processed", key, source)
            return Taken("duplicate", "already processed")
        taken = _apply(row, message, sender, list(envelope_recipients))
        row.outcome, row.reason = taken.outcome, taken.reason[:300]
        row.registration_id = taken.registration_id
        row.save(update_fields=["uid", "sequence", "partstat", "outcome", "reason", "registration"])
    if taken.outcome == Outcome.IGNORED:
        logger.info("Calendar reply %s from %s changed nothing: %s", key, source, taken.reason)
    return taken


def _apply(row: CalendarReply, message: Message, sender: str, envelope: list[str]) -> Taken:
    replies = itip.replies_in(message)
    if not replies:
        return Taken(Outcome.IGNORED, "no calendar reply in the message")
    own = [r for r in replies if r.attendee == sender]
    reply = own[0] if own else replies[0]
    row.uid, row.sequence, row.partstat = reply.uid[:255], reply.sequence, reply.partstat[:20]
    if not sender or not own:
        # A forwarded or forged answer: only the attendee's own address may answer for them.
        return Taken(Outcome.IGNORED, "the sender is not the attendee who answered")
    uid = ics.session_uid(reply.uid)
    session = Session.objects.filter(uid=uid).first() if uid else None
    if session is None:
        return Taken(Outcome.IGNORED, "unknown UID")
    registration = (
        Registration.objects.filter(session=session, user__email__iexact=sender)
        .only("pk", "session_id")
        .first()
    )
    if registration is None:
        return Taken(Outcome.IGNORED, "no registration of this address for the session")
    registration = lock(registration)
    found = registration.pk
    if registration.calendar_sequence is None:
        return Taken(Outcome.IGNORED, "they were never sent an invite", found)
    if reply.sequence < registration.calendar_sequence:
        return Taken(
            Outcome.IGNORED,
            f"an answer to SEQUENCE {reply.sequence}, older than their invite's "
            f"{registration.calendar_sequence}",
            found,
        )
    if registration.status != Registration.Status.CONFIRMED:
        return Taken(Outcome.IGNORED, f"their registration is {registration.status}", found)
    organizer = registration.calendar_organizer
    secret = has_secret(organizer)
    if secret and not itip.carries_secret(
        itip.recipients(message, replies, envelope), organizer, settings.CALENDAR_REPLY_ADDRESS
    ):
        # A forged answer (the UID and the address alone are no proof), or one sent back to
        # another registration's address.
        return Taken(
            Outcome.IGNORED, "the message does not carry their secret reply address", found
        )
    if reply.partstat == "DECLINED":
        if not secret:
            return Taken(
                Outcome.IGNORED,
                "a No to an invite without a secret reply address does not cancel",
                found,
            )
        try:
            cancel(registration=registration, actor=registration.user, note=DECLINE_NOTE)
        except ServiceError as refused:
            return Taken(Outcome.IGNORED, f"refused: {refused.message}", found)
        return Taken(Outcome.APPLIED, "cancelled", found)
    if reply.partstat in {"ACCEPTED", "TENTATIVE"}:
        answer = Registration.Answer.ACCEPTED
        if reply.partstat == "TENTATIVE":
            answer = Registration.Answer.TENTATIVE
        Registration.objects.filter(pk=registration.pk).update(
            calendar_answer=answer,
            calendar_answer_sequence=reply.sequence,
            calendar_answered_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return Taken(Outcome.APPLIED, f"recorded: {answer}", found)
    return Taken(Outcome.IGNORED, f"an answer we do not act on ({reply.partstat})", found)


def forget_sender(*, emails, team=None) -> int:
    """A person's calendar answers go with them (the rows keep their address): all of them
    when their account goes, or those about `team`'s sessions when that team forgets them."""
    rows = CalendarReply.objects.filter(sender__in=[e.lower() for e in emails])
    if team is not None:
        rows = rows.filter(registration__session__event__team=team)
    deleted, _ = rows.delete()
    return deleted
