"""Session times as people read them: in their own zone, with the event's zone beside it."""

import zoneinfo
from datetime import datetime, tzinfo

from django.utils import timezone


def span(start: datetime, end: datetime) -> str:
    same_day = start.date() == end.date()
    head = f"{start:%a %-d %b %Y, %H:%M}"
    tail = f"{end:%H:%M}" if same_day else f"{end:%a %-d %b, %H:%M}"
    return f"{head}–{tail} {end.tzname()}"


def when(session, viewer: tzinfo) -> tuple[str, str]:
    """(the session's time in the viewer's zone, the event-zone note or '' when it is the same)."""
    start = timezone.localtime(session.starts_at, viewer)
    end = timezone.localtime(session.ends_at, viewer)
    event_start = timezone.localtime(session.starts_at, zoneinfo.ZoneInfo(session.event.timezone))
    note = ""
    if event_start.utcoffset() != start.utcoffset():
        note = f"{event_start:%H:%M} {event_start.tzname()} in {session.event.timezone}, event time"
    return span(start, end), note


def when_text(session, zone_name: str) -> str:
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    text, note = when(session, zone)
    return f"{text} ({note})" if note else text
