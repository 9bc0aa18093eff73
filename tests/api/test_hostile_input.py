"""Hostile bodies and query strings: every one is a 4xx in the error shape and stores nothing.

Bodies the parser refuses as a whole are a 400 (or 413) on the single and batch endpoints
alike. Values refused by the field rules are a 400 on a single endpoint and, in a batch, a
200 whose item is rejected with the same field code, as every batch item is judged alone.
Run on PostgreSQL too: it refuses a NUL in text, where SQLite stores it.
"""

import json
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
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

HELPLINE_ID = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"  # the shared cast's helpline
ENDPOINTS = list(INGEST_URLS)


@pytest.fixture(autouse=True)
def _cast(helpline: Helpline) -> None:
    assert helpline.public_id == HELPLINE_ID


def post_raw(client: APIClient, endpoint: str, raw: bytes, **kwargs: Any) -> Any:
    kwargs.setdefault("content_type", "application/json")
    return client.post(INGEST_URLS[endpoint], raw, **kwargs)


def assert_field_refused(response: Any, endpoint: str, field: str, code: str) -> None:
    """400 naming `field` with `code`; in a batch, a 200 whose one item says the same."""
    if endpoint == "batch":
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        assert (body["created"], body["duplicates"], body["rejected"]) == (0, 0, 1)
        [result] = body["results"]
        assert (result["index"], result["status"]) == (0, "rejected")
        error = result["error"]
    else:
        error = assert_error(response, 400, "invalid")
    assert error["code"] == "invalid"
    assert [e["code"] for e in error["fields"][field]] == [code], error


def nested(depth: int, opener: str = "[", closer: str = "]", leaf: str = "1") -> str:
    return opener * depth + leaf + closer * depth


# --- Bodies refused whole, on every ingest endpoint ---------------------------------------


def _edited(old: str, new: str) -> Callable[[str, datetime], str]:
    """A valid body for the endpoint, as text, with its first `old` replaced by `new`."""

    def body(endpoint: str, now: datetime) -> str:
        text = json.dumps(envelope(endpoint, event_fields(HELPLINE_ID, now, endpoint)))
        assert old in text
        return text.replace(old, new, 1)

    return body


def _in_a_field(value: str) -> Callable[[str, datetime], str]:
    """A valid body whose helpline_id (a batch item's, in a batch) is `value`, raw."""
    return _edited(json.dumps(HELPLINE_ID), value)


