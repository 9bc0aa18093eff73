"""The read replica: which reads the router sends there, and /healthz's lag
(tests/dashboard/test_freshness.py has the dashboard's freshness line). A real streaming
replica is exercised by bench/replica.py."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoDbBlocker, Settings

from config import routers
from config.routers import REPLICA, ReplicaReadsMiddleware, ReplicaRouter, replica_reads
from events.models import Event, QuarterHourCount, RollupState
from helplines.models import Helpline, Partner, PartnerAPIKey
from tests.conftest import IssuedKey, Send


@pytest.fixture(scope="module", autouse=True)
def replica_settings(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[dict[str, Any]]:
    """A replica alias for this module's tests, by default the test database itself
    (PostgreSQL: not a standby); a test may change where it points before first use.

    Module-scoped so that it exists before each test's database set-up, which then lets
    tests marked with databases="__all__" use it."""
    mirror = dict(connections["default"].settings_dict)
    connections.settings[REPLICA] = mirror
    yield mirror
    with django_db_blocker.unblock():
        connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


def forget_replica_connection() -> None:
    """The next use of the alias connects anew, with its settings as they are then (an
    in-memory SQLite connection ignores close())."""
    connections[REPLICA].close()
    del connections[REPLICA]


def test_marked_reads_of_figures_go_to_the_replica_and_nothing_else_does(
    replica_settings: dict[str, Any], transactional_db: None
) -> None:
    router = ReplicaRouter()

    with replica_reads():
        assert router.db_for_read(Event) == REPLICA
        assert router.db_for_read(QuarterHourCount) == REPLICA
        assert router.db_for_read(RollupState) == REPLICA
        # Keys, partners, accounts: a revocation or a sign-in is visible at once.
        assert router.db_for_read(Partner) == "default"
        assert router.db_for_read(PartnerAPIKey) == "default"
        with transaction.atomic():
            assert router.db_for_read(Event) == "default"
        assert router.db_for_write(Event) == "default"
    assert router.db_for_read(Event) == "default"
    assert router.allow_migrate(REPLICA, "events") is False
    assert router.allow_migrate("default", "events") is True


def test_without_a_replica_every_read_stays_on_the_primary(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routers, "has_replica", lambda: False)
    with replica_reads():
        assert ReplicaRouter().db_for_read(Event) == "default"


@pytest.mark.parametrize(
    ("method", "path", "marked"),
    [
        ("get", "/dashboard/", True),
        ("head", "/dashboard/partners/acme/", True),
        ("get", "/v1/events/stats", True),
        ("post", "/dashboard/", False),
        ("get", "/v1/events", False),  # a partner reading back what it just sent
        ("get", "/admin/events/event/", False),
    ],
)
def test_the_middleware_marks_reads_of_pages_of_figures(
    method: str, path: str, marked: bool, settings: Settings
) -> None:
    seen = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(routers._replica_reads.get())
        return HttpResponse()

    ReplicaReadsMiddleware(view)(getattr(RequestFactory(), method)(path))

    assert seen == [marked]
    assert routers._replica_reads.get() is False


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_healthz_reports_the_replica_lag(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "replica": "ok",
        "replica_lag_seconds": 0.0,
    }


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_healthz_says_degraded_when_the_replica_does_not_answer(
    client: Client, replica_settings: dict[str, Any]
) -> None:
    forget_replica_connection()
    if connection.vendor == "postgresql":
        replica_settings.update(HOST="127.0.0.1", PORT=1, OPTIONS={"connect_timeout": 1})
    else:
        replica_settings.update(NAME="/nonexistent/directory/replica.sqlite3")
    try:
        response = client.get("/healthz")
    finally:
        replica_settings.update(connections["default"].settings_dict)
        forget_replica_connection()

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "replica": "unavailable"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_events_csv_reads_its_rows_on_the_replica(
    send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    # A large export's work goes where the figures are read, away from the primary that
    # stores partners' events.
    send(live_key.key, helpline, "s1", datetime(2026, 11, 3, 12, 0, tzinfo=UTC))
    staff = User.objects.create_superuser("exporter", password="exporter-pass-123")
    client = Client()
    client.force_login(staff)

    primary, replica = connections["default"], connections[REPLICA]
    with (
        CaptureQueriesContext(primary) as on_primary,
        CaptureQueriesContext(replica) as on_replica,
    ):
        response = client.get(
            "/dashboard/export/events.csv", {"start": "2026-11-01", "end": "2026-11-30"}
        )
        assert isinstance(response, StreamingHttpResponse)
        body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert body.count(b"\r\n") == 10 + 1  # the `#` lines, the header and the one event
    assert b",s1,2026-11-03T12:00:00+00:00," in body
    # The span of the rows' times and the COPY (psycopg's own cursor, which Django does not
    # log: its transaction is) ran on the replica; no read of events on the primary.
    replica_sql = [query["sql"] for query in on_replica.captured_queries]
    assert any('FROM "events_event"' in sql for sql in replica_sql)
    assert any("REPEATABLE READ" in sql for sql in replica_sql)
    assert not any('"events_event"' in query["sql"] for query in on_primary.captured_queries)
