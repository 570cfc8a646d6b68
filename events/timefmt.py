"""Session times as people read them: in their own zone, with the event's zone beside it, in
the active language's words and formats.

The patterns are Django date-format strings marked for translation, so each language says how
it writes a day and a time ("Tue 8 Dec 2026, 15:00" reads "mardi 8 décembre 2026, 15 h 00");
day and month names come from Django's own catalogues.
"""

import zoneinfo
from datetime import datetime, tzinfo

from django.utils import dateformat, timezone
from django.utils.translation import gettext, pgettext


def _day(value: datetime) -> str:
    # Translators: a Django date format (docs.djangoproject.com/en/5.2/ref/templates/builtins/#date)
    # for a day with its year: English "Tue 8 Dec 2026"; French writes "l j F Y".
    return dateformat.format(value, pgettext("date format", "D j M Y"))


def _day_short(value: datetime) -> str:
    # Translators: a Django date format for a day without its year ("Tue 8 Dec").
    return dateformat.format(value, pgettext("date format", "D j M"))


def _clock(value: datetime) -> str:
    # Translators: a Django time format: English "15:00"; French writes "G \h i" (15 h 00).
    return dateformat.format(value, pgettext("time format", "H:i"))


def city(zone_name: str) -> str:
    """'Europe/Paris' -> 'Paris', 'America/New_York' -> 'New York'; 'UTC' stays 'UTC'."""
    return zone_name.rsplit("/", 1)[-1].replace("_", " ")


def span(start: datetime, end: datetime) -> str:
    """'Mon 15 Jul 2030, 16:00–17:30 CEST'. Across a change of the clocks each end carries
    its own label ('01:30 CET–04:30 CEST'): one label would misstate one of the two times."""
    same_day = start.date() == end.date()
    head = gettext("{day}, {time}").format(day=_day(start), time=_clock(start))
    tail = (
        _clock(end)
        if same_day
        else gettext("{day}, {time}").format(day=_day_short(end), time=_clock(end))
    )
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
        return gettext("{time} {zone}, event time").format(time=_clock(there), zone=event_zone)
    # Translators: [time] is the time there, [abbr] the zone's abbreviation (CET), [zone] its
    # name (Europe/Paris), [city] the last part of that name (Paris); use any of them (French
    # says "[time], heure de [city]"). Square brackets, not braces, so that a translation may
    # leave some out.
    text = gettext("[time] [abbr] in [zone], event time")
    for name, value in (
        ("time", _clock(there)),
        ("abbr", there.tzname() or ""),
        ("zone", event_zone),
        ("city", city(event_zone)),
    ):
        text = text.replace(f"[{name}]", value)
    return text


def when(session, viewer: tzinfo) -> tuple[str, str]:
    """(the session's time in the viewer's zone, the event-zone note or '' when it is the same)."""
    start = timezone.localtime(session.starts_at, viewer)
    end = timezone.localtime(session.ends_at, viewer)
    return span(start, end), event_note(session.starts_at, viewer, session.event.timezone)


def moment(value: datetime, viewer: tzinfo, event_zone: str) -> tuple[str, str]:
    """(one point in time in the viewer's zone, the event-zone note or '')."""
    seen = timezone.localtime(value, viewer)
    text = gettext("{day}, {time}").format(day=_day(seen), time=_clock(seen))
    return f"{text} {seen.tzname()}", event_note(value, viewer, event_zone)


def zone_or_utc(zone_name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def when_text(session, zone_name: str) -> str:
    text, note = when(session, zone_or_utc(zone_name))
    return f"{text} ({note})" if note else text


def deadline_text(value: datetime, zone_name: str) -> str:
    """A deadline in a message (an offer's, an invitation's, a survey's closing), in the
    recipient's zone: "Wed 15 Jul 2026, 16:00 CEST"."""
    seen = timezone.localtime(value, zone_or_utc(zone_name))
    text = gettext("{day}, {time}").format(day=_day(seen), time=_clock(seen))
    return f"{text} {seen.tzname()}"
