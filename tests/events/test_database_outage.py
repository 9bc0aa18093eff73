"""With the database unreachable, a real server answers 503 JSON with Retry-After."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from helplines.models import Helpline
from tests.api.bodies import post_json
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server_without_database() -> Iterator[str]:
    port, dead_db_port = free_port(), free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "outage-test-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # Nothing listens on this port: every connection attempt is refused.
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead_db_port}/nowhere",
        "DATABASE_UNAVAILABLE_RETRY_AFTER": "7",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)


def request(url: str, body: dict | None = None) -> tuple[int, dict[str, str], dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer abcdefgh.0123456789abcdef0123456789abcdef")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.mark.parametrize(
    "path", ["/v1/events/helpline_display", "/v1/events/helpline_click", "/v1/events/batch"]
)
def test_event_endpoints_answer_503_json_with_retry_after(
    server_without_database: str, path: str
) -> None:
    status, headers, body = request(
        server_without_database + path,
        {"helpline_id": "x", "session_id": "s", "timestamp": "2026-11-22T00:00:00Z"},
    )

    assert status == 503
    assert headers["Retry-After"] == "7"
    assert headers["Content-Type"] == "application/json"
    assert body["error"]["code"] == "service_unavailable"


def test_healthz_answers_503_json(server_without_database: str) -> None:
    status, headers, body = request(server_without_database + "/healthz")

    assert status == 503
    assert headers["Retry-After"] == "7"
    assert body["error"]["code"] == "service_unavailable"


def test_database_lost_mid_request_is_503_json_and_no_refusal_counted(
    client_live: APIClient, helpline: Helpline, now: datetime
) -> None:
    """The database answers the key lookup, then fails on the INSERT."""
    from unittest import mock

    from django.db import OperationalError

    from events.models import RefusedEventCount

    body = {"helpline_id": helpline.public_id, "session_id": "s1", "timestamp": now.isoformat()}
    with mock.patch(
        "events.services._insert_ignoring_duplicates",
        side_effect=OperationalError("server closed the connection unexpectedly"),
    ):
        response = post_json(client_live, "/v1/events/helpline_display", body)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert RefusedEventCount.objects.count() == 0
