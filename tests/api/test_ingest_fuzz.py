"""Fuzzing the ingest parser and validation through the API, with a real key.

Whatever arrives (random bytes, gzip or not; random JSON; valid events, and events broken
in one to three ways known to be invalid by construction), the answer is a 2xx or a
documented 4xx in the error shape, never a 5xx or HTML, and an event is stored exactly when
it is valid. 480 examples, derandomized so that CI runs the same ones every time (under
10 s).
"""

import gzip
import json
import string
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_django import Settings
from rest_framework.test import APIClient

from events.models import ContactMethod, Event
from events.timestamps import parse_iso_timestamp
from helplines.models import Helpline
from tests.api.bodies import INGEST_URLS, assert_error_shape, iso

HELPLINE_ID = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"  # the shared cast's helpline
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one client and helpline serve every example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# Every answer the ingest endpoints may give: status -> the error codes it may carry.
DOCUMENTED = {
    200: None,
    201: None,
    400: {"invalid", "parse_error", "duplicate_key"},
    413: {"request_too_large"},
    415: {"unsupported_media_type"},
}


@pytest.fixture
def fuzz_client(client_live: APIClient, helpline: Helpline, settings: Settings) -> APIClient:
    assert helpline.public_id == HELPLINE_ID
    settings.EVENTS_RATE_LIMIT = "1000000/s"  # hundreds of requests in a few seconds
    return client_live


def post(
    client: APIClient, endpoint: str, raw: bytes, encoding: str = "", content_type: str = ""
) -> Any:
    headers = {"Content-Encoding": encoding} if encoding else {}
    return client.post(
        INGEST_URLS[endpoint],
        raw,
        content_type=content_type or "application/json",
        headers=headers,
    )


def documented_answer(response: Any) -> Any:
    """The body of `response`, after checking it is one the API documents."""
    assert response.status_code in DOCUMENTED, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    codes = DOCUMENTED[response.status_code]
    if codes is not None:
        assert set(body) == {"error"}
        assert_error_shape(body["error"])
        assert body["error"]["code"] in codes, body
    return body


# --- Strategies ----------------------------------------------------------------------------

# Any character, NULs and lone surrogates included (JSON carries them as \u escapes).
any_text = st.text(st.characters(exclude_categories=()), max_size=24)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=24,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


# A hostile field value still leaves the body within the parser's 32 levels (a batch adds 3).
field_values = json_values.filter(lambda value: depth(value) <= 16)


@st.composite
def recent_timestamps(draw: st.DrawFn) -> str:
    """Inside the accepted window by a margin: up to 6 days old, in any whole offset."""
    moment = timezone.now() - timedelta(seconds=draw(st.integers(0, 6 * 86400)))
    hours = draw(st.integers(-12, 14))
    if hours == 0 and draw(st.booleans()):
        return iso(moment)
    offset = timezone.get_fixed_timezone(hours * 60)
    return moment.astimezone(offset).isoformat()


VALID = {
    "helpline_id": st.just(HELPLINE_ID),
    "session_id": st.text(
        string.ascii_letters + string.digits + "._:-", min_size=1, max_size=8
    ).map(lambda tail: f"sess_{tail}"),
    "timestamp": recent_timestamps(),
    "contact_method": st.sampled_from(ContactMethod.values),
}
# Invalid by construction, whatever the implementation says.
HOSTILE = {
    "helpline_id": field_values.filter(lambda value: value != HELPLINE_ID),
    "session_id": st.one_of(
        field_values.filter(lambda value: not isinstance(value, str)),
        st.sampled_from(["", "x" * 129, "has space", "jane@example.com", "192.168.1.20"]),
        st.builds("{}\x00{}".format, any_text, any_text),
        st.builds("sess_{}\ud800".format, any_text),
    ),
    "timestamp": st.one_of(
        field_values.filter(lambda value: not isinstance(value, str)),
        any_text.filter(lambda text: not any(char in string.digits for char in text)),
        st.sampled_from(
            [
                "2026-02-30T00:00:00Z",
                "2026-11-22T10:00:00",  # no offset
                "2026-11-22T10:00:00+24:00",
                "0000-01-01T00:00:00Z",
                "10000-01-01T00:00:00Z",
                "9999-12-31T23:59:59-05:00",
            ]
        ),
        st.builds(lambda: iso(timezone.now() + timedelta(hours=1))),  # in the future
        st.builds(lambda: iso(timezone.now() - timedelta(days=8))),  # too old
        recent_timestamps().map(lambda stamp: stamp + "\x00"),
    ),
    "contact_method": field_values.filter(lambda value: value not in ContactMethod.values),
}