WHOLE_BODY_REFUSALS = {
    # Thousands of levels: json.loads itself gives up (a RecursionError, a 500 before).
    "5000 nested arrays": (lambda endpoint, now: nested(5000), "parse_error"),
    "2000 nested objects": (lambda endpoint, now: nested(2000, '{"a":', "}"), "parse_error"),
    "2000 nested objects in a field": (_in_a_field(nested(2000, '{"a":', "}")), "parse_error"),
    # Past the parser's own limit of 32 levels, well within json's.
    "33 nested arrays in a field": (_in_a_field(nested(33)), "parse_error"),
    "1e999999": (_in_a_field("1e999999"), "parse_error"),
    "-1e999999": (_in_a_field("-1e999999"), "parse_error"),
    "a 5000-digit integer": (_in_a_field("9" * 5000), "parse_error"),
    "an integer past a double": (_in_a_field("1" + "0" * 400), "parse_error"),
    "a 400-digit decimal": (_in_a_field("1" * 400 + ".5"), "parse_error"),
    "NaN": (_in_a_field("NaN"), "parse_error"),
    "-Infinity": (_in_a_field("-Infinity"), "parse_error"),
    "a raw NUL inside a string": (_in_a_field('"a\x00b"'), "parse_error"),
    "a raw NUL between tokens": (_in_a_field('"x"\x00'), "parse_error"),
    # Which of two values a check reads and which is stored must not be left to the parser.
    "session_id twice, personal data first": (
        _edited('"session_id": ', '"session_id": "jane@example.com", "session_id": '),
        "duplicate_key",
    ),
    "session_id twice, personal data last": (
        _edited('"sess_4f9a1c"', '"sess_4f9a1c", "session_id": "jane@example.com"'),
        "duplicate_key",
    ),
    "a key twice in a nested object": (_in_a_field('{"a": 1, "a": 2}'), "duplicate_key"),
    "whitespace only": (lambda endpoint, now: "  \n ", "parse_error"),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", list(WHOLE_BODY_REFUSALS))
def test_body_refused_whole(
    client_live: APIClient, now: datetime, endpoint: str, case: str
) -> None:
    make_body, code = WHOLE_BODY_REFUSALS[case]
    raw = make_body(endpoint, now).encode()
    assert len(raw) <= 16 * 1024  # refused for what it is, not for its size

    assert_error(post_raw(client_live, endpoint, raw), 400, code)
    assert Event.objects.count() == 0


def test_a_duplicate_key_is_named_in_the_message(client_live: APIClient, now: datetime) -> None:
    raw = b'{"session_id": "a", "session_id": "b"}'

    error = assert_error(post_raw(client_live, "display", raw), 400, "duplicate_key")
    assert error == {
        "code": "duplicate_key",
        "message": 'The key "session_id" appears more than once in one object: send each key once.',
    }


def test_a_duplicate_events_key_refuses_the_batch(client_live: APIClient, now: datetime) -> None:
    item = json.dumps(event_fields(HELPLINE_ID, now, "batch"))
    raw = f'{{"events": [{item}], "events": [{item}]}}'.encode()

    assert_error(post_raw(client_live, "batch", raw), 400, "duplicate_key")
    assert Event.objects.count() == 0


def test_deep_nesting_in_a_full_size_batch_is_a_parse_error(client_live: APIClient) -> None:
    # The case that answered 500: far more levels than json.loads can follow, at the
    # batch's size limit.
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        depth = (1024 * 1024 - 20) // (len(opener) + len(closer))
        raw = ('{"events": [' + nested(depth, opener, closer) + "]}").encode()
        assert len(raw) <= 1024 * 1024

        error = assert_error(post_raw(client_live, "batch", raw), 400, "parse_error")
        assert error["message"] == "The body is nested more than 32 levels deep."
    assert Event.objects.count() == 0


def test_32_levels_are_parsed_and_judged_by_the_field_rules(
    client_live: APIClient, now: datetime
) -> None:
    # {"helpline_id": [...]} with 31 arrays is 32 levels: parsed, then refused as a value.
    raw = _in_a_field(nested(31))("display", now).encode()
    assert_field_refused(
        post_raw(client_live, "display", raw), "display", "helpline_id", "wrong_type"
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xef\xbb\xbf", id="a UTF-8 BOM"),
        pytest.param(b"\xff", id="a byte that is never UTF-8"),
        pytest.param(b"\xc0\xaf", id="an overlong encoding"),
        pytest.param(b"\xed\xa0\x80", id="an encoded surrogate"),
        pytest.param(b"\xe2\x82", id="a truncated sequence"),
        pytest.param("é".encode("latin-1"), id="latin-1"),
    ],
)
def test_a_body_that_is_not_utf8_is_refused(
    client_live: APIClient, now: datetime, endpoint: str, raw: bytes
) -> None:
    valid = encode(envelope(endpoint, event_fields(HELPLINE_ID, now, endpoint)))
    body = raw + valid if raw.startswith(b"\xef\xbb\xbf") else valid.replace(b"sess_", raw, 1)

    assert_error(post_raw(client_live, endpoint, body), 400, "parse_error")
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "charset", ["latin-1", "utf-16", "utf-7", "rot13", "base64", "zlib", "hex", "nonsense"]
)
def test_the_charset_parameter_is_ignored_json_is_utf8(
    client_live: APIClient, now: datetime, charset: str
) -> None:
    # A codec named in Content-Type used to decode the body: "zlib" inflated it without any
    # limit, "rot13" answered 500.
    content_type = f"application/json; charset={charset}"
    valid = encode(event_fields(HELPLINE_ID, now, "display"))

    assert post_raw(client_live, "display", valid, content_type=content_type).status_code == 201
    inflatable = zlib.compress(valid)
    response = post_raw(client_live, "display", inflatable, content_type=content_type)
    assert_error(response, 400, "parse_error")
    assert Event.objects.count() == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_past_djangos_memory_limit_is_413(client_live: APIClient, endpoint: str) -> None:
    # Over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), DRF's JSON parser had Django read the body
    # and refuse it with an exception of its own: a 500.
    raw = b" " * (3 * 1024 * 1024)

    assert_error(post_raw(client_live, endpoint, raw), 413, "request_too_large")
    assert Event.objects.count() == 0


