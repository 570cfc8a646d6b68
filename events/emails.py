"""Turning an outbox row into an email: templates per kind (`emails/<kind>-subject.txt`,
`-body.txt`, `-body.html`), times in the recipient's zone, absolute links, and for calendar
messages the iTIP part and an invite.ics attachment."""

import re
import zoneinfo
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEText
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import ics, qr, timefmt
from .models import Notification


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def organizer() -> ics.Organizer:
    """The ORGANIZER of every invite: the From address, never anything else (mail clients
    drop updates whose organizer differs from the first invite's)."""
    return ics.Organizer.from_address(settings.DEFAULT_FROM_EMAIL, settings.SITE_NAME)


def registration_occurrence(registration) -> ics.Occurrence:
    """A confirmed attendee's view of their session, with the place, under the invite's UID."""
    session = registration.session
    url = absolute(reverse("events:detail", args=[session.event_id]))
    sequence = max(session.sequence, registration.calendar_sequence or 0)
    return ics.occurrence(session, url=url, sequence=sequence, with_place=True)


def _id_part(text: str, *, colon: str) -> str:
    # What a Message-ID's left part may hold as is (RFC 5322 dot-atom); any other character,
    # and `=` itself, as =XX, so two keys never give one id.
    return re.sub(
        r"[^A-Za-z0-9_-]",
        lambda m: colon if m.group() == ":" else f"={ord(m.group()):02X}",
        text,
    )


