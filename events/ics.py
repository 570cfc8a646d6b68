"""Calendar objects (RFC 5545 / iTIP RFC 5546), built with icalendar: pure functions that turn
a session into bytes and touch no database.

The rules mail clients hold us to: one UID per session for its whole life; SEQUENCE rising with
every message about it; times in UTC; ORGANIZER a bare mailto: of the address the mail comes
From, never changing (Gmail and others drop updates whose organizer differs from the invite's);
a REQUEST names the recipient as ATTENDEE; a CANCEL carries STATUS:CANCELLED.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from urllib.parse import urlencode

from icalendar import Calendar, Event, vCalAddress

PRODID = "-//Feedback Sessions//Sessions and demos//EN"
REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"


@dataclass(frozen=True)
class Organizer:
    email: str
    name: str

    @classmethod
    def from_address(cls, address: str, default_name: str) -> "Organizer":
        """From a From header such as 'Feedback Sessions <noreply@example.com>'."""
        name, email = parseaddr(address)
        return cls(email=email, name=name or default_name)


@dataclass(frozen=True)
class Occurrence:
    """What a calendar entry says about one session."""

    uid: str
    summary: str
    start: datetime
    end: datetime
    sequence: int
    url: str
    description: str = ""
    location: str = ""
    cancelled: bool = False


def uid_for(session) -> str:
    return f"session-{session.uid}@feedback-sessions"


def occurrence(session, *, url: str, sequence: int, with_place: bool) -> Occurrence:
    """The calendar view of a session. The place (room or online link) is given only to those
    who may see it (confirmed attendees)."""
    event = session.event
    title = event.title if not session.title else f"{event.title}: {session.title}"
    place = ""
    if with_place:
        place = " · ".join(p for p in (session.location, session.online_url) if p)
    lines = [f"{event.get_kind_display()} · {url}"]
    if with_place and session.online_url:
        lines.append(f"Join online: {session.online_url}")
    return Occurrence(
        uid=uid_for(session),
        summary=title,
        start=session.starts_at,
        end=session.ends_at,
        sequence=sequence,
        url=url,
        description="\n".join(lines),
        location=place,
        cancelled=session.status == "cancelled",
    )


def _vevent(item: Occurrence, *, organizer: Organizer, attendee=None, cancelled=False) -> Event:
    attendees = []
    if attendee is not None:
        email, name = attendee
        attendees.append(
            vCalAddress.new(
                email,
                cn=name or None,
                partstat="NEEDS-ACTION",
                role="REQ-PARTICIPANT",
                rsvp=True,
            )
        )
    vevent = Event.new(
        uid=item.uid,
        summary=item.summary,
        start=item.start.astimezone(UTC),
        end=item.end.astimezone(UTC),
        stamp=datetime.now(UTC).replace(microsecond=0),
        sequence=item.sequence,
        organizer=vCalAddress.new(organizer.email, cn=organizer.name),
        attendees=attendees or None,
        location=item.location or None,
        description=item.description or None,
        url=item.url or None,
        status="CANCELLED" if cancelled or item.cancelled else "CONFIRMED",
    )
    return vevent


def _calendar(method: str, events: list[Event], name: str | None = None) -> bytes:
    calendar = Calendar.new(method=method, prodid=PRODID, subcomponents=events, name=name)
    calendar.pop("UID", None)  # a calendar-level UID (RFC 7986) confuses some older clients
    calendar.add("CALSCALE", "GREGORIAN")
    return calendar.to_ical()


def invite(item: Occurrence, *, organizer: Organizer, attendee: tuple[str, str]) -> bytes:
    """METHOD:REQUEST for one attendee: a new invite, or an update when SEQUENCE is higher."""
    return _calendar(REQUEST, [_vevent(item, organizer=organizer, attendee=attendee)])


def cancellation(item: Occurrence, *, organizer: Organizer, attendee: tuple[str, str]) -> bytes:
    """METHOD:CANCEL for one attendee: removes the entry from their calendar."""
    return _calendar(
        CANCEL, [_vevent(item, organizer=organizer, attendee=attendee, cancelled=True)]
    )


def feed(items: list[Occurrence], *, organizer: Organizer, name: str) -> bytes:
    """A subscribable calendar (METHOD:PUBLISH) of several sessions."""
    return _calendar(PUBLISH, [_vevent(i, organizer=organizer) for i in items], name=name)


def google_link(item: Occurrence) -> str:
    """'Add to Google Calendar' (a link for people who do not use the invite)."""
    fmt = "%Y%m%dT%H%M%SZ"
    query = {
        "action": "TEMPLATE",
        "text": item.summary,
        "dates": f"{item.start.astimezone(UTC):{fmt}}/{item.end.astimezone(UTC):{fmt}}",
        "details": item.description,
        "location": item.location,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_link(item: Occurrence) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": item.summary,
        "startdt": f"{item.start.astimezone(UTC):{fmt}}",
        "enddt": f"{item.end.astimezone(UTC):{fmt}}",
        "body": item.description,
        "location": item.location,
    }
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(query)
