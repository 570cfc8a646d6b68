"""What the notification tests share: delivering the outbox, reading what the SMTP server
received, and parsing every calendar object with two independent parsers."""

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import vobject
from icalendar import Calendar

from events.models import Notification
from events.outbox import delivery

FIXED_START = datetime(2030, 7, 15, 14, 0, tzinfo=UTC)  # a Monday; CEST in Berlin, EDT in NY


def deliver_pending() -> list[delivery.Outcome]:
    """What the workers would do with every row owed now."""
    pending = Notification.objects.filter(status=Notification.Status.PENDING).order_by("pk")
    return [delivery.deliver(notification_id=pk) for pk in pending.values_list("pk", flat=True)]


@dataclass
class Invite:
    """One calendar object as both icalendar and vobject read it."""

    method: str
    uid: str
    sequence: int
    status: str
    start: datetime
    end: datetime
    organizer: str
    organizer_cn: str
    attendees: list
    location: str
    description: str
    url: str
    ical: Calendar
    raw: bytes


def parse_calendar(data: bytes) -> Invite:
    """Parse with icalendar (no component may report an error) and with vobject, check both
    read the same thing, and return the one VEVENT."""
    calendar = Calendar.from_ical(data)
    problems = [(component.name, component.errors) for component in calendar.walk()]
    assert all(not errors for _, errors in problems), problems
    events = calendar.walk("VEVENT")
    assert len(events) == 1, data
    event = events[0]

    other = vobject.readOne(data.decode())
    assert other.name == "VCALENDAR"
    assert other.method.value == str(calendar["METHOD"])
    assert other.vevent.uid.value == str(event["UID"])
    assert int(other.vevent.sequence.value) == int(event["SEQUENCE"])
    assert other.vevent.dtstart.value == event.decoded("DTSTART")
    assert other.vevent.dtend.value == event.decoded("DTEND")

    organizer = event["ORGANIZER"]
    return Invite(
        method=str(calendar["METHOD"]),
        uid=str(event["UID"]),
        sequence=int(event["SEQUENCE"]),
        status=str(event.get("STATUS", "")),
        start=event.decoded("DTSTART"),
        end=event.decoded("DTEND"),
        organizer=str(organizer),
        organizer_cn=str(organizer.params.get("CN", "")),
        attendees=list(_as_list(event.get("ATTENDEE"))),
        location=str(event.get("LOCATION", "")),
        description=str(event.get("DESCRIPTION", "")),
        url=str(event.get("URL", "")),
        ical=calendar,
        raw=data,
    )


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def calendar_part(message: EmailMessage) -> bytes | None:
    """The text/calendar alternative of a received message, as sent."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) <= 1
    return parts[0].get_payload(decode=True) if parts else None


def invites(messages: list[EmailMessage]) -> list[Invite]:
    """Every calendar object in these messages, in the order received."""
    return [parse_calendar(data) for m in messages if (data := calendar_part(m)) is not None]


def bodies(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a received message."""
    text = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    return (
        text.get_content().replace("\r\n", "\n"),
        rich.get_content().replace("\r\n", "\n"),
    )


def links_in(message: EmailMessage) -> set[str]:
    """Every link a person can follow: URLs in the text part and hrefs in the HTML part."""
    text, rich = bodies(message)
    found = set(re.findall(r"https?://[^\s\"'<>]+", text))
    found |= {html.unescape(h) for h in re.findall(r'href="([^"]*)"', rich)}
    return found


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
