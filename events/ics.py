"""Calendar objects (RFC 5545 / iTIP RFC 5546), built with icalendar: pure functions that turn
a session into bytes and touch no database.

The rules mail clients hold us to: one UID per session for its whole life; SEQUENCE rising with
every message about it; times in UTC; ORGANIZER a bare mailto: of the address the mail comes
From, never changing (Gmail and others drop updates whose organizer differs from the invite's);
a REQUEST names the recipient as ATTENDEE; a CANCEL carries STATUS:CANCELLED.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import quote, urlencode

from django.utils.translation import gettext as _
from icalendar import (
    STATUS,
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneStandard,
    vCalAddress,
    vDuration,
)

PRODID = "-//Feedback Sessions//Sessions and demos//EN"
REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"
# How often a subscribed feed should be fetched again (RFC 7986 REFRESH-INTERVAL, and the
# X-PUBLISHED-TTL that Outlook and older Apple clients read instead).
FEED_REFRESH = timedelta(hours=1)

# RFC 5545 TEXT allows no control characters but HTAB, and a raw CR or LF breaks the content
# line (icalendar refuses a bare newline in NAME, and strict parsers reject a bare CR). The
# forms refuse them in titles; these keep a row written some other way from breaking a file.
# Line breaks and tabs become spaces (or, where a text may span lines, LF, which icalendar
# escapes as \n); the other controls are invisible and go. U+2028/U+2029 are not controls
# but render as line breaks.
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\u2028\u2029]")
_BREAKS_AND_SPACE = re.compile(r"\s*[\t\n\r\x0b\x0c\u2028\u2029]+\s*")


def one_line(text: str | None) -> str:
    """A single-line calendar text (SUMMARY, LOCATION, NAME, a CN)."""
    return _BREAKS_AND_SPACE.sub(" ", _INVISIBLE.sub("", text or "")).strip()


def multi_line(text: str | None) -> str:
    """A calendar text that may span lines (DESCRIPTION): every kind of line break as LF."""
    return _BREAKS.sub("\n", _INVISIBLE.sub("", text or "")).replace("\t", " ")


@dataclass(frozen=True)
class Organizer:
    email: str
    name: str

    @classmethod
    def from_address(cls, address: str, default_name: str) -> "Organizer":
        """From a From header such as 'Feedback Sessions <noreply@example.com>'."""
        name, email = parseaddr(address)
        return cls(email=email, name=one_line(name or default_name))


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


_UID = re.compile(
    r"session-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@feedback-sessions"
)


def session_uid(uid: str) -> str | None:
    """The session's own uid in a calendar UID of ours (`uid_for`), or None for any other."""
    match = _UID.fullmatch(uid.strip().lower())
    return match.group(1) if match else None


def occurrence(
    session, *, url: str, sequence: int, with_place: bool, join_url: str = ""
) -> Occurrence:
    """The calendar view of a session. The place (room, or the person's own join link for an
    online or hybrid session) is given only to those who may see it (confirmed attendees).
    The meeting's own address is never written: `join_url` leads there, so the organizer
    may change it without sending an update. Its words are in the active language (the
    recipient's, for a mail), the title in that language's version when the event has one."""
    event = session.event
    title = event.shown_title if not session.title else f"{event.shown_title}: {session.title}"
    join_url = join_url if with_place else ""
    place = ""
    if with_place:
        place = " · ".join(p for p in (session.location, join_url) if p)
    lines = [f"{event.get_kind_display()} · {url}"]
    if join_url:
        lines.append(_("Join online: %(url)s") % {"url": join_url})
    return Occurrence(
        uid=uid_for(session),
        summary=title,
        start=session.starts_at,
        end=session.ends_at,
        sequence=sequence,
        url=join_url or url,
        description="\n".join(lines),
        location=place,
        cancelled=session.status == "cancelled",
    )


def _vevent(
    item: Occurrence, *, organizer: Organizer, attendee=None, cancelled=False, rsvp=False
) -> Event:
    attendees = []
    if attendee is not None:
        email, name = attendee
        attendees.append(
            vCalAddress.new(
                email,
                cn=one_line(name) or None,
                partstat="NEEDS-ACTION",
                role="REQ-PARTICIPANT",
                rsvp=rsvp,
            )
        )
    vevent = Event.new(
        uid=item.uid,
        summary=one_line(item.summary),
        start=item.start.astimezone(UTC),
        end=item.end.astimezone(UTC),
        stamp=datetime.now(UTC).replace(microsecond=0),
        sequence=item.sequence,
        organizer=vCalAddress.new(organizer.email, cn=organizer.name),
        attendees=attendees or None,
        location=one_line(item.location) or None,
        description=multi_line(item.description) or None,
        url=one_line(item.url) or None,
        status=STATUS.CANCELLED if cancelled or item.cancelled else STATUS.CONFIRMED,
    )
    return vevent


