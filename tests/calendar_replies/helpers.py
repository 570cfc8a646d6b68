"""Calendar answers as the calendar programs send them: a multipart mail with the answer as
a `text/calendar; method=REPLY` part and the same object as an invite.ics attachment (Gmail's
shape; Outlook and Apple send the same parts)."""

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from icalendar import Calendar, Event, vCalAddress

from tests.notifications.helpers import Invite


def reply_ics(
    invite: Invite,
    *,
    partstat: str,
    attendee: str,
    sequence: int | None = None,
    organizer: str | None = None,
) -> bytes:
    calendar = Calendar()
    calendar.add("PRODID", "-//Google Inc//Google Calendar 70.9054//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "REPLY")
    event = Event()
    event.add("DTSTART", invite.start)
    event.add("DTEND", invite.end)
    event.add("DTSTAMP", datetime.now(UTC).replace(microsecond=0))
    echoed = vCalAddress(invite.organizer if organizer is None else organizer)
    echoed.params["CN"] = invite.organizer_cn
    event.add("ORGANIZER", echoed)
    event.add("UID", invite.uid)
    who = vCalAddress(f"mailto:{attendee}")
    who.params["CUTYPE"] = "INDIVIDUAL"
    who.params["ROLE"] = "REQ-PARTICIPANT"
    who.params["PARTSTAT"] = partstat
    who.params["CN"] = attendee
    event.add("ATTENDEE", who)
    event.add("SEQUENCE", invite.sequence if sequence is None else sequence)
    event.add("STATUS", "CONFIRMED")
    event.add("SUMMARY", "Answer")
    calendar.add_component(event)
    return calendar.to_ical()


def reply_mail(
    invite: Invite,
    *,
    partstat: str,
    sender: str,
    attendee: str | None = None,
    sequence: int | None = None,
    message_id: str | None = None,
    to: str | None = None,
    organizer: str | None = None,
    headers: dict | None = None,
) -> bytes:
    """A calendar program's answer to `invite`, sent to its ORGANIZER (which it echoes) unless
    `to` / `organizer` say otherwise (a forger who knows the UID but not the secret)."""
    data = reply_ics(
        invite,
        partstat=partstat,
        attendee=attendee or sender,
        sequence=sequence,
        organizer=organizer,
    )
    message = EmailMessage()
    message["From"] = formataddr(("Someone", sender))
    message["To"] = to or invite.organizer.removeprefix("mailto:")
    for name, value in (headers or {}).items():
        message[name] = value
    message["Subject"] = f"{partstat.title()}: the session"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@mail.gmail.example>"
    message.set_content(f"{sender} has answered {partstat.lower()} to this invitation.")
    message.add_alternative(data.decode(), subtype="calendar", params={"method": "REPLY"})
    message.add_attachment(data, maintype="application", subtype="ics", filename="invite.ics")
    return message.as_bytes()
