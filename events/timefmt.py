"""Session times as people read them: in their own zone, with the event's zone beside it."""

import zoneinfo
from datetime import datetime, tzinfo

from django.utils import timezone


def span(start: datetime, end: datetime) -> str:
    """'Mon 15 Jul 2030, 16:00–17:30 CEST'. Across a change of the clocks each end carries
    its own label ('01:30 CET–04:30 CEST'): one label would misstate one of the two times."""
    same_day = start.date() == end.date()
    head = f"{start:%a %-d %b %Y, %H:%M}"
    tail = f"{end:%H:%M}" if same_day else f"{end:%a %-d %b, %H:%M}"
    if start.utcoffset() != end.utcoffset() or start.tzname() != end.tzname():
        return f"{head} {start.tzname()}–{tail} {end.tzname()}"
    return f"{head}–{tail} {end.tzname()}"


def event_note(moment: datetime, viewer: tzinfo, event_zone: str) -> str:
    """The event-zone note of `moment`, or '' when the viewer's zone shows the same clock."""
    seen = timezone.localtime(moment, viewer)
    there = timezone.localtime(moment, zoneinfo.ZoneInfo(event_zone))
    if there.utcoffset() == seen.utcoffset():
        return ""
    if there.tzname() == event_zone:
        # "14:00 UTC in UTC" says the zone twice.
        return f"{there:%H:%M} {event_zone}, event time"
    return f"{there:%H:%M} {there.tzname()} in {event_zone}, event time"


def when(session, viewer: tzinfo) -> tuple[str, str]:
    """(the session's time in the viewer's zone, the event-zone note or '' when it is the same)."""
    start = timezone.localtime(session.starts_at, viewer)
    end = timezone.localtime(session.ends_at, viewer)
    return span(start, end), event_note(session.starts_at, viewer, session.event.timezone)


def moment(value: datetime, viewer: tzinfo, event_zone: str) -> tuple[str, str]:
    """(one point in time in the viewer's zone, the event-zone note or '')."""
    seen = timezone.localtime(value, viewer)
    return f"{seen:%a %-d %b %Y, %H:%M} {seen.tzname()}", event_note(value, viewer, event_zone)


def when_text(session, zone_name: str) -> str:
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    text, note = when(session, zone)
    return f"{text} ({note})" if note else text


def deadline_text(value: datetime, zone_name: str) -> str:
    """A deadline in a message (an offer's, an invitation's, a survey's closing), in the
    recipient's zone: "Wed 15 Jul 2026, 16:00 CEST"."""
    return f"{timezone.localtime(value, zoneinfo.ZoneInfo(zone_name)):%a %-d %b %Y, %H:%M %Z}"
