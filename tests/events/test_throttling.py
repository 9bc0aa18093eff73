"""The per-key event rate limit: fixed windows, counted per key, reset each window."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from events.throttling import parse_rate


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("100/s", (100, 1)), ("5/min", (5, 60)), ("1000/hour", (1000, 3600)), ("7/d", (7, 86400))],
)
def test_rates_are_read_like_drfs(rate, parsed):
    assert parse_rate(rate) == parsed


def test_the_limit_resets_with_the_next_window(client_live, helpline, settings):
    settings.EVENTS_RATE_LIMIT = "2/s"
    start = datetime(2026, 11, 22, 12, 0, 0, 250_000, tzinfo=UTC)

    def display(session: str) -> int:
        body = {
            "helpline_id": helpline.public_id,
            "session_id": session,
            "timestamp": start.isoformat(),
        }
        return client_live.post(
            "/v1/events/helpline_display", json.dumps(body), content_type="application/json"
        ).status_code

    with time_machine.travel(start, tick=False) as clock:
        assert [display(f"a{n}") for n in range(3)] == [201, 201, 429]
        clock.move_to(start + timedelta(seconds=1))
        assert [display(f"b{n}") for n in range(3)] == [201, 201, 429]


def test_retry_after_is_the_rest_of_the_window(client_live, helpline, settings):
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
