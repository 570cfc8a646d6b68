import zoneinfo

import markdown as md
import nh3
from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Organizer-written Markdown, made safe: raw HTML, scripts and event handlers are removed."""
    html = md.markdown(text or "", extensions=["sane_lists", "fenced_code"])
    return mark_safe(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S308


def _fmt(start, end) -> str:
    same_day = start.date() == end.date()
    head = f"{start:%a %-d %b %Y, %H:%M}"
    tail = f"{end:%H:%M}" if same_day else f"{end:%a %-d %b, %H:%M}"
    return f"{head}–{tail} {end.tzname()}"


@register.simple_tag
def session_when(session) -> str:
    """A session's time in the viewer's zone, with the event's own zone beside it when they
    differ, e.g. "Tue 3 Dec 2026, 16:00–17:00 CET (10:00 EST, event time)"."""
    viewer = timezone.get_current_timezone()
    start = timezone.localtime(session.starts_at, viewer)
    end = timezone.localtime(session.ends_at, viewer)
    text = _fmt(start, end)
    event_start = timezone.localtime(session.starts_at, zoneinfo.ZoneInfo(session.event.timezone))
    if event_start.utcoffset() != start.utcoffset():
        return format_html(
            '<time datetime="{}">{}</time> <span class="muted">({} {} in {}, event time)</span>',
            session.starts_at.isoformat(),
            text,
            f"{event_start:%H:%M}",
            event_start.tzname(),
            session.event.timezone,
        )
    return format_html('<time datetime="{}">{}</time>', session.starts_at.isoformat(), text)


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
