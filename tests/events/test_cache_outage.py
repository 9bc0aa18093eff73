"""With the shared cache unreachable (Redis stopped), events are still stored: the key is
read from the database, the rate limit lets requests through uncounted, never a 500."""

import logging
from datetime import datetime

import pytest
from pytest_django import Settings
from rest_framework.test import APIClient

from events.models import Event
from helplines.models import Helpline
from tests.conftest import IssuedKey, free_port


@pytest.fixture
def redis_down(settings: Settings) -> None:
    # Nothing listens on this port: every connection is refused at once.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    settings.EVENTS_RATE_LIMIT = "2/m"


def display(client: APIClient, helpline: Helpline, session: str, now: datetime) -> int:
    body = {"helpline_id": helpline.public_id, "session_id": session, "timestamp": now.isoformat()}
    return client.post("/v1/events/helpline_display", body, format="json").status_code


def test_events_are_stored_and_not_limited_while_the_cache_is_down(
    redis_down: None,
    client_live: APIClient,
    live_key: IssuedKey,
    helpline: Helpline,
    now: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="api.cache"):
        statuses = [display(client_live, helpline, f"s{n}", now) for n in range(5)]

    # Over the 2/m limit, and all stored: uncounted requests are let through.
    assert statuses == [201] * 5
    assert Event.objects.filter(partner=live_key.key.partner).count() == 5
    warnings = [record.getMessage() for record in caplog.records]
    assert warnings and all(message.startswith("Cache unavailable") for message in warnings)
    assert not any(
        live_key.secret in message or live_key.key.prefix in message for message in warnings
    )


def test_a_revoked_key_is_refused_while_the_cache_is_down(
    redis_down: None, client_live: APIClient, live_key: IssuedKey
) -> None:
    live_key.key.revoked = True
    live_key.key.save()

    response = client_live.get("/v1/topics")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "key_revoked"