# --- Values refused by the field rules, single and batch alike -----------------------------


def _stamp(now: datetime, text: str) -> str:
    return text.replace("TODAY", iso(now)[:10])


FIELD_REFUSALS = [
    # NUL: PostgreSQL refuses it in text (a helpline_id reached the lookup query: 500).
    ("helpline_id", "a\x00b", "null_characters_not_allowed"),
    ("helpline_id", "\x00", "null_characters_not_allowed"),
    ("session_id", "sess\x00", "null_characters_not_allowed"),
    ("timestamp", "TODAYT10:00:00Z\x00", "invalid"),  # was stored: the parser stopped at NUL
    ("timestamp", "TODAYT10:00:00\x00Z", "invalid"),
    # Lone surrogates: no UTF-8 encoder takes them (the lookup and the renderer: 500).
    ("helpline_id", "\ud800", "surrogate_characters_not_allowed"),
    ("session_id", "sess_\udfff", "surrogate_characters_not_allowed"),
    ("timestamp", "\ud800", "invalid"),
    # Wrong types.
    ("helpline_id", 1, "wrong_type"),
    ("helpline_id", 1.5, "wrong_type"),
    ("helpline_id", True, "wrong_type"),
    ("helpline_id", [], "wrong_type"),
    ("helpline_id", {"id": HELPLINE_ID}, "wrong_type"),
    ("helpline_id", None, "null"),
    ("session_id", 12345678, "wrong_type"),
    ("session_id", False, "wrong_type"),
    ("session_id", ["sess_4f9a1c"], "wrong_type"),
    ("session_id", {}, "wrong_type"),
    ("session_id", None, "null"),
    ("timestamp", 1764000000, "wrong_type"),
    ("timestamp", 1.5e9, "wrong_type"),
    ("timestamp", True, "wrong_type"),
    ("timestamp", ["TODAYT10:00:00Z"], "wrong_type"),
    ("timestamp", {}, "wrong_type"),
    ("timestamp", None, "null"),
    # Impossible dates, times and offsets.
    ("timestamp", "2026-02-30T00:00:00Z", "invalid"),
    ("timestamp", "2026-13-01T00:00:00Z", "invalid"),
    ("timestamp", "TODAYT24:00:00Z", "invalid"),
    ("timestamp", "TODAYT10:60:00Z", "invalid"),
    ("timestamp", "TODAYT10:00:60Z", "invalid"),
    ("timestamp", "TODAYT10:00:00+24:00", "invalid"),
    ("timestamp", "TODAYT10:00:00-24:00", "invalid"),
    ("timestamp", "TODAYT10:00:00+99:99", "invalid"),
    ("timestamp", "0000-01-01T00:00:00Z", "invalid"),
    ("timestamp", "10000-01-01T00:00:00Z", "invalid"),
    ("timestamp", "0001-01-01T00:00:00+05:00", "invalid"),
    ("timestamp", "9999-12-31T23:59:59-05:00", "invalid"),
    ("timestamp", "", "invalid"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("field", "value", "code"), FIELD_REFUSALS)
def test_field_value_refused(
    client_live: APIClient, now: datetime, endpoint: str, field: str, value: object, code: str
) -> None:
    if isinstance(value, str):
        value = _stamp(now, value)
    fields = {**event_fields(HELPLINE_ID, now, endpoint), field: value}

    response = post_raw(client_live, endpoint, encode(envelope(endpoint, fields)))

    assert_field_refused(response, endpoint, field, code)
    assert Event.objects.count() == 0


CONTACT_METHODS_REFUSED = [
    "\x00",
    "phone\x00",
    "\ud800",
    1,
    True,
    [],
    ["phone"],
    {"phone": 1},
    json.loads(nested(28, leaf='"phone"')),  # 31 levels deep in a batch
    "PHONE",
]


@pytest.mark.parametrize("endpoint", ["click", "batch"])
@pytest.mark.parametrize("value", CONTACT_METHODS_REFUSED)
def test_contact_method_refused(
    client_live: APIClient, now: datetime, endpoint: str, value: object
) -> None:
    fields = {**event_fields(HELPLINE_ID, now, endpoint), "contact_method": value}
    if endpoint == "batch":
        fields["type"] = "helpline_click"

    response = post_raw(client_live, endpoint, encode(envelope(endpoint, fields)))

    assert_field_refused(response, endpoint, "contact_method", "invalid_choice")
    assert Event.objects.count() == 0


def test_a_refused_choice_holding_a_lone_surrogate_is_echoed_escaped(
    client_live: APIClient, now: datetime
) -> None:
    fields = {**event_fields(HELPLINE_ID, now, "click"), "contact_method": "\ud800"}

    error = assert_error(post_raw(client_live, "click", encode(fields)), 400, "invalid")
    assert error["fields"]["contact_method"][0]["message"] == '"\\ud800" is not a valid choice.'


@pytest.mark.parametrize(
    "value", ["\x00", "helpline_display\x00", "\ud800", "", 1, True, [], ["helpline_display"], {}]
)
def test_batch_item_type_refused(client_live: APIClient, now: datetime, value: object) -> None:
    fields = {**event_fields(HELPLINE_ID, now, "batch"), "type": value}

    response = post_raw(client_live, "batch", encode(envelope("batch", fields)))

    assert_field_refused(response, "batch", "type", "invalid_choice")
    assert Event.objects.count() == 0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("key", "shown_as"),
    [("x\x00", "x\x00"), ("\x00", "\x00"), ("\ud800", "\\ud800"), ("a\udc00b", "a\\udc00b")],
)
def test_unknown_key_with_nul_or_lone_surrogate_is_refused(
    client_live: APIClient, now: datetime, endpoint: str, key: str, shown_as: str
) -> None:
    fields = {**event_fields(HELPLINE_ID, now, endpoint), key: "x"}

    response = post_raw(client_live, endpoint, encode(envelope(endpoint, fields)))

    assert_field_refused(response, endpoint, shown_as, "unknown_field")
    assert Event.objects.count() == 0


