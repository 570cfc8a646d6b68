"""Check-in QR codes: pure builders from a registration's token to the code, as inline SVG for
pages and PNG for email (segno writes both without Pillow). The code holds only our own URL
with the unguessable token: nothing a person typed goes into it."""

import io

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


def checkin_url(registration) -> str:
    return f"{settings.SITE_URL}{reverse('events:checkin_qr', args=[registration.checkin_token])}"


def _code(registration) -> segno.QRCode:
    # Medium error correction survives a cracked phone screen or a creased printout.
    return segno.make(checkin_url(registration), error="m", micro=False)


def svg(registration, *, scale: int = 5) -> SafeString:
    """Inline SVG that scales to its box, with a title for screen readers."""
    name = _("Check-in QR code")
    markup = _code(registration).svg_inline(
        scale=scale,
        border=4,
        title=name,
        svgclass="qr-code",
        lineclass=None,
        omitsize=True,  # a viewBox instead: the page sizes the code
    )
    markup = markup.replace("<svg ", f'<svg role="img" aria-label="{escape(name)}" ', 1)
    # Safe: segno generates every character from our URL and fixed options (and escapes the
    # title), the label is escaped here.
    return mark_safe(markup)  # noqa: S308


def png(registration, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    _code(registration).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
