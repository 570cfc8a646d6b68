from django import template

from .. import qr
from ..services import attendance

register = template.Library()


@register.simple_tag
def checkin_qr(registration) -> str:
    """The attendee's check-in QR code as inline SVG (see events.qr: no user content in it)."""
    return qr.svg(registration)


@register.filter
def door_clock(moment) -> str:
    """A check-in time as the door reads it: "14:05" today, "Tue 3 Dec, 14:05" otherwise."""
    return attendance.clock(moment) if moment else ""
