"""The per-key event rate limit: fixed windows, counted per key, reset each window."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from pytest_django import Settings
from rest_framework.test import APIClient

from api.ratelimit import parse_rate
from helplines.models import Helpline
from tests.api.bodies import post_json
from tests.conftest import IssuedKey


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("100/s", (100, 1)), ("5/min", (5, 60)), ("1000/hour", (1000, 3600)), ("7/d", (7, 86400))],
)
def test_rates_are_read_like_drfs(rate: str, parsed: tuple[int, int]) -> None:
    assert parse_rate(rate) == parsed


def test_the_limit_resets_with_the_next_window(
    client_live: APIClient, helpline: Helpline, settings: Settings
) -> None:
    settings.EVENTS_RATE_LIMIT = "2/s"
    start = datetime(2026, 11, 22, 12, 0, 0, 250_000, tzinfo=UTC)

    def display(session: str) -> int:
        body = {
            "helpline_id": helpline.public_id,
            "session_id": session,
            "timestamp": start.isoformat(),
        }
        return post_json(client_live, "/v1/events/helpline_display", body).status_code

    with time_machine.travel(start, tick=False) as clock:
        assert [display(f"a{n}") for n in range(3)] == [201, 201, 429]
        clock.move_to(start + timedelta(seconds=1))
        assert [display(f"b{n}") for n in range(3)] == [201, 201, 429]


def test_retry_after_is_the_rest_of_the_window(
    client_live: APIClient, helpline: Helpline, settings: Settings
) -> None:
    settings.EVENTS_RATE_LIMIT = "1/m"
    start = datetime(2026, 11, 22, 12, 0, 15, tzinfo=UTC)
    body = json.dumps(
        {"helpline_id": helpline.public_id, "session_id": "s1", "timestamp": start.isoformat()}
    )
    with time_machine.travel(start, tick=False):
        client_live.post("/v1/events/helpline_display", body, content_type="application/json")
        response = client_live.post(
            "/v1/events/helpline_display", body, content_type="application/json"
        )

    assert response.status_code == 429
    assert response["Retry-After"] == "45"


def redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return None
    return url


@pytest.mark.postgres  # ten threads writing at once: SQLite would refuse some with "locked"
@pytest.mark.django_db(transaction=True)
def test_limit_is_exact_across_threads_with_a_shared_redis_cache(
    settings: Settings, helpline: Helpline, live_key: IssuedKey
) -> None:
    """As with several server processes sharing CACHE_URL=redis://...: exactly N pass."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import caches
    from django.db import connection

    url = redis_url()
    if url is None:
        # CI starts Redis (.ci/run) and must run this test; a machine without it skips.
        assert not os.environ.get("CI"), "Redis is not running on 127.0.0.1:6379 in CI"
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    caches["default"].clear()
    settings.EVENTS_RATE_LIMIT = "5/m"
    barrier = threading.Barrier(10)
    # Mid-minute and frozen: no window boundary falls inside the burst.
    now = datetime.now(UTC).replace(second=30, microsecond=0)

    def send(n: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {live_key.secret}")
        body = {
            "helpline_id": helpline.public_id,
            "session_id": f"r{n}",
            "timestamp": now.isoformat(),
        }
        try:
            barrier.wait(timeout=10)
            return post_json(client, "/v1/events/helpline_display", body).status_code
        finally:
            connection.close()

    with time_machine.travel(now, tick=False), ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(send, range(10)))
    caches["default"].clear()

    assert statuses == [201] * 5 + [429] * 5
