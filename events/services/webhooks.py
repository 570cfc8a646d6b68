"""A team's webhook endpoints: the only code that changes them. Each change is written to the
team's history with who made it, in its transaction. Delivery itself is the outbox's
(events/outbox/webhooks.py); this module owes what people ask for by hand (a test event, a
message sent again) and the owners' email when the outbox disables a failing endpoint."""

import hashlib
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..models import Membership, Notification, Role, Team, TeamHistory, WebhookEndpoint
from ..models.webhook import WebhookMessage, new_secret
from ..outbox import http, owe
from ..outbox import webhooks as channel
from ..outbox.registry import kinds
from . import ServiceError, audit

MAX_PER_TEAM = 20


def event_types() -> list[str]:
    """Every event type an endpoint may hear, as the domains registered them."""
    return [event.name for event in kinds.webhook_events()]


def _check(url: str, types: list[str]) -> tuple[str, list[str]]:
    url = (url or "").strip()
    if not url:
        raise ServiceError(_("Enter the address that should receive the webhooks."))
    if len(url) > 500:
        raise ServiceError(_("The address is too long (500 characters at most)."))
    problem = http.url_problem(url)
    if problem:
        raise ServiceError(problem)
    known = event_types()
    unknown = sorted(set(types) - set(known))
    if unknown:
        raise ServiceError(
            _("Unknown event type: %(types)s.") % {"types": ", ".join(unknown)},
        )
    if not types:
        raise ServiceError(_("Choose at least one event type."))
    return url, [name for name in known if name in set(types)]


def _record(team: Team, actor: User | None) -> None:
    TeamHistory.objects.create(team=team, actor=actor, action=TeamHistory.Action.WEBHOOKS_CHANGED)


def _audit(actor: User, action: str, endpoint: WebhookEndpoint, **summary: object) -> None:
    audit.record(
        actor=actor, action=action, team=endpoint.team_id, target=endpoint, summary=summary
    )


def _shown(endpoint: WebhookEndpoint) -> dict[str, object]:
    """What the log keeps of an endpoint: the host its URL names (a path or query often
    carries a receiver's secret), its event types and description."""
    return {
        "host": urlsplit(endpoint.url).hostname or "",
        "url_digest": hashlib.sha256(endpoint.url.encode()).hexdigest()[:12],
        "event_types": list(endpoint.event_types),
        "description": endpoint.description,
    }


@transaction.atomic
def create_endpoint(
    *, team: Team, actor: User, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    """A new endpoint, enabled, with a fresh secret (shown once, by the page that made it)."""
    url, types = _check(url, event_types)
    Team.objects.select_for_update().filter(pk=team.pk).first()
    if WebhookEndpoint.objects.filter(team=team).count() >= MAX_PER_TEAM:
        raise ServiceError(
            _("A team may have %(count)s webhook endpoints at most.") % {"count": MAX_PER_TEAM}
        )
    endpoint = WebhookEndpoint.objects.create(
        team=team,
        url=url,
        event_types=types,
        description=description.strip()[:200],
        created_by=actor,
    )
    _record(team, actor)
    _audit(actor, "webhook.created", endpoint, fields=_shown(endpoint))
    return endpoint


@transaction.atomic
def update_endpoint(
    *,
    endpoint: WebhookEndpoint,
    actor: User,
    url: str,
    event_types: list[str],
    description: str = "",
) -> WebhookEndpoint:
    url, types = _check(url, event_types)
    before = _shown(endpoint)
    endpoint.url, endpoint.event_types = url, types
    endpoint.description = description.strip()[:200]
    endpoint.save(update_fields=["url", "event_types", "description"])
    _record(endpoint.team, actor)
    if diff := audit.changes(before, _shown(endpoint)):
        _audit(actor, "webhook.updated", endpoint, changes=diff)
    return endpoint


@transaction.atomic
def rotate_secret(*, endpoint: WebhookEndpoint, actor: User) -> str:
    """A new secret, in force at once for every message sent from now on; the new secret."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    _record(endpoint.team, actor)
    _audit(actor, "webhook.secret_rotated", endpoint)
    return endpoint.secret


@transaction.atomic
def delete_endpoint(*, endpoint: WebhookEndpoint, actor: User) -> None:
    """The endpoint and its delivery log; messages on their way are dropped with it."""
    team = endpoint.team
    _audit(actor, "webhook.deleted", endpoint, host=_shown(endpoint)["host"])
    endpoint.delete()
    _record(team, actor)


@transaction.atomic
def disable_endpoint(*, endpoint: WebhookEndpoint, actor: User) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
        disabled_at=timezone.now(),
        disabled_reason=_("Disabled by %(name)s.") % {"name": actor.email},
    )
    _record(endpoint.team, actor)
    _audit(actor, "webhook.disabled", endpoint)


@transaction.atomic
def enable_endpoint(*, endpoint: WebhookEndpoint, actor: User) -> None:
    """Enabled again, with a clean slate: failing since nothing. Messages that failed while
    it was disabled stay failed (send them again from the log)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=None, disabled_reason="", failing_since=None
    )
    _record(endpoint.team, actor)
    _audit(actor, "webhook.enabled", endpoint)


@transaction.atomic
def send_test(*, endpoint: WebhookEndpoint, actor: User) -> WebhookMessage:
    """A `webhook.test` event to this endpoint, signed and logged like any other."""
    message = channel.owe_test(endpoint)
    _audit(actor, "webhook.test_sent", endpoint, message=message.pk)
    return message


@transaction.atomic
def send_again(*, message: WebhookMessage, actor: User) -> None:
    if "erased" in (message.payload or {}):
        # The retention policy took its contents (services.retention): nothing left to send.
        raise ServiceError(
            _(
                "This message's contents were removed by the retention policy: it cannot be "
                "sent again."
            )
        )
    if not channel.send_again(message):
        raise ServiceError(_("This message is still on its way; wait for it to finish."))
    _audit(actor, "webhook.message_resent", message.endpoint, message=message.pk)


def notify_disabled(endpoint: WebhookEndpoint) -> list[int]:
    """Owe each owner of the endpoint's team an email saying it was disabled, and why (called
    by the outbox inside the transaction that disabled it)."""
    owners = User.objects.filter(
        pk__in=Membership.objects.filter(team_id=endpoint.team_id, role=Role.OWNER).values(
            "user_id"
        )
    )
    stamp = endpoint.disabled_at.strftime("%Y%m%dT%H%M%S") if endpoint.disabled_at else ""
    return [
        owe.owe(
            kind=Notification.Kind.WEBHOOK_DISABLED,
            about=[f"hook{endpoint.pk}", stamp, f"user{owner.pk}"],
            email=owner.email,
            recipient=owner,
            payload={
                "endpoint_id": endpoint.pk,
                "endpoint_url": endpoint.url,
                "team_id": endpoint.team_id,
                "reason": endpoint.disabled_reason,
            },
        ).pk
        for owner in owners
    ]
