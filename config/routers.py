"""The read replica (DATABASE_REPLICA_URL): which reads may go there, and which never do.

Reads go to the replica only when all of these hold, and to the primary otherwise:
- the request is a GET or HEAD of a page that shows figures (REPLICA_READ_PATHS: the
  dashboard and the stats API), marked by `ReplicaReadsMiddleware`;
- the model is one of the events app's (raw events and the aggregates): staff accounts,
  sessions, partners, keys and the directory are read from the primary, where a sign-in,
  a revoked key or a quota count is visible at once;
- no transaction is open on the primary (what a transaction reads must be what it writes).

Everything else, every write, the ingest, the read-back of a partner's own events
(GET /v1/events, which partners use to check what they just sent), the admin, the rollup
and every management command, stays on the primary. A replica behind by a few seconds
shows figures a few seconds older; the dashboard says how old (`events.freshness`), and
/healthz reports the lag.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
# Apps whose tables may be read from the replica: only what figures are built from.
REPLICA_APPS = frozenset({"events"})

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


def has_replica() -> bool:
    # DATABASES as the connections read it (tests add a replica there).
    return REPLICA in connections.settings


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within: reads of the events app's tables may go to the replica."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Django's router: the replica for marked reads (above), the primary for the rest."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if (
            _replica_reads.get()
            and has_replica()
            and model._meta.app_label in REPLICA_APPS
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Both aliases hold the same database, one a copy of the other.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica receives the schema from the primary by replication.
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Marks GET and HEAD requests under REPLICA_READ_PATHS as allowed to read figures
    from the replica (a no-op without DATABASE_REPLICA_URL)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD") and request.path.startswith(
            tuple(settings.REPLICA_READ_PATHS)
        ):
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)


def replica_lag_seconds() -> float:
    """How far the replica's data is behind the primary's, in seconds.

    0 when the replica has replayed everything it has received: the time since the last
    replayed transaction would otherwise grow while the primary is merely idle. A database
    that is not a standby (a test mirror) is 0 behind itself.
    """
    connection = connections[REPLICA]
    if connection.vendor == "postgresql":
        sql = (
            "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
            "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
            "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
        )
    else:
        sql = "SELECT 0"  # still proves the replica answers
    with connection.cursor() as cursor:
        cursor.execute(sql)
        (lag,) = cursor.fetchone()
    return float(lag)
