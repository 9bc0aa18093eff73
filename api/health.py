"""/healthz: 200 when the database answers, 503 JSON (from the middleware) when not.

With a read replica (DATABASE_REPLICA_URL) it also reports the replica's lag in seconds,
or "unavailable" with the status "degraded" while still answering 200: ingest and every
write go on without the replica, so a load balancer must not take the server out for it.
"""

from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.routers import has_replica, replica_lag_seconds


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    if has_replica():
        try:
            lag = replica_lag_seconds()
        except DatabaseError:
            body.update(status="degraded", replica="unavailable")
        else:
            body.update(replica="ok", replica_lag_seconds=round(lag, 3))
    return JsonResponse(body)