def test_an_unknown_envelope_key_with_a_lone_surrogate_is_refused(
    client_live: APIClient, now: datetime
) -> None:
    body = {"events": [event_fields(HELPLINE_ID, now, "batch")], "\ud800": 1}

    error = assert_error(post_raw(client_live, "batch", encode(body)), 400, "invalid")
    assert [e["code"] for e in error["fields"]["\\ud800"]] == ["unknown_field"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_thousands_of_unknown_keys_are_named_ten_at_most(
    client_live: APIClient, now: datetime, endpoint: str
) -> None:
    # Each named one cost an error entry: 1 MB of unknown keys took seconds to refuse, with
    # an answer seven times the body's size.
    unknown = {f"k{n:04d}": 1 for n in range(1000)}
    fields = {**event_fields(HELPLINE_ID, now, endpoint), **unknown}

    response = post_raw(client_live, endpoint, encode(envelope(endpoint, fields)))

    assert_field_refused(response, endpoint, "k0000", "unknown_field")
    body = response.json()
    error = body["results"][0]["error"] if endpoint == "batch" else body["error"]
    assert list(error["fields"]) == [f"k{n:04d}" for n in range(10)]
    assert Event.objects.count() == 0


def test_thousands_of_unknown_envelope_keys_are_named_ten_at_most(
    client_live: APIClient, now: datetime
) -> None:
    body: dict[str, Any] = {"events": [event_fields(HELPLINE_ID, now, "batch")]}
    body.update({f"k{n:05d}": 1 for n in range(50_000, 0, -1)})

    error = assert_error(post_raw(client_live, "batch", encode(body)), 400, "invalid")
    assert list(error["fields"]) == [f"k{n:05d}" for n in range(1, 11)]
    assert Event.objects.count() == 0


def test_a_long_session_id_full_of_dots_is_judged_in_linear_time(
    client_live: APIClient, now: datetime
) -> None:
    # "a@b.b.b....@" made the email rule's regular expression backtrack quadratically: a
    # 1 MB session id held a worker for hours, checked before its length is.
    session_id = "a@" + "b." * (500 * 1024 - 8) + "@"
    fields = {**event_fields(HELPLINE_ID, now, "batch"), "session_id": session_id}

    response = post_raw(client_live, "batch", encode(envelope("batch", fields)))

    assert_field_refused(response, "batch", "session_id", "max_length")
    assert Event.objects.count() == 0


# --- Query parameters of the read and directory endpoints ----------------------------------


def read_params(now: datetime, **params: str) -> dict[str, str]:
    return {
        "start_time": iso(now - timedelta(days=1)),
        "end_time": iso(now + timedelta(hours=1)),
        **params,
    }


READ_REFUSALS = [
    ("start_time", "\x00", "invalid"),
    ("start_time", "TODAYT00:00:00Z\x00", "invalid"),  # was read as TODAYT00:00:00Z
    ("end_time", "TODAYT23:00:00Z\x00junk", "invalid"),
    ("start_time", "2026-02-30T00:00:00Z", "invalid"),
    ("start_time", "TODAYT00:00:00+24:00", "invalid"),
    ("start_time", "0000-01-01T00:00:00Z", "invalid"),
    ("end_time", "10000-01-01T00:00:00Z", "invalid"),
    ("type", "\x00", "invalid_choice"),
    ("contact_method", "phone\x00", "invalid_choice"),
    ("helpline_id", HELPLINE_ID + "\x00", "null_characters_not_allowed"),
    ("session_id", "\x00", "null_characters_not_allowed"),
    ("page_size", "\x00", "invalid"),
    ("page_size", "²", "invalid"),  # a digit to str.isdigit(), not to int(): 500 before
    ("page_size", "0", "invalid"),
    ("page_size", "-1", "invalid"),
    ("page_token", "\x00", "invalid"),
]


@pytest.mark.parametrize(("name", "value", "code"), READ_REFUSALS)
def test_read_query_parameter_refused(
    client_live: APIClient, now: datetime, name: str, value: str, code: str
) -> None:
    response = client_live.get("/v1/events", read_params(now, **{name: _stamp(now, value)}))

    error = assert_error(response, 400, "invalid")
    assert [e["code"] for e in error["fields"][name]] == [code]


def test_a_page_size_of_thousands_of_digits_means_the_largest_page(
    client_live: APIClient, now: datetime
) -> None:
    response = client_live.get("/v1/events", read_params(now, page_size="9" * 5000))

    assert response.status_code == 200
    assert response.json() == {"events": [], "next_page_token": None}


STATS_REFUSALS = [
    ("start_time", "\x00", "invalid"),
    ("end_time", "TODAYT23:00:00Z\x00", "invalid"),
    ("start_time", "2026-02-30T00:00:00Z", "invalid"),
    ("end_time", "TODAYT00:00:00-24:00", "invalid"),
    ("group_by", "\x00", "invalid_choice"),
    ("group_by", "day\x00", "invalid_choice"),
    ("timezone", "\x00", "null_characters_not_allowed"),
    ("timezone", "Europe/London\x00", "null_characters_not_allowed"),
    ("timezone", "../../etc/passwd", "invalid_timezone"),
]


@pytest.mark.parametrize(("name", "value", "code"), STATS_REFUSALS)
def test_stats_query_parameter_refused(
    client_live: APIClient, now: datetime, name: str, value: str, code: str
) -> None:
    response = client_live.get("/v1/events/stats", read_params(now, **{name: _stamp(now, value)}))

    error = assert_error(response, 400, "invalid")
    assert [e["code"] for e in error["fields"][name]] == [code]


@pytest.mark.parametrize(
    ("start", "end", "zone"),
    [
        # Their calendar days, and the day after, fall outside years 1 to 9999 in some zone:
        # 500 (OverflowError) before.
        ("9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z", "UTC"),
        ("9999-12-31T00:00:00Z", "9999-12-31T23:59:59Z", "Pacific/Kiritimati"),
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z", "America/New_York"),
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z", "UTC"),
    ],
)
@pytest.mark.parametrize("group_by", ["", "day"])
def test_stats_range_at_the_ends_of_the_calendar_is_refused(
    client_live: APIClient, start: str, end: str, zone: str, group_by: str
) -> None:
    params = {"start_time": start, "end_time": end, "timezone": zone, "group_by": group_by}
    if not group_by:
        del params["group_by"]

    error = assert_error(client_live.get("/v1/events/stats", params), 400, "invalid")
    assert {e["code"] for errors in error["fields"].values() for e in errors} == {"invalid"}


DIRECTORY_REFUSALS = [
    ("country_code", "\x00", "null_characters_not_allowed"),
    ("country_code", "G\x00", "null_characters_not_allowed"),
    ("topic", "\x00", "null_characters_not_allowed"),
    ("topic", "suicidal-thoughts\x00", "null_characters_not_allowed"),
    ("limit", "\x00", "invalid"),
    ("limit", "9" * 5000, "invalid"),
    ("priority_only", "true\x00", "invalid"),
]


@pytest.mark.parametrize(("name", "value", "code"), DIRECTORY_REFUSALS)
def test_directory_query_parameter_refused(
    client_live: APIClient, name: str, value: str, code: str
) -> None:
    error = assert_error(client_live.get("/v1/helplines", {name: value}), 400, "invalid")
    assert [e["code"] for e in error["fields"][name]] == [code]


@pytest.mark.parametrize(
    "helpline_id", ["%00", "a%00b", HELPLINE_ID + "%00", "%ED%A0%80", "x" * 5000]
)
def test_a_helpline_id_no_helpline_can_have_is_404(
    client_live: APIClient, helpline_id: str
) -> None:
    # A NUL reached the lookup: 500 on PostgreSQL.
    response = client_live.get(f"/v1/helplines/{helpline_id}")

    assert assert_error(response, 404, "not_found") == {
        "code": "not_found",
        "message": "Not found.",
    }


@pytest.mark.parametrize("url", ["/v1/topics", "/v1/countries"])
def test_parameterless_directory_endpoints_ignore_hostile_parameters(
    client_live: APIClient, url: str
) -> None:
    response = client_live.get(url, {"x\x00": "\x00", "limit": "\x00"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "url", ["/v1/events", "/v1/events/stats", "/v1/helplines", "/v1/helplines/" + HELPLINE_ID]
)
def test_more_query_parameters_than_django_reads_is_400(client_live: APIClient, url: str) -> None:
    # Django's TooManyFieldsSent (a SuspiciousOperation) reached the middleware as a 500.
    query = "&".join(f"p{n}=1" for n in range(1001))

    error = assert_error(client_live.get(f"{url}?{query}"), 400, "parse_error")
    assert error["message"] == "More than 1000 query parameters."


def test_the_single_and_batch_endpoints_share_one_refusal(
    client_live: APIClient, now: datetime
) -> None:
    # One rule, one answer: the same hostile value gets the same field error either way.
    fields = {**event_fields(HELPLINE_ID, now, "display"), "helpline_id": "a\x00b"}
    single = assert_error(post_raw(client_live, "display", encode(fields)), 400, "invalid")
    batch = post_raw(
        client_live, "batch", encode({"events": [{**fields, "type": "helpline_display"}]})
    ).json()["results"][0]["error"]

    assert single == batch
    assert Event.objects.count() == 0
