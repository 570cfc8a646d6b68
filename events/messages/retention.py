"""The retention policy's message: "stay on the panel?", 30 days before a panel member who
agreed to be contacted is removed for want of contact, with its "keep me" link.

Transactional: it is about the person's own data and consent, and is never sent to an
address on the team's do-not-contact list (the sweep does not ask those; they are removed)."""

from datetime import timedelta

from django.urls import reverse
from django.utils.translation import gettext_noop

from .. import timefmt
from ..models import Notification
from ..outbox.registry import Registry
from ..outbox.rendering import absolute
from ..services import retention


def context(notification: Notification, context: dict) -> None:
    renewal = notification.panel_renewal
    if renewal is None:
        return  # the person is gone: the message is skipped, never rendered
    nonce = notification.payload.get("nonce") or renewal.nonce
    zone = context["recipient_zone"] if notification.recipient else renewal.team.timezone
    asked = renewal.asked_at or notification.created_at
    context.update(
        team=renewal.team,
        removal=timefmt.deadline_text(asked + retention.RENEWAL_NOTICE + timedelta(days=1), zone),
        recipient_zone=zone,
    )
    renewal.nonce = nonce
    context["links"]["keep"] = absolute(
        reverse("events:panel_keep", args=[retention.renewal_token(renewal)])
    )


def still_relevant(notification: Notification) -> str:
    renewal = notification.panel_renewal
    if renewal is None:
        return gettext_noop("The person is no longer on the panel.")
    if renewal.renewed_at and renewal.asked_at and renewal.renewed_at >= renewal.asked_at:
        return gettext_noop("Already renewed.")
    return retention.why_closed(renewal, notification.payload.get("nonce", renewal.nonce))


def language(notification: Notification) -> str:
    renewal = notification.panel_renewal
    return renewal.team.language if renewal is not None else ""


def register(registry: Registry) -> None:
    registry.register(
        Notification.Kind.PANEL_RENEWAL,
        context=context,
        still_relevant=still_relevant,
        related=("panel_renewal__team",),
        language=language,
    )
