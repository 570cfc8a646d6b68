import re

import markdown as md
import nh3
from django import template
from django.template.defaultfilters import linebreaks_filter, urlize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from .. import ics, timefmt
from ..messages.registrations import registration_occurrence

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Organizer-written Markdown, made safe: raw HTML, scripts and event handlers are removed."""
    html = md.markdown(text or "", extensions=["sane_lists", "fenced_code"])
    return mark_safe(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S308


@register.filter
def text_as_html(text: str) -> str:
    """Plain text as HTML: every character escaped, its links made clickable, its lines and
    paragraphs kept. What a `{% filter %}` block hands over is always marked safe (and
    allauth's mail templates render with autoescape off), so the mark is dropped first:
    urlize and linebreaks would otherwise pass any markup in it through as it is (a display
    name holding a link, in a confirmation mail)."""
    plain = str.__str__(text)  # str() of a SafeString is the SafeString itself
    return linebreaks_filter(urlize(plain, autoescape=True), autoescape=True)


@register.filter
def email_address(value: str) -> str:
    """An email address that may wrap before its dots and its "@" (a <wbr> there) and nowhere
    else: on a phone, "jo.ng@university-of-somewhere.example" wraps as "jo.ng@university-of-" /
    "somewhere.example", never as "univer" / "sity" (the .address class keeps browsers from
    breaking inside a word, unless a single part is wider than the screen). The address is
    also kept whole in data-email: what a search of the page's source, a script or a test
    looks for (an address that is not shown is then really absent)."""
    address = str(value or "")
    parts = re.split(r"(?=[.@])", address)
    wrapped = mark_safe("<wbr>".join(conditional_escape(part) for part in parts))  # noqa: S308
    return format_html('<span class="address" data-email="{}">{}</span>', address, wrapped)


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


# What a confirmed seat became once the session is over: "Confirmed" says nothing then.
PAST_SEAT = {
    "attended": ("badge-ok", pgettext_lazy("attendance", "Attended")),
    "no_show": ("badge-danger", pgettext_lazy("attendance", "Did not attend")),
    "ended": ("", pgettext_lazy("session", "Ended")),
}


@register.simple_tag
def past_status_badge(registration) -> str:
    """The badge of a registration whose session has ended: attendance for a confirmed seat
    (checked in, marked a no-show, or neither recorded), otherwise its status as it stood."""
    if registration.session.is_cancelled:
        return format_html('<span class="badge badge-danger">{}</span>', _("Session cancelled"))
    if registration.status != "confirmed":
        return status_badge(registration)
    if registration.checked_in_at:
        css, label = PAST_SEAT["attended"]
    elif registration.no_show:
        css, label = PAST_SEAT["no_show"]
    else:
        css, label = PAST_SEAT["ended"]
    return format_html('<span class="badge {}">{}</span>', css, label)


@register.filter
def calendar_label(notification) -> str:
    """What a message does to the recipient's calendar, in words: "Calendar invite",
    "Calendar update #2", "Calendar cancellation" ('' for a message without one). The iTIP
    method and SEQUENCE are what mail clients read; organizers read this."""
    calendar = (notification.payload or {}).get("calendar")
    if not calendar:
        return ""
    if calendar == ics.CANCEL:
        return _("Calendar cancellation")
    if notification.kind == "session_changed":
        return _("Calendar update #%(sequence)s") % {
            "sequence": notification.payload.get("sequence", 0)
        }
    return _("Calendar invite")


@register.simple_tag
def add_to_calendar(registration) -> str:
    """Links to put a confirmed session in a calendar by hand (the emailed invite does it
    automatically): the .ics file, Google Calendar, Outlook."""
    item = registration_occurrence(registration)
    return format_html(
        '<span class="calendar-links">{} <a href="{}">{}</a> · '
        '<a href="{}" rel="noopener noreferrer" target="_blank">Google</a> · '
        '<a href="{}" rel="noopener noreferrer" target="_blank">Outlook</a></span>',
        _("Add to calendar:"),
        reverse("events:invite_ics", args=[registration.pk]),
        _(".ics file"),
        ics.google_link(item),
        ics.outlook_link(item),
    )


@register.simple_tag
def percent(part: int, whole: int) -> str:
    """`part` of `whole` as a whole percentage ('–' when there is no whole)."""
    return f"{round(100 * part / whole)}%" if whole else "–"
