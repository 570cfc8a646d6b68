"""The outbox's webhook channel: the same promises as email, to a team's HTTP endpoints.

- Owed in the change's transaction: `emit(type, about)` writes one WebhookMessage per enabled
  endpoint of the team that hears `type`, all under one `webhook-id` (the event's), and
  rings a drain task on commit. What the event says is asked of its registration
  (registry.WebhookEvent), decided now and kept in the row.
- Never lost: a broker down at commit leaves the rows pending; the beat sweep rings again.
- Sent once: a drain claims one row at a time with a conditional UPDATE under a lease token
  (skip_locked on PostgreSQL); every later write is fenced on the token; a lapsed lease is
  taken back by the sweep. A copy that the at-least-once window lets through carries the
  same `webhook-id`, so receivers drop it.
- Retried with exponential backoff and jitter for 24 hours on no answer, a 429 or a 5xx; a
  3xx or another 4xx is final; a 410 Gone also disables the endpoint. An endpoint whose
  every delivery failed for 24 hours is disabled, and the domain is told (its owners get
  an email, events/messages/webhooks.py).
"""

import json
import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from ..models.webhook import WebhookEndpoint, WebhookMessage
from . import doorbell, http
from .registry import kinds

log = logging.getLogger(__name__)
Status = WebhookMessage.Status

BELL = "outbox:webhooks"
DELIVER = "events.outbox.tasks.deliver_webhooks"
TEST = "webhook.test"
BATCH = 10  # rows claimed at once by a drain (one UPDATE), then sent one by one
# A batch's POSTs take at most BATCH x http.TIMEOUT; a killed worker's rows come back after.
LEASE = timedelta(seconds=BATCH * http.TIMEOUT + 30)
RETRY_FOR = timedelta(hours=24)
DISABLE_AFTER = timedelta(hours=24)
MAX_DELAY = 3600.0
SWEEP_GRACE = timedelta(seconds=30)  # rows this fresh are the on-commit ring's


@dataclass(frozen=True)
class Outcome:
    sent: bool = False
    retry_in: float | None = None


