import markdown as md
import nh3
from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .. import ics, timefmt
from ..messages.registrations import registration_occurrence

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Organizer-written Markdown, made safe: raw HTML, scripts and event handlers are removed."""
    html = md.markdown(text or "", extensions=["sane_lists", "fenced_code"])
    return mark_safe(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S308


def _time_html(value, text: str, note: str) -> str:
    if note:
        return format_html(
            '<time datetime="{}">{}</time> <span class="muted">({})</span>',
            value.isoformat(),
            text,
            note,
        )
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), text)


@register.simple_tag
def session_when(session) -> str:
    """A session's time in the viewer's zone, with the event's own zone beside it when they
    differ, e.g. "Tue 3 Dec 2026, 16:00–17:00 CET (10:00 EST in America/New_York, ...)"."""
    text, note = timefmt.when(session, timezone.get_current_timezone())
    return _time_html(session.starts_at, text, note)


@register.simple_tag
def event_time(value, event) -> str:
    """One point in time (say, an event's next start) as session_when shows a session's."""
    if value is None:
        return ""
    text, note = timefmt.moment(value, timezone.get_current_timezone(), event.timezone)
    return _time_html(value, text, note)


STATUS_BADGE = {
    "confirmed": "badge-ok",
    "offered": "badge-warn",
    "waitlisted": "badge-warn",
    "applied": "",
    "rejected": "badge-danger",
    "cancelled": "badge-danger",
    "declined": "badge-danger",
    "expired": "badge-danger",
}


@register.simple_tag
def status_badge(registration) -> str:
    return format_html(
        '<span class="badge {}">{}</span>',
        STATUS_BADGE.get(registration.status, ""),
        registration.get_status_display(),
    )


@register.simple_tag
def add_to_calendar(registration) -> str:
    """Links to put a confirmed session in a calendar by hand (the emailed invite does it
    automatically): the .ics file, Google Calendar, Outlook."""
    item = registration_occurrence(registration)
    return format_html(
        '<span class="calendar-links">Add to calendar: <a href="{}">.ics file</a> · '
        '<a href="{}" rel="noopener noreferrer" target="_blank">Google</a> · '
        '<a href="{}" rel="noopener noreferrer" target="_blank">Outlook</a></span>',
        reverse("events:invite_ics", args=[registration.pk]),
        ics.google_link(item),
        ics.outlook_link(item),
    )


@register.simple_tag
def percent(part: int, whole: int) -> str:
    """`part` of `whole` as a whole percentage ('–' when there is no whole)."""
    return f"{round(100 * part / whole)}%" if whole else "–"
