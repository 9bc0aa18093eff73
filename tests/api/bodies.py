"""What partners send and what every partner API answer must look like: timestamps and
event bodies as partners write them, posted as JSON, and the one error shape."""

import json
from datetime import UTC, datetime
from typing import Any

from rest_framework.test import APIClient

INGEST_URLS = {
    "display": "/v1/events/helpline_display",
    "click": "/v1/events/helpline_click",
    "batch": "/v1/events/batch",
}


def iso(moment: datetime) -> str:
    """`moment` in UTC as partners write it: ISO 8601 ending in Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def post_json(client: APIClient, url: str, body: Any, **extra: Any) -> Any:
    """POST `body` as JSON; the answer, whose `.json()` is the API's body."""
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def event_fields(helpline_id: str, now: datetime, endpoint: str) -> dict[str, Any]:
    """A valid event for `endpoint` ("display", "click" or "batch"; a batch item is a
    display), without the batch envelope."""
    fields: dict[str, Any] = {
        "helpline_id": helpline_id,
        "session_id": "sess_4f9a1c",
        "timestamp": iso(now),
    }
    if endpoint == "click":
        fields["contact_method"] = "phone"
    if endpoint == "batch":
        fields["type"] = "helpline_display"
    return fields


def envelope(endpoint: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"events": [fields]} if endpoint == "batch" else fields


def encode(body: Any) -> bytes:
    """JSON as partners send it; lone surrogates and NULs become `\\ud800` and `\\u0000`."""
    return json.dumps(body).encode()


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """`response` is `status` with the one error shape and `code`; returns the error."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert_error_shape(error)
    assert error["code"] == code, error
    return error


def assert_error_shape(error: Any) -> None:
    """{"code", "message"[, "fields": {name: [{"code", "message"}, ...]}]}, all strings."""
    assert isinstance(error, dict)
    assert set(error) in ({"code", "message"}, {"code", "message", "fields"}), error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    for name, errors in error.get("fields", {}).items():
        assert isinstance(name, str)
        assert isinstance(errors, list) and errors
        for item in errors:
            assert set(item) == {"code", "message"}, item
            assert isinstance(item["code"], str) and isinstance(item["message"], str)