def message_id(key: str) -> str:
    """The Message-ID of every copy of one outbox row: its key at the domain of the From
    address. A copy sent twice (the worker died between sending and marking it sent) then
    carries the same id, and receivers can drop the second."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or str(DNS_NAME)
    left = _id_part(key, colon=".")
    if not left or left.startswith(".") or left.endswith(".") or ".." in left:
        left = _id_part(key, colon="=3A")  # an empty part would leave a stray dot
    return f"<{left}@{domain}>"


class CalendarEmail(EmailMultiAlternatives):
    """Django gives a text/* alternative only a charset; iTIP needs `method=` on the part."""

    def _create_mime_attachment(self, content, mimetype):
        if mimetype.startswith("text/calendar"):
            params = dict(p.strip().split("=", 1) for p in mimetype.split(";")[1:] if "=" in p)
            if isinstance(content, bytes):
                content = content.decode()
            part = SafeMIMEText(content, "calendar", "utf-8")
            part.set_param("method", params.get("method", ics.REQUEST))
            return part
        return super()._create_mime_attachment(content, mimetype)


def context_for(notification: Notification) -> dict:
    registration = notification.registration
    invitation = notification.invitation
    session = notification.session or (registration.session if registration else None)
    recipient = notification.recipient
    zone = recipient.timezone if recipient else "UTC"
    event = session.event if session else (invitation.event if invitation else None)
    context = {
        "notification": notification,
        "recipient": recipient,
        "recipient_name": recipient.name if recipient else (invitation.name if invitation else ""),
        "recipient_zone": zone,
        "invitation": invitation,
        "registration": registration,
        "session": session,
        "event": event,
        "site_name": settings.SITE_NAME,
        "when": timefmt.when_text(session, zone) if session else "",
        "links": {
            "event": absolute(reverse("events:detail", args=[event.pk])) if event else "",
            "my_sessions": absolute(reverse("events:my_sessions")),
            "profile": absolute(reverse("accounts:profile")),
        },
    }
    if invitation:
        from .services.invitations import token_for

        token = token_for(invitation, nonce=notification.payload.get("nonce"))
        context["links"]["invitation"] = absolute(reverse("events:invitation", args=[token]))
        expires = timezone.localtime(invitation.expires_at, zoneinfo.ZoneInfo(zone))
        context["invitation_expires"] = f"{expires:%a %-d %b %Y, %H:%M %Z}"
    submission = notification.submission
    if submission:
        from .services import open_calls

        context["call"] = submission.call
        context["recipient_name"] = submission.name
        context["links"]["call"] = absolute(submission.call.get_absolute_url())
        context["links"]["withdraw"] = absolute(
            reverse("events:call_withdraw", args=[open_calls.withdraw_token(submission)])
        )
        if notification.kind == Notification.Kind.CALL_CONFIRM:
            token = open_calls.confirm_token(submission, nonce=notification.payload.get("nonce"))
            context["links"]["confirm"] = absolute(reverse("events:call_confirm", args=[token]))
        else:
            context["received"] = open_calls.summary(submission)
    survey_recipient = notification.survey_recipient
    if survey_recipient:
        from .services.surveys import token_for as survey_token

        survey = survey_recipient.survey
        token = survey_token(survey_recipient)
        context["survey"] = survey
        context["links"]["survey"] = absolute(reverse("events:survey", args=[token]))
        closes = timezone.localtime(survey.closes_at, zoneinfo.ZoneInfo(zone))
        context["survey_closes"] = f"{closes:%a %-d %b %Y, %H:%M %Z}"
        context["question_count"] = survey.questionnaire.questions.count()
    if registration:
        context["links"]["cancel"] = absolute(reverse("events:cancel", args=[registration.pk]))
        context["links"]["offer"] = absolute(reverse("events:offer", args=[registration.pk]))
        context["links"]["ics"] = absolute(reverse("events:invite_ics", args=[registration.pk]))
        if registration.offer_expires_at:
            expires = timezone.localtime(registration.offer_expires_at, zoneinfo.ZoneInfo(zone))
            context["offer_deadline"] = f"{expires:%a %-d %b %Y, %H:%M %Z}"
    context.update(notification.payload)
    return context


def calendar_bytes(notification: Notification, context: dict) -> tuple[str, bytes] | None:
    method = notification.payload.get("calendar")
    if not method:
        return None
    session = context["session"]
    item = ics.occurrence(
        session,
        url=context["links"]["event"],
        sequence=notification.payload["sequence"],
        with_place=method == ics.REQUEST,
    )
    recipient = notification.recipient
    attendee = (notification.email, recipient.name if recipient else "")
    build = ics.invite if method == ics.REQUEST else ics.cancellation
    return method, build(item, organizer=organizer(), attendee=attendee)


# Messages that carry the attendee's check-in QR code (PNG attachment) with their invite.
CHECKIN_CODE_KINDS = {Notification.Kind.CONFIRMED, Notification.Kind.APPROVED}


def checkin_code(notification: Notification) -> bytes | None:
    """The check-in QR code for a confirmation that carries an invite, when the event
    checks people in; None otherwise."""
    registration = notification.registration
    if (
        notification.kind not in CHECKIN_CODE_KINDS
        or registration is None
        or notification.payload.get("calendar") != ics.REQUEST
        or not registration.session.event.checkin_enabled
    ):
        return None
    return qr.png(registration)


def build(notification: Notification) -> EmailMultiAlternatives:
    """The complete message for one outbox row. Pure apart from reading related rows."""
    context = context_for(notification)
    code = checkin_code(notification)
    context["checkin_code"] = code is not None
    base = f"emails/{notification.kind}"
    subject = " ".join(render_to_string(f"{base}-subject.txt", context).split())
    text = render_to_string(f"{base}-body.txt", context)
    html = render_to_string(f"{base}-body.html", context)
    message = CalendarEmail(
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.email],
        headers={"Auto-Submitted": "auto-generated", "Message-ID": message_id(notification.key)},
    )
    message.attach_alternative(html, "text/html")
    calendar = calendar_bytes(notification, context)
    if calendar:
        method, data = calendar
        message.attach_alternative(data, f"text/calendar; method={method}; charset=UTF-8")
        message.attach("invite.ics", data, "application/ics")
    if code:
        message.attach("checkin-qr.png", code, "image/png")
    return message
