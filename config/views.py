from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from events.tasks import HEARTBEAT_KEY

from . import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and newcomers: database, cache, and the worker's last beat."""
    status = {"database": "ok", "cache": "ok", "worker_last_seen": None}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - the point is to report any failure
        status["database"] = f"error: {exc.__class__.__name__}"
    try:
        # The Redis cache answers from memory while Redis is down: ask Redis itself.
        if hasattr(cache, "ping"):
            cache.ping()
        status["worker_last_seen"] = cache.get(HEARTBEAT_KEY)
    except Exception as exc:  # noqa: BLE001
        status["cache"] = f"error: {exc.__class__.__name__}"
    healthy = status["database"] == "ok" and status["cache"] == "ok"
    return JsonResponse(status, status=200 if healthy else 503)


@never_cache
@require_GET
def healthz_live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No dependency is asked, so an outage of the database or
    Redis never makes an orchestrator restart healthy processes (readiness says that)."""
    return JsonResponse({"status": "pass"})


@never_cache
@require_GET
def healthz_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache, broker, beat's heartbeat and the outbox backlog, each with
    what it observed; 503 when one fails. `?only=database,cache` asks just those (a load
    balancer may not want to drain the web processes for a stalled beat)."""
    only = [name for name in request.GET.get("only", "").split(",") if name]
    unknown = sorted(set(only) - set(health.CHECKS))
    if unknown:
        return JsonResponse(
            {"status": "fail", "error": f"unknown checks: {', '.join(unknown)}"}, status=400
        )
    ready, body = health.readiness(only)
    return JsonResponse(body, status=200 if ready else 503)
