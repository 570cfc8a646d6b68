"""allauth's own mail (address confirmation, password reset, "an account already exists",
"no account with this address", and its notices), through the outbox like every other
message: the request only writes a row (`accounts.services.owe_account_mail`, called by the
account adapter's `send_mail`), so a stalled relay never holds up a sign-up or a reset, and
the worker sends it once, with retries and a Message-ID from the key.

One kind, `account`, for all of them: the row's payload names allauth's template
(`account/email/password_reset_key`) and keeps the values allauth gave it, strings only;
allauth's own templates (and their translations) render it at sending time, in the
recipient's language. Those values hold one-time links, so once the message is sent they
are dropped from the row (`on_sent`), and rows of this kind leave the outbox soon after
(`accounts.services.purge_account_mail`). A message whose links have expired by the time a
worker gets to it is skipped: it could only lead to an error page.
"""

from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account import app_settings as allauth_settings
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from ..models import Notification
from ..outbox.registry import Registry

TEMPLATE = "account_template"  # the payload's allauth template prefix
VALUES = "account_values"  # what allauth put in its context, as JSON
TIMES = "account_times"  # which of those values are times (ISO 8601 in the payload)
LANGUAGE = "account_language"  # the language of the request that owed it


def link_lifetime() -> timedelta:
    """How long the links such a message may carry stay valid: a password reset's
    (PASSWORD_RESET_TIMEOUT) or an address confirmation's, whichever is longer."""
    return max(
        timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
        timedelta(days=allauth_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS),
    )


def context(notification: Notification, context: dict) -> None:
    payload = notification.payload
    values = dict(payload.get(VALUES) or {})
    for name in payload.get(TIMES) or ():
        if isinstance(values.get(name), str):
            values[name] = parse_datetime(values[name]) or values[name]
    context.update(values)
    context.update(
        account_template=payload.get(TEMPLATE, ""),
        email=notification.email,
        user=notification.recipient,
        # allauth's templates greet "from {{ current_site.name }}"; there is no request here.
        current_site=SimpleNamespace(
            name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc
        ),
    )


def still_relevant(notification: Notification) -> str:
    if not notification.payload.get(TEMPLATE):
        return gettext_noop("Its links are gone.")
    if timezone.now() - notification.created_at > link_lifetime():
        return gettext_noop("Its links have expired.")
    return ""


def on_sent(notification: Notification, sent_at: datetime) -> None:
    # The one-time links have left; the row keeps only what it was.
    kept = {k: v for k, v in notification.payload.items() if k in (TEMPLATE, LANGUAGE)}
    Notification.objects.filter(pk=notification.pk).update(payload=kept)


def language(notification: Notification) -> str:
    return notification.payload.get(LANGUAGE, "")


def register(registry: Registry) -> None:
    registry.register(
        Notification.Kind.ACCOUNT,
        context=context,
        still_relevant=still_relevant,
        on_sent=on_sent,
        language=language,
    )