def new_webhook_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: ~30 s, 1 min, 2 min, ... up to an hour, ±20%
    (settings.WEBHOOKS_RETRY_BASE is the first delay)."""
    base = float(settings.WEBHOOKS_RETRY_BASE)
    return min(base * 2 ** (attempt - 1), MAX_DELAY) * random.uniform(0.8, 1.2)


def _payload(type: str, data: dict, now: datetime) -> dict:
    # Through JSON once, so what is kept is exactly what is sent (dates as ISO 8601).
    body = {"type": type, "timestamp": now.isoformat(), "data": data}
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def body_of(message: WebhookMessage) -> bytes:
    return json.dumps(message.payload, separators=(",", ":")).encode()


def ring_on_commit() -> None:
    transaction.on_commit(ring)


def ring(*, force: bool = False) -> None:
    doorbell.ring(force=force, bell=BELL, task=DELIVER)


def emit(*types: str, about: object) -> list[int]:
    """Owe the events `types` (one change may be two: a registration created, and
    confirmed) about `about` to every enabled endpoint of its team that hears them, inside
    the caller's transaction; the rows' ids. One query finds the endpoints; nothing more is
    read or written when none listens."""
    assert transaction.get_connection().in_atomic_block, "emit inside the change's transaction"
    events = [kinds.webhook_event(type) for type in types]
    endpoints = list(
        WebhookEndpoint.objects.filter(**events[0].team(about), disabled_at__isnull=True)
        .values_list("pk", "event_types")
        .order_by("pk")
    )
    wanted = [(e, [pk for pk, heard in endpoints if e.name in heard]) for e in events]
    if not any(listening for _event, listening in wanted):
        return []
    now = timezone.now()
    rows = []
    for event, listening in wanted:
        if not listening:
            continue
        payload = _payload(event.name, event.data(about), now)
        webhook_id = new_webhook_id()  # one per event, shared by its endpoints
        rows += [
            WebhookMessage(
                endpoint_id=pk,
                webhook_id=webhook_id,
                type=event.name,
                payload=payload,
                give_up_at=now + RETRY_FOR,
            )
            for pk in listening
        ]
    created = WebhookMessage.objects.bulk_create(rows)
    ring_on_commit()
    return [row.pk for row in created]


def owe_test(endpoint: WebhookEndpoint) -> WebhookMessage:
    """A test event for one endpoint (whatever it subscribed to), sent like any other."""
    now = timezone.now()
    data = {"endpoint_id": endpoint.pk, "team_id": endpoint.team_id}
    message = WebhookMessage.objects.create(
        endpoint=endpoint,
        webhook_id=new_webhook_id(),
        type=TEST,
        payload=_payload(TEST, data, now),
        give_up_at=now + RETRY_FOR,
    )
    ring_on_commit()
    return message


def send_again(message: WebhookMessage) -> bool:
    """A delivered or failed message owed again from scratch, under the same webhook-id (a
    receiver that got it already drops it); False when it is still on its way."""
    updated = WebhookMessage.objects.filter(
        pk=message.pk, status__in=[Status.FAILED, Status.SENT]
    ).update(
        status=Status.PENDING,
        attempts=0,
        next_attempt_at=None,
        give_up_at=timezone.now() + RETRY_FOR,
        last_error="",
    )
    if updated:
        ring_on_commit()
    return bool(updated)


def _ready(now: datetime):
    return WebhookMessage.objects.filter(status=Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def claim(token: str, count: int = BATCH) -> list[int]:
    """Claim up to `count` of the oldest ready rows nobody holds (pending -> sending under
    `token`), by one conditional UPDATE: of two drains, each row goes to one."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _ready(now)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:count]
        )
        if not ids:
            return []
        _ready(now).filter(pk__in=ids).update(
            status=Status.SENDING,
            claimed_at=now,
            lease_token=token,
            lease_expires_at=now + LEASE,
        )
    return ids  # locked above (SQLite: its writers take turns), so every one was claimed


def claim_next(token: str) -> int | None:
    """Claim the oldest ready row nobody holds."""
    ids = claim(token, 1)
    return ids[0] if ids else None


def drain(*, limit: int = 500) -> tuple[list[Outcome], bool]:
    """Send the due rows, a claimed batch at a time, up to `limit`; the outcomes, and whether
    rows may be left."""
    outcomes: list[Outcome] = []
    while len(outcomes) < limit:
        token = secrets.token_hex(16)
        ids = claim(token)
        if not ids:
            return outcomes, False
        messages = list(
            WebhookMessage.objects.select_related("endpoint")
            .filter(pk__in=ids, lease_token=token)
            .order_by("pk")
        )
        # One instance per endpoint, so what one row learns of it (disabled by a 410, failing)
        # holds for the batch's next rows.
        endpoints = {m.endpoint_id: m.endpoint for m in messages}
        for message in messages:
            message.endpoint = endpoints[message.endpoint_id]
            outcomes.append(deliver_claimed(message, token))
    return outcomes, True


def next_retry_in() -> float | None:
    """Seconds until the earliest pending retry is due (0 when one is due now), or None."""
    earliest = WebhookMessage.objects.filter(
        status=Status.PENDING, next_attempt_at__isnull=False
    ).aggregate(earliest=Min("next_attempt_at"))["earliest"]
    if earliest is None:
        return None
    return max((earliest - timezone.now()).total_seconds(), 0.0)


def _describe(answer: http.Answer) -> str:
    text = " ".join(answer.body[:300].decode("utf-8", "replace").split())
    where = f" to {answer.location}" if 300 <= answer.status < 400 and answer.location else ""
    note = " Webhooks do not follow redirects." if 300 <= answer.status < 400 else ""
    return f"Answered {answer.status}{where}{': ' + text if text else ''}.{note}"[:2000]


