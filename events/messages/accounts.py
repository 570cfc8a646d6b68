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
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from ..models import Notification
from ..outbox.registry import Registry

TEMPLATE = "account_template"  # the payload's allauth template prefix
VALUES = "account_values"  # what allauth put in its context, as JSON
TIMES = "account_times"  # which of those values are times (ISO 8601 in the payload)
LANGUAGE = "account_language"  # the language of the request that owed it


def _lifetimes() -> dict[str, timedelta]:
    """allauth's messages whose links (or codes) expire, each with its own lifetime."""
    reset = timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    confirmation = timedelta(days=allauth_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS)
    return {
        "account/email/password_reset_key": reset,
        "account/email/email_confirmation": confirmation,
        "account/email/email_confirmation_signup": confirmation,
        "account/email/email_confirm": timedelta(
            seconds=allauth_settings.EMAIL_VERIFICATION_BY_CODE_TIMEOUT
        ),
        "account/email/password_reset_code": timedelta(
            seconds=allauth_settings.PASSWORD_RESET_BY_CODE_TIMEOUT
        ),
        "account/email/login_code": timedelta(seconds=allauth_settings.LOGIN_BY_CODE_TIMEOUT),
    }


def link_lifetime(template: str | None = None) -> timedelta:
    """How long the links of a message from `template` stay valid: a password reset's
    PASSWORD_RESET_TIMEOUT, an address confirmation's EMAIL_CONFIRMATION_EXPIRE_DAYS, a
    code's own timeout. A message with no expiring link of its own (a notice, "an account
    already exists"), or no template named, keeps the longest of them."""
    lifetimes = _lifetimes()
    longest = max(lifetimes.values())
    return lifetimes.get(template, longest) if template else longest


def expired(now: datetime) -> Q:
    """The account messages whose links have expired by `now`, each by its own lifetime."""
    query = Q(created_at__lt=now - link_lifetime())
    for template, lifetime in _lifetimes().items():
        query |= Q(**{f"payload__{TEMPLATE}": template}, created_at__lt=now - lifetime)
    return query


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
    if timezone.now() - notification.created_at > link_lifetime(notification.payload[TEMPLATE]):
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
