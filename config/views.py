from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from events.tasks import HEARTBEAT_KEY


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