def deliver_claimed(message: WebhookMessage, token: str) -> Outcome:
    """Send one row held under `token` and mark what came of it (every write fenced on the
    token)."""
    pk = message.pk
    endpoint = message.endpoint
    held = WebhookMessage.objects.filter(pk=pk, lease_token=token, status=Status.SENDING)

    def mark(**fields) -> None:
        if not held.update(**fields):
            log.warning("Webhook message %s: lease lost; not marked %s", pk, fields["status"])

    now = timezone.now()
    if not endpoint.enabled and message.type != TEST:
        mark(status=Status.FAILED, last_error="The endpoint is disabled.")
        return Outcome()
    body = body_of(message)
    headers = http.headers(endpoint.secret, message.webhook_id, body)
    headers["User-Agent"] = f"{settings.SITE_NAME} webhooks"
    answer: http.Answer | None = None
    transient = final = ""
    try:
        answer = http.post(endpoint.url, body, headers)
    except http.Refused as error:
        final = str(error)
    except http.Unreachable as error:
        transient = str(error)
    now = timezone.now()
    attempts = message.attempts + 1
    attempt = {
        "attempts": attempts,
        "last_attempt_at": now,
        "response_code": answer.status if answer else None,
        "response_ms": answer.ms if answer else None,
    }
    if answer is not None:
        if 200 <= answer.status < 300:
            mark(status=Status.SENT, sent_at=now, last_error="", **attempt)
            if endpoint.failing_since is not None:  # as loaded with the row: no query else
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            return Outcome(sent=True)
        if answer.status == 429 or answer.status >= 500:
            transient = _describe(answer)
        else:
            final = _describe(answer)
    # The row's new state and what it says of the endpoint (failing, or disabled by a 410,
    # with its owners' email owed) are one change: nobody sees the row failed and the
    # endpoint still enabled.
    with transaction.atomic():
        if transient and now < message.give_up_at:
            delay = backoff(attempts)
            mark(
                status=Status.PENDING,
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=transient,
                **attempt,
            )
            log.warning("Webhook message %s: retry in %.0fs: %s", pk, delay, transient)
            outcome = Outcome(retry_in=delay)
        else:
            reason = final or f"Gave up after 24 hours. {transient}"
            mark(status=Status.FAILED, last_error=reason[:2000], **attempt)
            log.warning("Webhook message %s failed: %s", pk, reason)
            outcome = Outcome()
        if answer is not None and answer.status == 410:
            disable(endpoint, reason="The endpoint answered 410 Gone.", now=now)
        elif message.type != TEST:
            _failed(endpoint, now)
    return outcome


def _failed(endpoint: WebhookEndpoint, now: datetime) -> None:
    """A delivery failed: the endpoint is failing since now, if it was not already; failing
    for DISABLE_AFTER, it is disabled."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    since = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True)
    first = endpoint.failing_since = since.first()
    if first is not None and first <= now - DISABLE_AFTER:
        disable(endpoint, reason="Every delivery failed for 24 hours.", now=now)


def disable(endpoint: WebhookEndpoint, *, reason: str, now: datetime | None = None) -> bool:
    """Disable an endpoint that is enabled, and tell its team (in the same transaction)."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
            disabled_at=now, disabled_reason=reason
        )
        if updated:
            endpoint.disabled_at, endpoint.disabled_reason = now, reason
            kinds.endpoint_disabled(endpoint)
            log.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return bool(updated)


def sweep(*, now: datetime | None = None) -> int:
    """Every 30 seconds: rows whose lease ran out (their worker died) are pending again, and a
    drain is rung if any row is due that no on-commit ring or retry took; how many are due."""
    now = now or timezone.now()
    WebhookMessage.objects.filter(status=Status.SENDING, lease_expires_at__lt=now).update(
        status=Status.PENDING,
        lease_token="",
        lease_expires_at=None,
        next_attempt_at=now,
        last_error="The worker stopped while sending; trying again.",
    )
    due = (
        _ready(now)
        .filter(Q(next_attempt_at__isnull=False) | Q(created_at__lte=now - SWEEP_GRACE))
        .count()
    )
    if due:
        ring(force=True)
    return due
