"""Turning an outbox row into an email: templates per kind (`emails/<kind>-subject.txt`,
`-body.txt`, `-body.html`), times in the recipient's zone, absolute links, and for calendar
messages the iTIP part and an invite.ics attachment. What a kind's templates need beyond the
common context comes from its registration (registry.py)."""

import re
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEText
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .. import ics, timefmt
from ..models.notification import Notification
from .registry import MessageKind, kinds

_ONE_LINE = re.compile(r"[ \t\n\r\f\v]+")


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def organizer(address: str = "") -> ics.Organizer:
    """The ORGANIZER of an invite: the address its mail comes From, never anything else (mail
    clients drop updates whose organizer differs from the first invite's). `address` is the
    one fixed for the attendee's entry (the calendar reply address), '' the site's From."""
    return ics.Organizer.from_address(address or settings.DEFAULT_FROM_EMAIL, settings.SITE_NAME)


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
        # A private hook of Django's mail classes, which django-stubs does not declare.
        return super()._create_mime_attachment(content, mimetype)  # type: ignore[misc]


def context_for(notification: Notification, kind: MessageKind | None = None) -> dict:
    """What every message's templates may use, completed by its kind's context builder
    (which may also name the session or event when the row has no session of its own);
    the row's payload last, so what was decided when the message was owed wins."""
    kind = kind or kinds.get(notification.kind)
    recipient = notification.recipient
    zone = recipient.timezone if recipient else "UTC"
    context = {
        "notification": notification,
        "recipient": recipient,
        "recipient_name": recipient.name if recipient else "",
        "recipient_zone": zone,
        "invitation": notification.invitation,
        "registration": notification.registration,
        "session": notification.session,
        "event": None,
        "site_name": settings.SITE_NAME,
        "links": {
            "my_sessions": absolute(reverse("events:my_sessions")),
            "profile": absolute(reverse("accounts:profile")),
        },
    }
    unsubscribe = kinds.unsubscribe_url(kind, notification)
    if unsubscribe:
        # Programme mail: a link (and the List-Unsubscribe headers, see build) to hear no
        # more from the team.
        context["links"]["unsubscribe"] = unsubscribe
    if kind.context is not None:
        kind.context(notification, context)
    session = context["session"]
    event = session.event if session else context["event"]
    context["event"] = event
    context["when"] = timefmt.when_text(session, zone) if session else ""
    context["links"]["event"] = absolute(reverse("events:detail", args=[event.pk])) if event else ""
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
        # An online session's personal join link, which the kind's context gives a person who
        # may have it; never the meeting's own address.
        join_url=context["links"].get("join", ""),
    )
    recipient = notification.recipient
    attendee = (notification.email, recipient.name if recipient else "")
    # The kind's context names the entry's organizer (`calendar_from`) and whether anyone
    # reads answers sent there (`calendar_rsvp`); by default the From address, no answers.
    # A CANCEL kept after its registration went carries the organizer in its payload
    # (`erasure.keep_cancels`), which completes the context.
    who = organizer(context.get("calendar_from", ""))
    if method == ics.REQUEST:
        rsvp = bool(context.get("calendar_rsvp"))
        return method, ics.invite(item, organizer=who, attendee=attendee, rsvp=rsvp)
    return method, ics.cancellation(item, organizer=who, attendee=attendee)


def build(notification: Notification) -> EmailMultiAlternatives:
    """The complete message for one outbox row, in its recipient's language (subject, both
    bodies, times and the calendar's text alike). Pure apart from reading related rows."""
    kind = kinds.get(notification.kind)
    with translation.override(kinds.language_of(kind, notification)):
        return _build(notification, kind)


def _build(notification: Notification, kind: MessageKind) -> EmailMultiAlternatives:
    context = context_for(notification, kind)
    attachments = kind.attachments(notification, context) if kind.attachments else []
    # One line, its runs of spaces and line breaks as one space; a no-break space (French
    # puts one before a colon) stays as it is.
    subject = _ONE_LINE.sub(" ", render_to_string(f"{kind.template_base}-subject.txt", context))
    subject = subject.strip(" ")
    text = render_to_string(f"{kind.template_base}-body.txt", context)
    html = render_to_string(f"{kind.template_base}-body.html", context)
    headers = {"Auto-Submitted": "auto-generated", "Message-ID": message_id(notification.key)}
    unsubscribe = context["links"].get("unsubscribe")
    if unsubscribe:
        # Programme mail offers its unsubscribe link to mail programs too, as a one-click
        # POST (RFC 8058): the link's page takes it without a login or CSRF token, and a POST
        # there only ever unsubscribes.
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    calendar = calendar_bytes(notification, context)
    # A calendar message comes From its ORGANIZER (the attendee's entry's), as invariant 4
    # wants; other mail from the site's address.
    sender = (calendar and context.get("calendar_from")) or settings.DEFAULT_FROM_EMAIL
    message = CalendarEmail(
        subject=f"[{settings.SITE_NAME}] {subject}",
        body=text,
        from_email=sender,
        to=[notification.email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    if calendar:
        method, data = calendar
        message.attach_alternative(data, f"text/calendar; method={method}; charset=UTF-8")
        message.attach("invite.ics", data, "application/ics")
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    return message