def _calendar(method: str, components: Iterable[Component], name: str | None = None) -> Calendar:
    calendar = Calendar.new(
        method=method, prodid=PRODID, subcomponents=components, name=one_line(name) or None
    )
    calendar.pop("UID", None)  # a calendar-level UID (RFC 7986) confuses some older clients
    calendar.add("CALSCALE", "GREGORIAN")
    return calendar


def invite(
    item: Occurrence, *, organizer: Organizer, attendee: tuple[str, str], rsvp: bool = False
) -> bytes:
    """METHOD:REQUEST for one attendee: a new invite, or an update when SEQUENCE is higher.

    `rsvp` asks the attendee's calendar for an answer (RSVP=TRUE: Yes / No / Maybe buttons).
    Only where someone reads the answers, at the ORGANIZER address: else the buttons would
    send a "No" nowhere while the seat stays taken.

    The `.ics` download is this same object (same UID, the attendee's SEQUENCE), not a
    PUBLISH copy. Calendars match entries by UID: a PUBLISH of the invite's UID imported where
    the invite already is collides with the meeting (refused as already there, or turning it
    into a plain appointment that no longer follows the organizer's updates), and a fresh UID
    would leave two entries of which only one ever hears of a change or a cancellation. A
    REQUEST is read as the invite again: the entry is added if missing, and otherwise found
    up to date (same SEQUENCE), whichever of Apple, Google or Outlook opens it."""
    components = [_vevent(item, organizer=organizer, attendee=attendee, rsvp=rsvp)]
    return _calendar(REQUEST, components).to_ical()


def cancellation(item: Occurrence, *, organizer: Organizer, attendee: tuple[str, str]) -> bytes:
    """METHOD:CANCEL for one attendee: removes the entry from their calendar."""
    components = [_vevent(item, organizer=organizer, attendee=attendee, cancelled=True)]
    return _calendar(CANCEL, components).to_ical()


def _utc_timezone() -> Timezone:
    """A VTIMEZONE for UTC, referenced by nothing (our times are all UTC, 'Z')."""
    standard = TimezoneStandard()
    standard.add("DTSTART", datetime(1970, 1, 1))  # noqa: DTZ001 - a VTIMEZONE's local time
    standard.add("TZOFFSETFROM", timedelta(0))
    standard.add("TZOFFSETTO", timedelta(0))
    standard.add("TZNAME", "UTC")
    zone = Timezone()
    zone.add("TZID", "UTC")
    zone.add_component(standard)
    return zone


def feed(items: list[Occurrence], *, organizer: Organizer, name: str) -> bytes:
    """A subscribable calendar (METHOD:PUBLISH) of several sessions, with how often to fetch
    it again.

    RFC 5545 wants at least one component in a VCALENDAR, and strict readers (ical4j's
    validation, some CalDAV importers) reject an empty one, which a person with no session yet
    gets. The placeholder is a VTIMEZONE for UTC: every calendar client parses VTIMEZONEs and
    none shows one, so nothing appears in the calendar; a VEVENT, VTODO or VJOURNAL would show
    a stray entry, and an X- component is skipped by some parsers but refused by others."""
    components: list[Component] = [_vevent(i, organizer=organizer) for i in items]
    components = components or [_utc_timezone()]
    calendar = _calendar(PUBLISH, components, name=name)
    calendar.add("REFRESH-INTERVAL", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
    return calendar.to_ical()


def google_link(item: Occurrence) -> str:
    """'Add to Google Calendar' (a link for people who do not use the invite)."""
    fmt = "%Y%m%dT%H%M%SZ"
    query = {
        "action": "TEMPLATE",
        "text": one_line(item.summary),
        "dates": f"{item.start.astimezone(UTC):{fmt}}/{item.end.astimezone(UTC):{fmt}}",
        "details": multi_line(item.description),
        "location": one_line(item.location),
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_link(item: Occurrence) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": one_line(item.summary),
        "startdt": f"{item.start.astimezone(UTC):{fmt}}",
        "enddt": f"{item.end.astimezone(UTC):{fmt}}",
        "body": multi_line(item.description),
        "location": one_line(item.location),
    }
    # %20 for spaces: Outlook's compose page shows a '+' literally.
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(
        query, quote_via=quote
    )
