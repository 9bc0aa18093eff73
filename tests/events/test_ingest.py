"""POST /v1/events/helpline_display and helpline_click: the contract of docs/product.md §3.1."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings
from rest_framework.test import APIClient

from events.models import ContactMethod, Event, EventType
from helplines.models import Helpline, Partner
from tests.api.bodies import iso, post_json
from tests.conftest import IssuedKey

DISPLAY_URL = "/v1/events/helpline_display"
CLICK_URL = "/v1/events/helpline_click"


@pytest.fixture
def display(helpline: Helpline, now: datetime) -> dict[str, str]:
    return {"helpline_id": helpline.public_id, "session_id": "sess_4f9a1c", "timestamp": iso(now)}


@pytest.fixture
def click(display: dict[str, str]) -> dict[str, str]:
    return {**display, "contact_method": "phone"}


def test_display_is_stored_and_returned_with_its_id(
    client_live: APIClient,
    display: dict[str, str],
    live_key: IssuedKey,
    partner: Partner,
    helpline: Helpline,
) -> None:
    response = post_json(client_live, DISPLAY_URL, display)

    assert response.status_code == 201
    event = Event.objects.get()
    body = response.json()
    assert body == {
        "id": event.pk,
        "type": "helpline_display",
        "helpline_id": helpline.public_id,
        "session_id": "sess_4f9a1c",
        "timestamp": display["timestamp"],
        "contact_method": None,
        "received_at": body["received_at"],
    }
    assert event.type == EventType.DISPLAY
    assert event.partner == partner
    assert event.api_key_id == live_key.key.prefix
    assert event.helpline == helpline
    assert event.session_id == "sess_4f9a1c"
    assert iso(event.timestamp) == display["timestamp"]
    assert event.contact_method == ""
    assert event.is_test is False
    assert iso(event.received_at) == body["received_at"]


@pytest.mark.parametrize("method", ContactMethod.values)
def test_click_is_stored_with_every_contact_method(
    client_live: APIClient, click: dict[str, str], method: str
) -> None:
    response = post_json(client_live, CLICK_URL, {**click, "contact_method": method})

    assert response.status_code == 201
    assert response.json()["contact_method"] == method
    assert response.json()["type"] == "helpline_click"
    assert list(Event.objects.values_list("type", "contact_method")) == [("helpline_click", method)]


def test_identical_display_repeated_is_200_with_the_stored_event_and_one_row(
    client_live: APIClient, display: dict[str, str]
) -> None:
    first = post_json(client_live, DISPLAY_URL, display)
    again = post_json(client_live, DISPLAY_URL, display)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Event.objects.count() == 1


def test_identical_click_repeated_is_idempotent_but_another_method_is_a_new_event(
    client_live: APIClient, click: dict[str, str]
) -> None:
    first = post_json(client_live, CLICK_URL, click)
    again = post_json(client_live, CLICK_URL, click)
    sms = post_json(client_live, CLICK_URL, {**click, "contact_method": "sms"})

    assert (first.status_code, again.status_code, sms.status_code) == (201, 200, 201)
    assert again.json()["id"] == first.json()["id"] != sms.json()["id"]
    assert Event.objects.count() == 2


def test_same_timestamp_written_differently_is_the_same_event(
    client_live: APIClient, display: dict[str, str], now: datetime
) -> None:
    moment = now.replace(microsecond=0)
    first = post_json(client_live, DISPLAY_URL, {**display, "timestamp": iso(moment)})
    offset = moment.astimezone(timezone.get_fixed_timezone(120)).isoformat()
    again = post_json(client_live, DISPLAY_URL, {**display, "timestamp": offset})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["timestamp"] == iso(moment)
    assert Event.objects.count() == 1


def test_same_event_from_another_partner_is_stored_for_each(
    client_live: APIClient,
    api_client: Callable[[str], APIClient],
    other_partner: Partner,
    display: dict[str, str],
) -> None:
    from helplines.services import issue_key

    _, other_raw = issue_key(partner=other_partner, name="prod")
    assert post_json(client_live, DISPLAY_URL, display).status_code == 201
    assert post_json(api_client(other_raw), DISPLAY_URL, display).status_code == 201
    assert Event.objects.filter(partner=other_partner).count() == 1


def test_test_key_events_are_stored_and_flagged(
    api_client: Callable[[str], APIClient], test_key: IssuedKey, display: dict[str, str]
) -> None:
    response = post_json(api_client(test_key.secret), DISPLAY_URL, display)

    assert response.status_code == 201
    assert Event.objects.get().is_test is True


def test_inactive_helpline_still_accepts_late_events(
    client_live: APIClient, display: dict[str, str], inactive_helpline: Helpline
) -> None:
    response = post_json(client_live, DISPLAY_URL, {**display, "helpline_id": "retired-line-01"})

    assert response.status_code == 201
    assert Event.objects.get().helpline == inactive_helpline


def assert_refused(response: Any, field: str, code: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert [error["code"] for error in body["error"]["fields"][field]] == [code], body
    assert Event.objects.count() == 0


def test_unknown_helpline_is_refused(client_live: APIClient, display: dict[str, str]) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "helpline_id": "no-such-line"}),
        "helpline_id",
        "unknown_helpline",
    )


@pytest.mark.parametrize("stamp", ["2026-11-22T10:00:00", "2026-11-22 10:00:00", "2026-11-22"])
def test_naive_timestamp_is_refused(
    client_live: APIClient, display: dict[str, str], stamp: str
) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "timestamp": stamp}),
        "timestamp",
        "timezone_required",
    )


@pytest.mark.parametrize("stamp", ["yesterday", "", "2026-13-01T00:00:00Z", "1732240000"])
def test_unparseable_timestamp_is_refused(
    client_live: APIClient, display: dict[str, str], stamp: str
) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "timestamp": stamp}), "timestamp", "invalid"
    )


def test_timestamp_more_than_five_minutes_ahead_is_refused(
    client_live: APIClient, display: dict[str, str], now: datetime
) -> None:
    assert_refused(
        post_json(
            client_live, DISPLAY_URL, {**display, "timestamp": iso(now + timedelta(minutes=6))}
        ),
        "timestamp",
        "in_future",
    )


def test_timestamp_slightly_ahead_is_accepted_as_clock_skew(
    client_live: APIClient, display: dict[str, str], now: datetime
) -> None:
    response = post_json(
        client_live, DISPLAY_URL, {**display, "timestamp": iso(now + timedelta(minutes=4))}
    )
    assert response.status_code == 201


def test_timestamp_older_than_the_late_arrival_window_is_refused(
    client_live: APIClient, display: dict[str, str], now: datetime
) -> None:
    assert_refused(
        post_json(
            client_live,
            DISPLAY_URL,
            {**display, "timestamp": iso(now - timedelta(days=7, minutes=1))},
        ),
        "timestamp",
        "too_old",
    )


def test_late_event_within_the_window_is_accepted(
    client_live: APIClient, display: dict[str, str], now: datetime
) -> None:
    response = post_json(
        client_live, DISPLAY_URL, {**display, "timestamp": iso(now - timedelta(days=6, hours=23))}
    )
    assert response.status_code == 201


def test_late_arrival_window_is_a_setting(
    client_live: APIClient, display: dict[str, str], now: datetime, settings: Settings
) -> None:
    settings.EVENTS_LATE_ARRIVAL_DAYS = 1
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "timestamp": iso(now - timedelta(days=2))}),
        "timestamp",
        "too_old",
    )


@pytest.mark.parametrize(
    "session_id",
    [
        "jane.doe@example.com",
        "+44 20 7946 0958",
        "07700900123",
        "(555) 123-4567",
        "192.168.1.20",
        "2001:db8::8a2e:370:7334",
        "4111 1111 1111 1111",
        "4111111111111111",
        "5500-0000-0000-0004",
    ],
)
def test_session_id_that_looks_like_personal_data_is_refused(
    client_live: APIClient, display: dict[str, str], session_id: str
) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "session_id": session_id}),
        "session_id",
        "looks_like_pii",
    )


@pytest.mark.parametrize(
    ("session_id", "code"),
    [
        ("", "blank"),
        ("x" * 129, "max_length"),
        ("has space", "invalid_characters"),
        ("emoji-🙂", "invalid_characters"),
        ("slash/path", "invalid_characters"),
        (" leading", "invalid_characters"),
    ],
)
def test_session_id_character_rules(
    client_live: APIClient, display: dict[str, str], session_id: str, code: str
) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "session_id": session_id}),
        "session_id",
        code,
    )


def test_session_id_of_128_allowed_characters_is_accepted(
    client_live: APIClient, display: dict[str, str]
) -> None:
    session_id = ("Ab9._:-" * 19)[:128]
    response = post_json(client_live, DISPLAY_URL, {**display, "session_id": session_id})
    assert response.status_code == 201
    assert Event.objects.get().session_id == session_id


@pytest.mark.parametrize("field", ["helpline_id", "session_id", "timestamp"])
def test_each_field_is_required(
    client_live: APIClient, display: dict[str, str], field: str
) -> None:
    body = {name: value for name, value in display.items() if name != field}
    assert_refused(post_json(client_live, DISPLAY_URL, body), field, "required")


def test_click_without_contact_method_is_refused(
    client_live: APIClient, display: dict[str, str]
) -> None:
    assert_refused(post_json(client_live, CLICK_URL, display), "contact_method", "required")


def test_click_with_unknown_contact_method_is_refused(
    client_live: APIClient, click: dict[str, str]
) -> None:
    assert_refused(
        post_json(client_live, CLICK_URL, {**click, "contact_method": "online chat"}),
        "contact_method",
        "invalid_choice",
    )


@pytest.mark.parametrize("value", [None, "phone", ""])
def test_display_with_contact_method_is_refused(
    client_live: APIClient, display: dict[str, str], value: str | None
) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "contact_method": value}),
        "contact_method",
        "unknown_field",
    )


@pytest.mark.parametrize("extra", ["email", "ip_address", "user_agent", "partner", "id"])
def test_unknown_fields_are_refused(
    client_live: APIClient, click: dict[str, str], extra: str
) -> None:
    assert_refused(post_json(client_live, CLICK_URL, {**click, extra: "x"}), extra, "unknown_field")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("helpline_id", 0),
        ("session_id", 0),
        ("session_id", 12345678),
        ("timestamp", 1732240000),
        ("session_id", ["a"]),
        ("helpline_id", {"id": 1}),
        ("session_id", True),
    ],
)
def test_a_non_string_is_refused_as_wrong_type(
    client_live: APIClient, click: dict[str, str], field: str, value: object
) -> None:
    assert_refused(post_json(client_live, CLICK_URL, {**click, field: value}), field, "wrong_type")


def test_null_field_is_refused(client_live: APIClient, click: dict[str, str]) -> None:
    assert_refused(
        post_json(client_live, CLICK_URL, {**click, "session_id": None}), "session_id", "null"
    )


def test_every_error_is_reported_at_once(client_live: APIClient, click: dict[str, str]) -> None:
    response = post_json(
        client_live,
        CLICK_URL,
        {
            "helpline_id": "nope",
            "session_id": "a@b.co",
            "timestamp": "x",
            "contact_method": "fax",
            "ua": "y",
        },
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {name: [e["code"] for e in errors] for name, errors in fields.items()} == {
        "helpline_id": ["unknown_helpline"],
        "session_id": ["looks_like_pii"],
        "timestamp": ["invalid"],
        "contact_method": ["invalid_choice"],
        "ua": ["unknown_field"],
    }


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_body_that_is_not_an_object_is_refused(client_live: APIClient, body: str) -> None:
    response = client_live.post(DISPLAY_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_empty_body_reports_every_required_field(client_live: APIClient) -> None:
    response = client_live.post(DISPLAY_URL, "", content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"helpline_id", "session_id", "timestamp"}


def test_broken_json_is_400_in_the_error_shape(client_live: APIClient) -> None:
    response = client_live.post(DISPLAY_URL, '{"helpline_id": ', content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize("literal", ["NaN", "Infinity"])
def test_non_standard_json_constants_are_refused(client_live: APIClient, literal: str) -> None:
    response = client_live.post(DISPLAY_URL, f'{{"x": {literal}}}', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_other_content_types_are_415(
    client_live: APIClient, display: dict[str, str], content_type: str
) -> None:
    response = client_live.post(DISPLAY_URL, json.dumps(display), content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert Event.objects.count() == 0


def test_multipart_is_415(client_live: APIClient, display: dict[str, str]) -> None:
    response = client_live.post(DISPLAY_URL, display)  # the test client's default: multipart
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_body_over_16_kib_is_413(client_live: APIClient, display: dict[str, str]) -> None:
    body = json.dumps({**display, "padding": "x" * (16 * 1024)})
    response = client_live.post(DISPLAY_URL, body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert Event.objects.count() == 0


def test_body_just_under_the_limit_is_parsed(
    client_live: APIClient, display: dict[str, str]
) -> None:
    # Whitespace keeps the JSON valid: the limit counts bytes, not fields.
    raw = json.dumps(display)
    body = raw[:-1] + " " * (16 * 1024 - len(raw)) + "}"
    assert len(body.encode()) == 16 * 1024
    response = client_live.post(DISPLAY_URL, body, content_type="application/json")
    assert response.status_code == 201


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405_json(client_live: APIClient, method: str) -> None:
    response = getattr(client_live, method)(DISPLAY_URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "POST, OPTIONS"


def test_unknown_api_path_is_404_json(client_live: APIClient) -> None:
    response = client_live.get("/v1/events/helpline_view")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No API endpoint at this path. See /v1/docs/."}
    }


def test_trailing_slash_path_is_404_json_not_a_redirect(
    client_live: APIClient, display: dict[str, str]
) -> None:
    response = post_json(client_live, DISPLAY_URL + "/", display)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_large_valid_helpline_id_unknown_is_refused(
    client_live: APIClient, display: dict[str, str]
) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "helpline_id": "x" * 5000}),
        "helpline_id",
        "unknown_helpline",
    )


def test_single_display_runs_a_fixed_number_of_queries(
    client_live: APIClient,
    display: dict[str, str],
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    # key + partner lookup, helpline lookup, INSERT ... RETURNING.
    with django_assert_num_queries(3):
        response = post_json(client_live, DISPLAY_URL, display)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        (DISPLAY_URL, {"helpline_id", "session_id", "timestamp"}),
        (CLICK_URL, {"helpline_id", "session_id", "timestamp", "contact_method"}),
        ("/v1/events/batch", {"events"}),
    ],
)
def test_options_describes_the_accepted_fields(
    client_live: APIClient, url: str, fields: set[str]
) -> None:
    response = client_live.options(url)

    assert response.status_code == 200
    assert set(response.json()["actions"]["POST"]) == fields


def test_timestamp_that_overflows_in_utc_is_refused(
    client_live: APIClient, display: dict[str, str]
) -> None:
    assert_refused(
        post_json(client_live, DISPLAY_URL, {**display, "timestamp": "0001-01-01T00:00:00+05:00"}),
        "timestamp",
        "invalid",
    )


def test_warm_display_costs_one_insert(
    client_live: APIClient,
    display: dict[str, str],
    now: datetime,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    post_json(client_live, DISPLAY_URL, display)  # key and helpline now known to this process
    with django_assert_num_queries(1):
        response = post_json(client_live, DISPLAY_URL, {**display, "session_id": "sess_other"})
    assert response.status_code == 201


def test_helpline_added_after_a_refusal_is_accepted(
    client_live: APIClient, display: dict[str, str]
) -> None:
    unknown = {**display, "helpline_id": "brand-new-line"}
    assert post_json(client_live, DISPLAY_URL, unknown).status_code == 400
    Helpline.objects.create(public_id="brand-new-line", name="New", country_code="IE")

    assert post_json(client_live, DISPLAY_URL, unknown).status_code == 201
