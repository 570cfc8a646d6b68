"""Check-in QR codes: pure builders from a registration's token to the code, as inline SVG for
pages and PNG for email (segno writes both without Pillow). The code holds only our own URL
with the unguessable token: nothing a person typed goes into it."""

import io

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe


def checkin_url(registration) -> str:
    return f"{settings.SITE_URL}{reverse('events:checkin_qr', args=[registration.checkin_token])}"


def _code(registration) -> segno.QRCode:
    # Medium error correction survives a cracked phone screen or a creased printout.
    return segno.make(checkin_url(registration), error="m", micro=False)


def svg(registration, *, scale: int = 5) -> SafeString:
    """Inline SVG that scales to its box, with a title for screen readers."""
    markup = _code(registration).svg_inline(
        scale=scale,
        border=4,
        title="Check-in QR code",
        svgclass="qr-code",
        lineclass=None,
        omitsize=True,  # a viewBox instead: the page sizes the code
    )
    markup = markup.replace("<svg ", '<svg role="img" aria-label="Check-in QR code" ', 1)
    # Safe: segno generates every character from our URL and fixed options.
    return mark_safe(markup)  # noqa: S308


def png(registration, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    _code(registration).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
