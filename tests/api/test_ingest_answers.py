"""The exact words of every field rule, and the ingest answer's body, as partners read them.

The rules are hand-written (events/incoming.py) where DRF serializers used to apply them;
these cases pin each message and code, including DRF's own (`required`, `null`, `blank`,
`invalid_choice`, NUL and surrogate characters), so that a partner's error handling keeps
working whatever the rules are written with.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.exceptions import ValidationError

from api.errors import validation_error_body
from events.incoming import accepted_window, validate_event
from events.models import EventType
from events.serializers import EventSerializer, stored_event_body
from events.services import NewEvent, StoredEvent

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
HELPLINES = {"hl-1": 7}
VALID = {"helpline_id": "hl-1", "session_id": "sess_4f9a1c", "timestamp": "2026-11-22T13:59:00Z"}
REQUIRED = [{"code": "required", "message": "This field is required."}]
NULL = [{"code": "null", "message": "This field may not be null."}]
BLANK = [{"code": "blank", "message": "This field may not be blank."}]
WRONG_TYPE = [{"code": "wrong_type", "message": "Must be a string."}]


def fields_of(data: Any, event_type: str = EventType.DISPLAY) -> dict[str, Any]:
    """The `fields` of the 400 answer `data` gets."""
    with pytest.raises(ValidationError) as refused:
        validate_event(data, event_type, helplines=HELPLINES, window=accepted_window(NOW))
    body = validation_error_body(refused.value.detail)
    assert body["error"]["code"] == "invalid"
    assert body["error"]["message"] == "The request is invalid; see fields."
    fields: dict[str, Any] = body["error"]["fields"]
    return fields


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"helpline_id": None}, {"helpline_id": NULL}),
        ({"helpline_id": ""}, {"helpline_id": BLANK}),
        ({"helpline_id": 7}, {"helpline_id": WRONG_TYPE}),
        (
            {"helpline_id": "nope"},
            {
                "helpline_id": [
                    {
                        "code": "unknown_helpline",
                        "message": "No helpline in the directory has this id.",
                    }
                ]
            },
        ),
        (
            {"helpline_id": "a\x00\ud800"},
            {
                "helpline_id": [
                    {
                        "code": "null_characters_not_allowed",
                        "message": "Null characters are not allowed.",
                    },
                    {
                        "code": "surrogate_characters_not_allowed",
                        "message": "Surrogate characters are not allowed: U+D800.",
                    },
                ]
            },
        ),
        ({"session_id": ""}, {"session_id": BLANK}),
        ({"session_id": ["s"]}, {"session_id": WRONG_TYPE}),
        (
            {"session_id": "jane@example.com"},
            {
                "session_id": [
                    {
                        "code": "looks_like_pii",
                        "message": "Looks like an email address: send an opaque id such as "
                        "a UUID or a hash, never personal data.",
                    }
                ]
            },
        ),
        (
            {"session_id": "s" * 129},
            {"session_id": [{"code": "max_length", "message": "At most 128 characters."}]},
        ),
        (
            {"session_id": "sess 1"},
            {
                "session_id": [
                    {
                        "code": "invalid_characters",
                        "message": "Only letters, digits and . _ : - are allowed.",
                    }
                ]
            },
        ),
        (
            {"timestamp": 1700000000},
            {"timestamp": [{"code": "wrong_type", "message": "Must be an ISO 8601 string."}]},
        ),
        (
            {"timestamp": "2026-11-22T13:59:00"},
            {
                "timestamp": [
                    {
                        "code": "timezone_required",
                        "message": "Must include a UTC offset, e.g. Z or +01:00.",
                    }
                ]
            },
        ),
        (
            {"timestamp": "2026-02-30T10:00:00Z"},
            {
                "timestamp": [
                    {
                        "code": "invalid",
                        "message": "Must be an ISO 8601 timestamp, e.g. 2026-11-22T14:05:00Z.",
                    }
                ]
            },
        ),
        (
            {"timestamp": "2026-11-22T14:05:01Z"},
            {
                "timestamp": [
                    {
                        "code": "in_future",
                        "message": "More than 5 minutes in the future: check the client's clock.",
                    }
                ]
            },
        ),
        (
            {"timestamp": "2026-11-15T13:59:59Z"},
            {
                "timestamp": [
                    {
                        "code": "too_old",
                        "message": "Older than the late-arrival window of 7 days.",
                    }
                ]
            },
        ),
        (
            {"contact_method": "phone"},
            {
                "contact_method": [
                    {
                        "code": "unknown_field",
                        "message": "contact_method is only accepted on helpline_click events.",
                    }
                ]
            },
        ),
    ],
)
def test_each_display_rule_answers_its_own_words(
    changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert fields_of({**VALID, **changes}) == expected


def test_click_contact_method_rules_are_drf_choice_words() -> None:
    click = {**VALID, "contact_method": "phone"}
    assert fields_of({**click, "contact_method": "fax"}, EventType.CLICK) == {
        "contact_method": [{"code": "invalid_choice", "message": '"fax" is not a valid choice.'}]
    }
    assert fields_of({**click, "contact_method": [1]}, EventType.CLICK) == {
        "contact_method": [{"code": "invalid_choice", "message": '"[1]" is not a valid choice.'}]
    }
    assert fields_of({**click, "contact_method": None}, EventType.CLICK) == {"contact_method": NULL}
    del click["contact_method"]
    assert fields_of(click, EventType.CLICK) == {"contact_method": REQUIRED}


def test_every_field_at_fault_is_named_in_field_order_then_unknown_fields() -> None:
    data = {"email": "x", "timestamp": None, "session_id": 5, "helpline_id": "", "a": 1}
    unknown = [{"code": "unknown_field", "message": "Unknown field: it is not part of this event."}]
    fields = fields_of(data)
    assert fields == {
        "helpline_id": BLANK,
        "session_id": WRONG_TYPE,
        "timestamp": NULL,
        "email": unknown,
        "a": unknown,
    }
    assert list(fields) == ["helpline_id", "session_id", "timestamp", "email", "a"]


def test_at_most_ten_unknown_fields_are_named() -> None:
    data = {**VALID, **{f"extra_{n:04d}": n for n in range(5000)}}
    assert list(fields_of(data)) == [f"extra_{n:04d}" for n in range(10)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, {"non_field_errors": [{"code": "null", "message": "No data provided"}]}),
        (
            ["x"],
            {
                "non_field_errors": [
                    {
                        "code": "invalid",
                        "message": "Invalid data. Expected a dictionary, but got list.",
                    }
                ]
            },
        ),
        ({}, {"helpline_id": REQUIRED, "session_id": REQUIRED, "timestamp": REQUIRED}),
    ],
)
def test_a_body_that_is_not_an_event(data: Any, expected: dict[str, Any]) -> None:
    assert fields_of(data) == expected


def test_a_valid_event_is_returned_in_utc_with_its_helpline() -> None:
    event = validate_event(
        {**VALID, "timestamp": "2026-11-22T19:29:00.250+05:30", "contact_method": "sms"},
        EventType.CLICK,
        helplines=HELPLINES,
        window=accepted_window(NOW),
    )
    assert event == NewEvent(
        type=EventType.CLICK,
        helpline_pk=7,
        helpline_id="hl-1",
        session_id="sess_4f9a1c",
        timestamp=datetime(2026, 11, 22, 13, 59, 0, 250000, tzinfo=UTC),
        contact_method="sms",
    )


@pytest.mark.parametrize("microseconds", [0, 1, 250000])
@pytest.mark.parametrize("method", [None, "phone"])
def test_the_answer_body_is_the_documented_event_serializer(
    microseconds: int, method: str | None
) -> None:
    stored = StoredEvent(
        id=55069,
        type=EventType.CLICK if method else EventType.DISPLAY,
        helpline_id="hl-1",
        session_id="sess_4f9a1c",
        timestamp=NOW - timedelta(minutes=1, microseconds=microseconds),
        contact_method=method,
        received_at=(NOW + timedelta(microseconds=microseconds)).astimezone(
            datetime.now().astimezone().tzinfo
        ),
        created=True,
    )
    assert stored_event_body(stored) == EventSerializer().to_representation(stored)
    assert stored_event_body(stored)["received_at"].endswith("Z")