@st.composite
def events(draw: st.DrawFn) -> tuple[str, dict[str, Any], bool]:
    """(type, fields, valid): a valid event half the time, else one broken at least once."""
    event_type = draw(st.sampled_from(["helpline_display", "helpline_click"]))
    wanted = ["helpline_id", "session_id", "timestamp"]
    if event_type == "helpline_click":
        wanted.append("contact_method")
    fields: dict[str, Any] = {name: draw(VALID[name]) for name in wanted}
    if draw(st.booleans()):
        return event_type, fields, True
    ways = ["hostile", "missing", "extra"]
    if event_type == "helpline_display":
        ways.append("contact_method")
    for way in draw(st.lists(st.sampled_from(ways), min_size=1, max_size=3)):
        name = draw(st.sampled_from(wanted))
        if way == "hostile":
            fields[name] = draw(HOSTILE[name])
        elif way == "missing":
            fields.pop(name, None)
        elif way == "extra":
            extra = draw(any_text.filter(lambda text: text not in ("type", *wanted)))
            fields[extra] = draw(field_values)
        else:  # a contact method on a display, valid or not
            fields["contact_method"] = draw(VALID["contact_method"] | HOSTILE["contact_method"])
    return event_type, fields, False


def encoded(body: Any, gzipped: bool) -> tuple[bytes, str]:
    raw = json.dumps(body).encode()
    return (gzip.compress(raw), "gzip") if gzipped else (raw, "")


def assert_stored_as_sent(event_id: int, event_type: str, fields: dict[str, Any]) -> None:
    event = Event.objects.select_related("helpline").get(pk=event_id)
    assert event.type == event_type
    assert event.helpline.public_id == fields["helpline_id"]
    assert event.session_id == fields["session_id"]
    assert event.timestamp == parse_iso_timestamp(fields["timestamp"])
    assert event.contact_method == fields.get("contact_method", "")


# --- The properties ------------------------------------------------------------------------


@FUZZ
@given(
    endpoint=st.sampled_from(list(INGEST_URLS)),
    raw=st.binary(max_size=512),
    gzipped=st.booleans(),
    encoding=st.sampled_from(["", "gzip", "identity", "br", "GZIP"]),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=zlib", "text/plain"]
    ),
)
def test_any_bytes_get_a_documented_answer_and_store_nothing(
    fuzz_client: APIClient,
    endpoint: str,
    raw: bytes,
    gzipped: bool,
    encoding: str,
    content_type: str,
) -> None:
    before = Event.objects.count()
    body = gzip.compress(raw) if gzipped else raw

    response = post(fuzz_client, endpoint, body, encoding, content_type)

    documented_answer(response)
    # Random bytes are no event: a batch may be well-formed, but nothing in it is valid.
    assert response.status_code not in (200, 201) or endpoint == "batch"
    assert Event.objects.count() == before


@FUZZ
@given(endpoint=st.sampled_from(list(INGEST_URLS)), body=json_values, gzipped=st.booleans())
def test_any_json_gets_a_documented_answer_and_stores_nothing(
    fuzz_client: APIClient, endpoint: str, body: Any, gzipped: bool
) -> None:
    before = Event.objects.count()
    if endpoint == "batch" and isinstance(body, list):
        body = {"events": body}
    raw, encoding = encoded(body, gzipped)

    response = post(fuzz_client, endpoint, raw, encoding)

    answer = documented_answer(response)
    if response.status_code == 200:  # a batch envelope, whose items are random values
        assert endpoint == "batch"
        assert answer["created"] == answer["duplicates"] == 0
    else:
        assert response.status_code != 201
    assert Event.objects.count() == before


@FUZZ
@given(event=events(), gzipped=st.booleans())
def test_a_single_event_is_stored_exactly_when_it_is_valid(
    fuzz_client: APIClient, event: tuple[str, dict[str, Any], bool], gzipped: bool
) -> None:
    event_type, fields, valid = event
    endpoint = "display" if event_type == "helpline_display" else "click"
    before = Event.objects.count()
    raw, encoding = encoded(fields, gzipped)

    response = post(fuzz_client, endpoint, raw, encoding)

    answer = documented_answer(response)
    if valid:
        assert response.status_code in (200, 201), answer
        assert_stored_as_sent(answer["id"], event_type, fields)
        assert Event.objects.count() == before + (response.status_code == 201)
    else:
        assert response.status_code == 400, answer
        assert answer["error"]["code"] == "invalid"
        assert Event.objects.count() == before


@FUZZ
@given(batch=st.lists(events(), min_size=1, max_size=6), gzipped=st.booleans())
def test_a_batch_stores_exactly_its_valid_events(
    fuzz_client: APIClient, batch: list[tuple[str, dict[str, Any], bool]], gzipped: bool
) -> None:
    before = Event.objects.count()
    items = [{"type": event_type, **fields} for event_type, fields, _ in batch]
    raw, encoding = encoded({"events": items}, gzipped)

    response = post(fuzz_client, "batch", raw, encoding)

    answer = documented_answer(response)
    assert response.status_code == 200, answer
    results = answer["results"]
    assert [result["index"] for result in results] == list(range(len(batch)))
    for (event_type, fields, valid), result in zip(batch, results, strict=True):
        if valid:
            assert result["status"] in ("created", "duplicate"), result
            assert_stored_as_sent(result["id"], event_type, fields)
        else:
            assert result["status"] == "rejected", result
            assert_error_shape(result["error"])
            assert result["error"]["code"] == "invalid"
    assert Event.objects.count() == before + answer["created"]
