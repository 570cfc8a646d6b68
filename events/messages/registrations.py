"""The registration domain's messages: news of a seat (confirmed, waitlisted, offered,
cancelled...), session changes and reminders, with the calendar invite they carry."""

from django.urls import reverse
from django.utils.translation import gettext_noop

from .. import ics, qr, timefmt
from ..models import Notification, Registration, Session
from ..models.registration import is_reply_address, replies_configured
from ..outbox.registry import Attachment, Registry
from ..outbox.rendering import absolute
from ..services import joining

Kind = Notification.Kind

# Which messages carry a calendar object, and which kind.
CALENDAR_METHOD = {
    Kind.CONFIRMED: ics.REQUEST,
    Kind.APPROVED: ics.REQUEST,
    Kind.SESSION_CHANGED: ics.REQUEST,
    Kind.CANCELLED: ics.CANCEL,
    Kind.CANCELLED_BY_ORGANIZER: ics.CANCEL,
    Kind.SESSION_CANCELLED: ics.CANCEL,
    Kind.REJECTED: ics.CANCEL,
    Kind.OFFER_EXPIRED: ics.CANCEL,
}
KINDS = [
    Kind.CONFIRMED,
    Kind.APPLIED,
    Kind.APPROVED,
    Kind.REJECTED,
    Kind.WAITLISTED,
    Kind.OFFERED,
    Kind.OFFER_EXPIRED,
    Kind.CANCELLED,
    Kind.CANCELLED_BY_ORGANIZER,
    Kind.SESSION_CHANGED,
    Kind.SESSION_CANCELLED,
    Kind.REMINDER,
]
CONFIRMING_KINDS = {Kind.CONFIRMED, Kind.APPROVED}
# Messages that carry the attendee's check-in QR code (PNG attachment) with their invite.
CHECKIN_CODE_KINDS = {Kind.CONFIRMED, Kind.APPROVED}


def join_link(registration: Registration) -> str:
    """The person's own join link when they are given one (an online or hybrid session's
    confirmed attendee), else ''."""
    if not joining.gives_link(registration):
        return ""
    return absolute(joining.path_for(registration))


def registration_occurrence(registration: Registration) -> ics.Occurrence:
    """A confirmed attendee's view of their session, with the place (their join link for an
    online session), under the invite's UID."""
    session = registration.session
    url = absolute(reverse("events:detail", args=[session.event_id]))
    sequence = max(session.sequence, registration.calendar_sequence or 0)
    return ics.occurrence(
        session, url=url, sequence=sequence, with_place=True, join_url=join_link(registration)
    )


def calendar_rsvp(registration: Registration) -> bool:
    """Whether this person's invite asks for an answer: only when it goes to the reply
    address and replies are read there (README, "Calendar replies")."""
    return replies_configured() and is_reply_address(registration.calendar_organizer)


def context(notification: Notification, context: dict) -> None:
    registration = notification.registration
    if registration is None:
        return  # a session-wide message, or a CANCEL kept for a deleted account
    if context["session"] is None:
        context["session"] = registration.session
    # The entry's ORGANIZER, fixed for this person (Registration.calendar_organizer), and
    # RSVP=TRUE only while answers sent to it are read.
    context["calendar_from"] = registration.calendar_organizer
    context["calendar_rsvp"] = calendar_rsvp(registration)
    links = context["links"]
    links["cancel"] = absolute(reverse("events:cancel", args=[registration.pk]))
    links["offer"] = absolute(reverse("events:offer", args=[registration.pk]))
    links["ics"] = absolute(reverse("events:invite_ics", args=[registration.pk]))
    if join_link(registration):
        links["join"] = join_link(registration)
    if registration.offer_expires_at:
        context["offer_deadline"] = timefmt.deadline_text(
            registration.offer_expires_at, context["recipient_zone"]
        )


def still_relevant(notification: Notification) -> str:
    """News of something that happened is sent, in order; what a later change made untrue is
    not: a reminder, an offer, or an invite ("you're in", "the session moved") for someone who
    no longer holds the seat it would put in their calendar."""
    registration = notification.registration
    if registration is None:
        return ""
    confirmed = registration.status == Registration.Status.CONFIRMED
    invite = notification.payload.get("calendar") == ics.REQUEST
    if (invite or notification.kind in CONFIRMING_KINDS) and not confirmed:
        return gettext_noop("Their seat was given up or taken away before this went out.")
    if notification.kind == Kind.SESSION_CHANGED and registration.status not in Registration.SEATED:
        return gettext_noop("They no longer hold or are offered a seat.")
    if notification.kind == Kind.REMINDER:
        if not confirmed:
            return gettext_noop("The person no longer holds a seat.")
        if registration.session.is_cancelled or registration.session.has_started:
            return gettext_noop("The session started or was cancelled.")
        owed_for = notification.payload.get("starts_at")
        if owed_for and owed_for != registration.session.starts_at.isoformat():
            return gettext_noop("The session moved; a reminder for the new time is due instead.")
    offered = Registration.Status.OFFERED
    if notification.kind == Kind.OFFERED and registration.status != offered:
        return gettext_noop("The offer was answered or expired before the mail went out.")
    return ""


def language(notification: Notification) -> str:
    """Someone without a language of their own reads the team's default."""
    registration = notification.registration
    session = notification.session or (registration.session if registration else None)
    return session.event.team.language if session is not None else ""


def prefetch(rows: list[Notification]) -> None:
    """The registrations of a batch in one query, sharing the session already joined in."""
    registrations = Registration.objects.in_bulk(
        [n.registration_id for n in rows if n.registration_id]
    )
    for notification in rows:
        if notification.registration_id:
            registration = registrations[notification.registration_id]
            if (
                notification.session_id == registration.session_id
                and notification.session is not None
            ):
                registration.session = notification.session
            notification.registration = registration


def checkin_code(notification: Notification, context: dict) -> list[Attachment]:
    """The check-in QR code with a confirmation that carries an invite, when the event
    checks people in."""
    registration = notification.registration
    code = None
    if (
        notification.kind in CHECKIN_CODE_KINDS
        and registration is not None
        and notification.payload.get("calendar") == ics.REQUEST
        and registration.session.event.checkin_enabled
        # Online attendees are checked in by joining: no door, no code.
        and registration.session.format != Session.Format.ONLINE
    ):
        code = qr.png(registration)
    context["checkin_code"] = code is not None
    return [("checkin-qr.png", code, "image/png")] if code else []


def downloaded(registrations: set[int]) -> list[int]:
    """Those who added the session from its .ics download: the download is the invite itself
    (same UID), so their calendar holds the entry even if no invite mail reached them."""
    return list(
        Registration.objects.filter(
            pk__in=registrations, calendar_downloaded_at__isnull=False
        ).values_list("pk", flat=True)
    )


def register(registry: Registry) -> None:
    registry.add_calendar_source(downloaded)
    for kind in KINDS:
        registry.register(
            kind,
            context=context,
            still_relevant=still_relevant,
            calendar=CALENDAR_METHOD.get(kind),
            prefetch=prefetch,
            attachments=checkin_code,
            language=language,
            related=("session__event__team",),
        )
