"""Prometheus: the /metrics endpoint, what it reads at each scrape, and the request middleware.

Two kinds of metric, kept apart on purpose:

- **State**, read when scraped from what every process shares (`StateCollector`): the outbox
  (owed rows per kind, the oldest one's age, the delivery's totals), registrations per state,
  each Celery queue's length and oldest message, beat's heartbeat. Any web process answers
  the same, whichever machine it runs on, and a worker needs no endpoint of its own. A
  scrape is a fixed handful of queries, none of which grows with the table (a partial index
  on the owed rows; the delivery totals are a few counter rows, see events/outbox/counts.py).
- **Events counted by this process**: requests (count and latency by view) and sign-ups by
  outcome (events/metrics.py). Under gunicorn several processes serve one address, so
  PROMETHEUS_MULTIPROC_DIR must name a directory they share (emptied before gunicorn
  starts): prometheus_client then keeps each process's counts there and a scrape adds them
  up. Without it (runserver, tests) the counts are this process's.
"""

import hmac
import os
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from events.models import Notification, Registration, RetentionLog, WebhookMessage
from events.outbox import counts

from . import broker, health

REQUESTS = Counter(
    "feedback_http_requests",
    "HTTP requests answered, by view (the URL pattern's name), method and status code.",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    "feedback_http_request_duration_seconds",
    "Time from the request reaching Django's middleware to the response leaving it, by view.",
    ["view", "method"],
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNRESOLVED = "<unresolved>"  # no URL pattern matched (a 404), or answered before resolving


class RequestMetrics:
    """Counts every request and times it, labelled by the resolved view's name, never by the
    path (which carries ids and tokens, and would make a series per URL)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or UNRESOLVED
        method = request.method if request.method in METHODS else "other"
        LATENCY.labels(view=view, method=method).observe(elapsed)
        REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        return response


class StateCollector(Collector):
    """The shared state, read at each scrape (see the module's docstring)."""

    def collect(self) -> Iterable[Metric]:
        yield from outbox_metrics()
        yield from registration_metrics()
        yield from queue_metrics()
        yield from heartbeat_metrics()
        yield from retention_metrics()

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time only: never called on registration


def outbox_metrics() -> Iterable[Metric]:
    owed = GaugeMetricFamily(
        "feedback_outbox_pending_messages",
        "Emails owed and not yet sent (pending, or being sent), by kind.",
        labels=["kind"],
    )
    oldest = GaugeMetricFamily(
        "feedback_outbox_oldest_pending_age_seconds",
        "Age of the oldest email still owed, by kind (0 when none is).",
        labels=["kind"],
    )
    # One aggregate over the partial index notification_owed_kind: only the owed rows.
    rows = {
        row["kind"]: row
        for row in Notification.objects.filter(status__in=health.OWED)
        .values("kind")
        .annotate(n=Count("kind"), oldest=Min("created_at"))
        .order_by()
    }
    now = timezone.now()
    for kind in Notification.Kind.values:
        row = rows.get(kind)
        owed.add_metric([kind], row["n"] if row else 0)
        age = (now - row["oldest"]).total_seconds() if row else 0.0
        oldest.add_metric([kind], max(0.0, age))
    yield owed
    yield oldest
    # The webhook channel's backlog, through the partial index webhook_owed.
    owed_hooks = [WebhookMessage.Status.PENDING, WebhookMessage.Status.SENDING]
    hooks = WebhookMessage.objects.filter(status__in=owed_hooks).aggregate(
        n=Count("created_at"), oldest=Min("created_at")
    )
    yield GaugeMetricFamily(
        "feedback_webhooks_pending_messages",
        "Webhook messages owed and not yet delivered.",
        value=hooks["n"],
    )
    yield GaugeMetricFamily(
        "feedback_webhooks_oldest_pending_age_seconds",
        "Age of the oldest webhook message still owed (0 when none is).",
        value=max(0.0, (now - hooks["oldest"]).total_seconds()) if hooks["n"] else 0.0,
    )
    totals = counts.totals()
    for outcome, help_text in (
        ("sent", "Emails the outbox's delivery sent."),
        ("failed", "Emails given up on: refused for good, or out of attempts."),
        (
            "retried",
            "Attempts to send an email that failed for a while and were scheduled again "
            "(or taken back from a worker that stopped).",
        ),
        ("skipped", "Emails not sent because their news went stale or the address opted out."),
    ):
        yield CounterMetricFamily(f"feedback_emails_{outcome}", help_text, value=totals[outcome])


def registration_metrics() -> Iterable[Metric]:
    family = GaugeMetricFamily(
        "feedback_registrations", "Registrations, by state.", labels=["state"]
    )
    found = dict(
        Registration.objects.values("status")
        .annotate(n=Count("status"))
        .order_by()
        .values_list("status", "n")
    )
    for state in Registration.Status.values:
        family.add_metric([state], found.get(state, 0))
    yield family


def queue_metrics() -> Iterable[Metric]:
    up = GaugeMetricFamily("feedback_broker_up", "1 when the Celery broker answered the scrape.")
    try:
        states = broker.queues()
    except Exception:  # noqa: BLE001 - a scrape during a broker outage says so, and goes on
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    length = GaugeMetricFamily(
        "feedback_celery_queue_messages",
        "Messages waiting in each Celery queue (not yet taken by a worker).",
        labels=["queue"],
    )
    oldest = GaugeMetricFamily(
        "feedback_celery_queue_oldest_message_age_seconds",
        "Age of the oldest message waiting in each Celery queue (0 when empty).",
        labels=["queue"],
    )
    for state in states:
        length.add_metric([state.name], state.messages)
        oldest.add_metric([state.name], state.oldest_age or 0.0)
    yield length
    yield oldest


def heartbeat_metrics() -> Iterable[Metric]:
    try:
        _, age = health.heartbeat_age()
    except Exception:  # noqa: BLE001 - the cache is down: no figure rather than a failed scrape
        return
    if age is not None:
        family = GaugeMetricFamily(
            "feedback_beat_heartbeat_age_seconds",
            "Seconds since a worker last ran beat's heartbeat task (every minute).",
        )
        family.add_metric([], age)
        yield family


RETENTION_WINDOW_HOURS = 24


def retention_metrics() -> Iterable[Metric]:
    """Items the retention sweep failed on lately, each once however many runs it failed
    at, from its log (the sweep runs in a worker, which has no endpoint: the log is what
    every process shares). The partial index `retention_log_failures` holds only the
    failure lines, so this reads a few rows (at most one per failing item and run)."""
    since = timezone.now() - timedelta(hours=RETENTION_WINDOW_HOURS)
    lines = RetentionLog.objects.filter(counts__has_key="failed", at__gte=since)
    items: set[str] = set()
    unnamed = 0
    for tally, failed_items in lines.values_list("counts", "failed_items"):
        if failed_items:
            items.update(failed_items)
        else:  # a line written before the items were named: its count
            unnamed += int(tally.get("failed") or 0)
    family = GaugeMetricFamily(
        "feedback_retention_failures",
        "Distinct items (events, submissions, panel members, or a call's or a team panel's "
        "whole batch) the retention sweep failed on at least once in the last "
        f"{RETENTION_WINDOW_HOURS} hours; each is retried at the next hourly run.",
    )
    family.add_metric([], len(items) + unnamed)
    yield family


_state = CollectorRegistry(auto_describe=False)
_state.register(StateCollector())


def render() -> bytes:
    """The exposition: this machine's counts (every process's, in multiprocess mode), then
    the shared state."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        counted = generate_latest(processes)
    else:
        counted = generate_latest(REGISTRY)
    return counted + generate_latest(_state)


def _authorized(request: HttpRequest, token: str) -> bool | None:
    """None without credentials, else whether they are the token (compared in constant time)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return None
    return hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def endpoint(request: HttpRequest) -> HttpResponse:
    """Off (404) unless METRICS_TOKEN is set; then 401 without a bearer token, 403 with
    another one."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    allowed = _authorized(request, token)
    if allowed is None:
        response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not allowed:
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
