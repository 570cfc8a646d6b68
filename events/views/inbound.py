"""Calendar answers through the mail provider's inbound webhook (README, "Calendar replies").

django-anymail turns each provider's inbound format (Mailgun's form post, Postmark's or
SendGrid's JSON, SES through SNS...) into one `AnymailInboundMessage` after checking the
provider's signature or the shared basic-auth secret; a bad one is a 400 and nothing is read.
Only the provider named by CALENDAR_REPLIES_WEBHOOK answers, at /inbound/<provider>/ (Mailgun
also at /inbound/mailgun_mime/, its raw-MIME form); any other is a 404. Each message goes to
`calendar_replies.take`, which acts on it once however often the provider retries.
"""

import logging
from collections.abc import Callable

from anymail import urls as anymail_urls
from anymail.signals import AnymailInboundEvent
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ..services import calendar_replies

SUFFIX = "_inbound_webhook"
logger = logging.getLogger(__name__)


def _views() -> dict[str, Callable[..., HttpResponse]]:
    """anymail's inbound view per provider, by the name anymail gives it ("mailgun", ...)."""
    return {
        pattern.name.removesuffix(SUFFIX): pattern.callback
        for pattern in anymail_urls.urlpatterns
        if getattr(pattern, "name", None) and pattern.name.endswith(SUFFIX)
    }


VIEWS = _views()


@csrf_exempt
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    configured = settings.CALENDAR_REPLIES_WEBHOOK
    if not configured or provider not in {configured, f"{configured}_mime"}:
        raise Http404
    view = VIEWS.get(configured)
    if view is None:
        raise Http404
    if not authenticated(configured):
        # anymail only warns and reads every post when a provider that does not sign (Postmark,
        # SendGrid, ...) has no shared secret: anyone could post answers in people's names.
        logger.error(
            "Calendar replies: the %s inbound webhook has no secret (ANYMAIL_WEBHOOK_SECRET or "
            "the provider's signing key); every post is refused",
            configured,
        )
        raise Http404
    return view(request)


def authenticated(provider: str) -> bool:
    """Whether posts to the provider's inbound webhook are authenticated: the shared basic-auth
    secret, or the provider's own signing key or secret (ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY,
    ...)."""
    options = settings.ANYMAIL
    if options.get("WEBHOOK_SECRET"):
        return True
    prefix = f"{provider.upper()}_"
    return any(
        value and name.startswith(prefix) and name.endswith(("SIGNING_KEY", "SIGNING_SECRET"))
        for name, value in options.items()
    )


def on_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """anymail's `inbound` signal: one message a provider posted, already authenticated."""
    message = event.message
    if message is None:
        return
    try:
        raw = message.as_bytes()
    except (UnicodeError, ValueError, LookupError):
        raw = str(message).encode("utf-8", "replace")
    envelope = [message.envelope_recipient] if message.envelope_recipient else []
    calendar_replies.take(
        message=message, raw=raw, source=esp_name.lower(), envelope_recipients=envelope
    )
