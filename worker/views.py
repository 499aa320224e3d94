"""Health endpoints for load balancers and orchestrators (no authentication, no data)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from worker import selectors


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 when the database answers."""
    up = selectors.database_is_up()
    return JsonResponse({"database": "ok" if up else "down"}, status=200 if up else 503)


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the broker answer; the worker heartbeat is reported."""
    database = selectors.database_is_up()
    broker = selectors.broker_is_up()
    heartbeat = selectors.worker_heartbeat() if database else None
    body = {
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
        "worker": {
            "last_heartbeat": heartbeat.last_seen.isoformat()
            if heartbeat and heartbeat.last_seen
            else None,
            "age_seconds": heartbeat.age_seconds if heartbeat else None,
            "stale": heartbeat.stale if heartbeat else True,
        },
    }
    return JsonResponse(body, status=200 if database and broker else 503)
