"""`Content-Encoding: gzip` on the ingest endpoints: the limits count the decompressed body,
read a chunk at a time, so a compression bomb is a 413 without the worker's memory growing."""

import gzip
import json
import os
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings
from rest_framework.test import APIClient

from events.models import Event
from helplines.models import Helpline
from tests.api.bodies import (
    INGEST_URLS,
    assert_error,
    encode,
    envelope,
    event_fields,
    iso,
)

ENDPOINTS = list(INGEST_URLS)


@pytest.fixture
def valid(helpline: Helpline, now: datetime) -> Callable[[str], bytes]:
    """valid(endpoint): the body of one valid event for `endpoint`, as bytes."""

    def body(endpoint: str) -> bytes:
        return encode(envelope(endpoint, event_fields(helpline.public_id, now, endpoint)))

    return body


def post(client: APIClient, endpoint: str, raw: bytes, encoding: str | None = "gzip") -> Any:
    headers = {} if encoding is None else {"Content-Encoding": encoding}
    return client.post(INGEST_URLS[endpoint], raw, content_type="application/json", headers=headers)


def assert_stored(response: Any, endpoint: str, count: int = 1) -> None:
    if endpoint == "batch":
        assert response.status_code == 200, response.content[:500]
        assert response.json()["created"] == count
    else:
        assert response.status_code == 201, response.content[:500]
    assert Event.objects.count() == count


