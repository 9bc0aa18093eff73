"""Identical events racing on PostgreSQL: exactly one row, one 201, the rest 200."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from events.models import Event
from helplines.models import Helpline
from tests.api.bodies import post_json
from tests.conftest import IssuedKey

THREADS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_identical_requests_racing_store_one_row(
    helpline: Helpline, live_key: IssuedKey, now: datetime
) -> None:
    body = json.dumps(
        {
            "helpline_id": helpline.public_id,
            "session_id": "sess_race",
            "timestamp": now.isoformat(),
            "contact_method": "phone",
        }
    )
    barrier = threading.Barrier(THREADS)

    def send(_: int) -> tuple[int, int]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {live_key.secret}")
        try:
            barrier.wait(timeout=10)
            response = client.post(
                "/v1/events/helpline_click", body, content_type="application/json"
            )
            return response.status_code, response.json()["id"]
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(send, range(THREADS)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (THREADS - 1) + [201]
    assert len({event_id for _, event_id in answers}) == 1
    assert Event.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_racing_store_each_event_once(
    helpline: Helpline, live_key: IssuedKey, now: datetime
) -> None:
    events = [
        {
            "type": "helpline_display",
            "helpline_id": helpline.public_id,
            "session_id": f"sess_{n}",
            "timestamp": now.isoformat(),
        }
        for n in range(200)
    ]
    barrier = threading.Barrier(4)

    def send(offset: int) -> dict:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {live_key.secret}")
        # Each batch overlaps its neighbours by half.
        chunk = events[offset * 50 : offset * 50 + 100]
        try:
            barrier.wait(timeout=10)
            response = post_json(client, "/v1/events/batch", {"events": chunk})
            return response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))

    # 350 items sent, 200 distinct events: each stored once, every other copy a duplicate.
    assert sum(answer["created"] for answer in answers) == 200
    assert sum(answer["duplicates"] for answer in answers) == 150
    assert Event.objects.count() == 200
