"""POST /v1/events/batch: each event validated alone, valid ones stored (docs/product.md §3.1)."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from events import services
from events.models import Event
from events.services import NewEvent, record_events
from helplines.models import Helpline
from tests.api.bodies import iso, post_json
from tests.conftest import IssuedKey, new_event

URL = "/v1/events/batch"


@pytest.fixture
def display(helpline: Helpline, now: datetime) -> dict[str, str]:
    return {
        "type": "helpline_display",
        "helpline_id": helpline.public_id,
        "session_id": "sess_batch",
        "timestamp": iso(now),
    }


def test_mixed_batch_reports_created_duplicate_and_rejected_in_order(
    client_live: APIClient, display: dict[str, str]
) -> None:
    stored = post_json(
        client_live,
        "/v1/events/helpline_display",
        {k: v for k, v in display.items() if k != "type"},
    ).json()
    click = {**display, "type": "helpline_click", "contact_method": "online_chat"}

    response = post_json(
        client_live,
        URL,
        {"events": [click, display, {**display, "session_id": "a@b.com"}]},
    )

    assert response.status_code == 200
    click_row = Event.objects.get(type="helpline_click")
    assert response.json() == {
        "results": [
            {"index": 0, "status": "created", "id": click_row.pk},
            {"index": 1, "status": "duplicate", "id": stored["id"]},
            {
                "index": 2,
                "status": "rejected",
                "error": {
                    "code": "invalid",
                    "message": "The request is invalid; see fields.",
                    "fields": {
                        "session_id": [
                            {
                                "code": "looks_like_pii",
                                "message": "Looks like an email address: send an opaque id "
                                "such as a UUID or a hash, never personal data.",
                            }
                        ]
                    },
                },
            },
        ],
        "created": 1,
        "duplicates": 1,
        "rejected": 1,
    }
    assert Event.objects.count() == 2


def test_identical_events_inside_one_batch_are_stored_once(
    client_live: APIClient, display: dict[str, str]
) -> None:
    response = post_json(client_live, URL, {"events": [display, display, display]})

    body = response.json()
    assert [result["status"] for result in body["results"]] == ["created", "duplicate", "duplicate"]
    assert len({result["id"] for result in body["results"]}) == 1
    assert (body["created"], body["duplicates"], body["rejected"]) == (1, 2, 0)
    assert Event.objects.count() == 1


def test_retrying_a_whole_batch_stores_nothing_twice(
    client_live: APIClient, display: dict[str, str], now: datetime
) -> None:
    events = [
        {**display, "session_id": f"sess_{n}", "timestamp": iso(now - timedelta(seconds=n))}
        for n in range(50)
    ]
    first = post_json(client_live, URL, {"events": events}).json()
    again = post_json(client_live, URL, {"events": events}).json()

    assert (first["created"], again["created"], again["duplicates"]) == (50, 0, 50)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert Event.objects.count() == 50


@pytest.mark.parametrize(
    ("item", "field", "code"),
    [
        ({"helpline_id": "x"}, "type", "required"),
        ({"type": "helpline_view"}, "type", "invalid_choice"),
        ("not an object", "non_field_errors", "invalid"),
    ],
)
def test_items_without_a_usable_type_are_rejected_alone(
    client_live: APIClient, display: dict[str, str], item: object, field: str, code: str
) -> None:
    response = post_json(client_live, URL, {"events": [item, display]})

    results = response.json()["results"]
    assert results[0]["status"] == "rejected"
    assert [e["code"] for e in results[0]["error"]["fields"][field]] == [code]
    assert results[1]["status"] == "created"
    assert Event.objects.count() == 1


def test_click_rules_apply_inside_a_batch(client_live: APIClient, display: dict[str, str]) -> None:
    click_without_method = {**display, "type": "helpline_click"}
    display_with_method = {**display, "contact_method": "sms"}

    results = post_json(
        client_live, URL, {"events": [click_without_method, display_with_method]}
    ).json()["results"]

    assert results[0]["error"]["fields"] == {
        "contact_method": [{"code": "required", "message": "This field is required."}]
    }
    assert [e["code"] for e in results[1]["error"]["fields"]["contact_method"]] == ["unknown_field"]
    assert Event.objects.count() == 0


def test_batch_of_all_rejected_is_still_200(
    client_live: APIClient, display: dict[str, str]
) -> None:
    response = post_json(client_live, URL, {"events": [{**display, "helpline_id": "nope"}]})
    assert response.status_code == 200
    assert response.json()["rejected"] == 1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"events": []}, "events", "empty"),
        ({}, "events", "required"),
        ({"events": {"type": "helpline_display"}}, "events", "not_a_list"),
        ({"events": [], "partner": "acme"}, "partner", "unknown_field"),
    ],
)
def test_malformed_batch_is_400(
    client_live: APIClient, body: dict[str, Any], field: str, code: str
) -> None:
    response = post_json(client_live, URL, body)

    assert response.status_code == 400
    assert [e["code"] for e in response.json()["error"]["fields"][field]] == [code]


def test_more_than_1000_events_is_400_and_nothing_stored(
    client_live: APIClient, display: dict[str, str]
) -> None:
    response = post_json(client_live, URL, {"events": [display] * 1001})

    assert response.status_code == 400
    assert [e["code"] for e in response.json()["error"]["fields"]["events"]] == ["max_length"]
    assert Event.objects.count() == 0


def test_1000_distinct_events_are_stored_in_a_fixed_number_of_queries(
    client_live: APIClient,
    display: dict[str, str],
    now: datetime,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    events = [
        {**display, "session_id": f"s{n}", "timestamp": iso(now - timedelta(milliseconds=n))}
        for n in range(1000)
    ]
    # key lookup, helpline lookup, one INSERT for all; on PostgreSQL the batch's ids from
    # the sequence, then one COPY of all in a savepoint (its SAVEPOINT and RELEASE): the
    # same count whatever the batch's size.
    with django_assert_num_queries(6 if connection.vendor == "postgresql" else 3):
        response = post_json(client_live, URL, {"events": events})

    assert response.json()["created"] == 1000
    assert Event.objects.count() == 1000


def test_batch_body_over_1_mib_is_413(client_live: APIClient, display: dict[str, str]) -> None:
    padding = "x" * (1024 * 1024)
    response = post_json(client_live, URL, {"events": [display], "pad": padding})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert Event.objects.count() == 0


def test_batch_body_over_16_kib_is_accepted(
    client_live: APIClient, display: dict[str, str], now: datetime
) -> None:
    events = [
        {**display, "session_id": f"sess_{n:04d}", "timestamp": iso(now - timedelta(seconds=n))}
        for n in range(200)
    ]
    body = json.dumps({"events": events})
    assert len(body) > 16 * 1024

    response = client_live.post(URL, body, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["created"] == 200


def test_test_key_batch_is_flagged(
    api_client: Callable[[str], APIClient], test_key: IssuedKey, display: dict[str, str]
) -> None:
    post_json(api_client(test_key.secret), URL, {"events": [display]})
    assert Event.objects.get().is_test is True


def _new_events(helpline: Helpline, now: datetime, sessions: list[str]) -> list[NewEvent]:
    """Displays of `sessions`, a second apart going back from `now`."""
    return [
        new_event(helpline, session, now - timedelta(seconds=n))
        for n, session in enumerate(sessions)
    ]


def test_each_id_answered_is_the_row_stored_for_that_event(
    live_key: IssuedKey, helpline: Helpline, now: datetime
) -> None:
    # On PostgreSQL the ids are taken from the sequence before the COPY: each must be the
    # row of its own event, whatever order the events came in.
    events = _new_events(helpline, now, ["zeta", "alpha", "Mu", "b-2", "b-10"])

    stored = record_events(partner=live_key.key.partner, api_key=live_key.key, events=events)

    assert [one.created for one in stored] == [True] * 5
    rows = dict(Event.objects.values_list("id", "session_id"))
    assert [rows[one.id] for one in stored] == ["zeta", "alpha", "Mu", "b-2", "b-10"]
    assert len(set(rows)) == 5


def test_a_new_event_beside_stored_ones_of_the_same_values_is_reported_created(
    live_key: IssuedKey, helpline: Helpline, now: datetime
) -> None:
    # Found by the aggregates' property test: the stored events are looked up by each
    # column's values, which also matched the click of 18:16 this batch had just inserted
    # (its type, session, time and method each belong to a stored event), and it was
    # answered as a duplicate though stored for the first time.
    at = now.replace(hour=18, minute=15, second=0, microsecond=0) - timedelta(days=1)
    click_1815 = new_event(helpline, "s1", at, "phone")
    display_1816 = new_event(helpline, "s1", at + timedelta(minutes=1))
    partner, key = live_key.key.partner, live_key.key
    record_events(partner=partner, api_key=key, events=[click_1815, display_1816])

    click_1816 = new_event(helpline, "s1", at + timedelta(minutes=1), "phone")
    stored = record_events(
        partner=partner, api_key=key, events=[click_1815, click_1816, display_1816, click_1816]
    )

    assert [one.created for one in stored] == [False, True, False, False]
    assert (
        stored[1].id
        == stored[3].id
        == Event.objects.get(type="helpline_click", timestamp=at + timedelta(minutes=1)).id
    )
    assert Event.objects.count() == 3


def test_a_batch_holding_a_stored_event_inside_a_transaction_keeps_what_came_before(
    live_key: IssuedKey, helpline: Helpline, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = live_key.key
    slower_way = []
    through_incoming = services._store_through_incoming

    def spy(*args: Any) -> Any:
        slower_way.append(args)
        return through_incoming(*args)

    monkeypatch.setattr(services, "_store_through_incoming", spy)
    [earlier] = record_events(
        partner=key.partner, api_key=key, events=_new_events(helpline, now, ["b"])
    )
    with transaction.atomic():
        written = Helpline.objects.create(public_id="written", name="W", country_code="GB")
        # "b" at the same second is already stored: the COPY of the batch fails on it, and
        # the batch is stored the slower way within the same transaction.
        stored = record_events(
            partner=key.partner,
            api_key=key,
            events=_new_events(helpline, now, ["b", "c"])[:1]
            + _new_events(helpline, now - timedelta(seconds=1), ["c", "d"]),
        )
        assert Helpline.objects.filter(pk=written.pk).exists()

    assert [(one.session_id, one.created) for one in stored] == [
        ("b", False),
        ("c", True),
        ("d", True),
    ]
    assert stored[0].id == earlier.id
    assert Helpline.objects.filter(pk=written.pk).exists()
    assert sorted(Event.objects.values_list("session_id", flat=True)) == ["b", "c", "d"]
    assert len(slower_way) == (1 if connection.vendor == "postgresql" else 0)