def gzip_bomb(decompressed_bytes: int) -> bytes:
    """gzip of that many zero bytes, built a megabyte at a time (never held whole)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(min(decompressed_bytes, 1024 * 1024))
    parts = [compressor.compress(block) for _ in range(decompressed_bytes // len(block))]
    return b"".join([*parts, compressor.flush()])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_gzip_body_is_stored_like_a_plain_one(
    client_live: APIClient, valid: Callable[[str], bytes], endpoint: str
) -> None:
    assert_stored(post(client_live, endpoint, gzip.compress(valid(endpoint))), endpoint)


@pytest.mark.parametrize("encoding", ["GZIP", " gzip ", "Gzip"])
def test_the_coding_name_is_case_insensitive(
    client_live: APIClient, valid: Callable[[str], bytes], encoding: str
) -> None:
    assert_stored(
        post(client_live, "display", gzip.compress(valid("display")), encoding), "display"
    )


@pytest.mark.parametrize("encoding", ["identity", "IDENTITY", ""])
def test_identity_is_the_body_as_is(
    client_live: APIClient, valid: Callable[[str], bytes], encoding: str
) -> None:
    assert_stored(post(client_live, "display", valid("display"), encoding), "display")


def test_a_batch_of_1000_events_gzipped(
    client_live: APIClient, helpline: Helpline, now: datetime
) -> None:
    events = [
        {
            **event_fields(helpline.public_id, now, "batch"),
            "session_id": f"sess_{n:04d}",
            "timestamp": iso(now - timedelta(seconds=n)),
        }
        for n in range(1000)
    ]
    raw = json.dumps({"events": events}).encode()
    compressed = gzip.compress(raw)
    assert len(compressed) * 5 < len(raw)

    assert_stored(post(client_live, "batch", compressed), "batch", count=1000)


def test_gzip_members_one_after_the_other_are_one_body(
    client_live: APIClient, valid: Callable[[str], bytes]
) -> None:
    raw = valid("display")
    half = len(raw) // 2
    compressed = gzip.compress(raw[:half]) + gzip.compress(raw[half:])

    assert_stored(post(client_live, "display", compressed), "display")


def _corrupt_bodies(raw: bytes) -> dict[str, bytes]:
    compressed = gzip.compress(raw)
    bad_crc = bytearray(compressed)
    bad_crc[-8] ^= 0xFF
    return {
        "not gzip at all": b"not gzip at all",
        "plain JSON labelled gzip": raw,
        "truncated in the data": compressed[: len(compressed) // 2],
        "truncated before the trailer": compressed[:-8],
        "header only": compressed[:10],
        "a wrong CRC": bytes(bad_crc),
        "garbage after the member": compressed + b"garbage",
        "zlib, not gzip": zlib.compress(raw),
        "raw deflate, not gzip": zlib.compress(raw, wbits=-zlib.MAX_WBITS),
        "gzip of nothing": gzip.compress(b""),
        "gzip of broken JSON": gzip.compress(raw[:-1]),
        "gzip of latin-1": gzip.compress(raw.replace(b"sess_", "séss_".encode("latin-1"))),
        "gzip of 5000 nested arrays": gzip.compress(b"[" * 5000 + b"]" * 5000),
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", list(_corrupt_bodies(b"{}")))
def test_a_body_that_does_not_decompress_to_json_is_a_parse_error(
    client_live: APIClient, valid: Callable[[str], bytes], endpoint: str, case: str
) -> None:
    raw = _corrupt_bodies(valid(endpoint))[case]

    assert_error(post(client_live, endpoint, raw), 400, "parse_error")
    assert Event.objects.count() == 0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "encoding", ["br", "deflate", "compress", "zstd", "x-gzip", "gzip, gzip", "gzip, identity", "*"]
)
def test_any_other_content_encoding_is_415(
    client_live: APIClient, valid: Callable[[str], bytes], endpoint: str, encoding: str
) -> None:
    response = post(client_live, endpoint, gzip.compress(valid(endpoint)), encoding)

    error = assert_error(response, 415, "unsupported_media_type")
    assert error["message"] == (
        f'Content-Encoding "{encoding}" is not supported: send the body as is (identity) or '
        "gzip-compressed (gzip)."
    )
    assert Event.objects.count() == 0


def _padded(raw: bytes, size: int) -> bytes:
    """`raw` (a JSON object) grown with white space to exactly `size` bytes, still valid."""
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


@pytest.mark.parametrize(("endpoint", "limit"), [("display", 16 * 1024), ("batch", 1024 * 1024)])
def test_the_limit_counts_the_decompressed_body(
    client_live: APIClient, valid: Callable[[str], bytes], endpoint: str, limit: int
) -> None:
    at_limit = gzip.compress(_padded(valid(endpoint), limit))
    over = gzip.compress(_padded(valid(endpoint), limit + 1))
    assert len(over) < 16 * 1024  # small on the wire: only decompressing shows its size

    assert_error(post(client_live, endpoint, over), 413, "request_too_large")
    assert Event.objects.count() == 0
    assert_stored(post(client_live, endpoint, at_limit), endpoint)


def test_the_limits_are_the_settings(
    client_live: APIClient, valid: Callable[[str], bytes], settings: Settings
) -> None:
    settings.EVENTS_MAX_BODY_BYTES = 1024
    raw = valid("display")

    assert_stored(post(client_live, "display", gzip.compress(_padded(raw, 1024))), "display")
    response = post(client_live, "display", gzip.compress(_padded(raw, 1025)))
    assert_error(response, 413, "request_too_large")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_compressed_body_larger_than_the_limit_is_413_unread(
    client_live: APIClient, endpoint: str
) -> None:
    # Random bytes do not compress: the body on the wire is itself over the limit.
    noise = gzip.compress(os.urandom(1024 * 1024 + 1))

    assert_error(post(client_live, endpoint, noise), 413, "request_too_large")


def test_a_flood_of_empty_gzip_members_is_bounded_by_the_limit(client_live: APIClient) -> None:
    # Each empty member is 20 bytes that decompress to nothing: only the compressed size
    # bounds the work.
    flood = gzip.compress(b"") * (16 * 1024 // 20 + 1)

    assert_error(post(client_live, "display", flood), 413, "request_too_large")


@pytest.mark.parametrize(
    ("endpoint", "decompressed_mb"), [("display", 10), ("click", 10), ("batch", 100)]
)
def test_a_compression_bomb_is_413_without_memory_growing(
    client_live: APIClient, endpoint: str, decompressed_mb: int
) -> None:
    bomb = gzip_bomb(decompressed_mb * 1024 * 1024)
    assert len(bomb) < 110 * 1024  # about a thousandth of what it decompresses to

    post(client_live, endpoint, gzip.compress(b"{}"))  # what a first request loads is not counted
    tracemalloc.start()
    try:
        response = post(client_live, endpoint, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert_error(response, 413, "request_too_large")
    # The batch limit (1 MB) plus one chunk, the compressed body and the request around it.
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MB"
    assert Event.objects.count() == 0


def test_the_schema_documents_content_encoding_on_the_ingest_operations(client: Client) -> None:
    schema = client.get("/v1/schema/", {"format": "json"}).json()

    for path in ("/v1/events/helpline_display", "/v1/events/helpline_click", "/v1/events/batch"):
        operation = schema["paths"][path]["post"]
        [header] = [p for p in operation["parameters"] if p["name"] == "Content-Encoding"]
        assert header["in"] == "header"
        assert header["schema"]["enum"] == ["gzip", "identity"]
        assert set(operation["responses"]) >= {"400", "413", "415"}
