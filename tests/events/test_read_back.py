"""GET /v1/events: a partner reads back its own events, a page at a time (docs/product.md §3.2)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from events.models import Event
from events.services import NewEvent, StoredEvent, record_events
from helplines.models import Helpline, Partner, PartnerAPIKey
from helplines.services import issue_key
from tests.api.bodies import iso
from tests.conftest import IssuedKey

START = datetime(2026, 11, 20, tzinfo=UTC)


def store(
    partner: Partner,
    api_key: PartnerAPIKey,
    helpline: Helpline,
    count: int,
    *,
    start: datetime = START,
    type_: str = "helpline_display",
    method: str = "",
) -> list[StoredEvent]:
    return record_events(
        partner=partner,
        api_key=api_key,
        events=[
            NewEvent(
                type=type_,
                helpline_pk=helpline.pk,
                helpline_id=helpline.public_id,
                session_id=f"sess_{n}",
                timestamp=start + timedelta(minutes=n),
                contact_method=method,
            )
            for n in range(count)
        ],
    )


def get(client: APIClient, **params: str) -> Any:
    params.setdefault("start_time", iso(START))
    params.setdefault("end_time", iso(START + timedelta(days=1)))
    return client.get("/v1/events", params)


def test_events_are_listed_oldest_first_with_every_field(
    client_live: APIClient, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    [display] = store(partner, live_key.key, helpline, 1)
    [click] = store(
        partner,
        live_key.key,
        helpline,
        1,
        start=START + timedelta(hours=1),
        type_="helpline_click",
        method="whatsapp",
    )

    response = get(client_live)

    assert response.status_code == 200
    assert response.json() == {
        "events": [
            {
                "id": display.id,
                "type": "helpline_display",
                "helpline_id": helpline.public_id,
                "session_id": "sess_0",
                "timestamp": "2026-11-20T00:00:00Z",
                "contact_method": None,
                "received_at": iso(display.received_at),
            },
            {
                "id": click.id,
                "type": "helpline_click",
                "helpline_id": helpline.public_id,
                "session_id": "sess_0",
                "timestamp": "2026-11-20T01:00:00Z",
                "contact_method": "whatsapp",
                "received_at": iso(click.received_at),
            },
        ],
        "next_page_token": None,
    }


def test_start_is_inclusive_and_end_exclusive(
    client_live: APIClient, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    store(partner, live_key.key, helpline, 10)  # 00:00 .. 00:09

    response = get(
        client_live,
        start_time=iso(START + timedelta(minutes=2)),
        end_time=iso(START + timedelta(minutes=5)),
    )

    assert [e["session_id"] for e in response.json()["events"]] == ["sess_2", "sess_3", "sess_4"]


def test_pages_walk_every_event_once(
    client_live: APIClient, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    store(partner, live_key.key, helpline, 25)
    seen, token, pages = [], None, 0
    while True:
        params = {"page_size": "10"} | ({"page_token": token} if token else {})
        body = get(client_live, **params).json()
        seen += [event["id"] for event in body["events"]]
        pages += 1
        token = body["next_page_token"]
        if token is None:
            break

    assert pages == 3
    assert seen == list(Event.objects.order_by("timestamp", "id").values_list("id", flat=True))


def test_a_page_of_exactly_the_remaining_events_ends_the_walk(
    client_live: APIClient, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    store(partner, live_key.key, helpline, 10)
    body = get(client_live, page_size="10").json()
    assert len(body["events"]) == 10
    assert body["next_page_token"] is None


def test_page_size_defaults_to_100_and_is_coerced_to_1000(
    client_live: APIClient, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    store(partner, live_key.key, helpline, 1001)

    assert len(get(client_live).json()["events"]) == 100
    assert len(get(client_live, page_size="5000").json()["events"]) == 1000


@pytest.mark.parametrize("value", ["0", "-1", "ten", ""])
def test_bad_page_size_is_400(client_live: APIClient, value: str) -> None:
    response = get(client_live, page_size=value)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["page_size"][0]["code"] == "invalid"


def test_tampered_page_token_is_400(client_live: APIClient) -> None:
    response = get(client_live, page_token="not-a-token")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["page_token"][0]["code"] == "invalid"


@pytest.mark.parametrize("missing", ["start_time", "end_time"])
def test_time_range_is_required(client_live: APIClient, missing: str) -> None:
    params = {"start_time": iso(START), "end_time": iso(START + timedelta(days=1))}
    del params[missing]
    response = client_live.get("/v1/events", params)

    assert response.status_code == 400
    assert response.json()["error"]["fields"][missing][0]["code"] == "required"


def test_filters_narrow_the_list(
    client_live: APIClient,
    partner: Partner,
    live_key: IssuedKey,
    helpline: Helpline,
    inactive_helpline: Helpline,
) -> None:
    store(partner, live_key.key, helpline, 3)
    store(partner, live_key.key, helpline, 2, type_="helpline_click", method="sms")
    store(partner, live_key.key, inactive_helpline, 1, type_="helpline_click", method="phone")

    def ids(**params: str) -> int:
        return len(get(client_live, **params).json()["events"])

    assert ids(type="helpline_click") == 3
    assert ids(contact_method="sms") == 2
    assert ids(helpline_id="retired-line-01") == 1
    assert ids(session_id="sess_1") == 2
    assert ids(type="helpline_display", session_id="sess_0") == 1


def test_invalid_filter_value_is_400(client_live: APIClient) -> None:
    response = get(client_live, type="helpline_view")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["type"][0]["code"] == "invalid_choice"


def test_a_partner_never_sees_another_partners_events(
    client_live: APIClient,
    partner: Partner,
    other_partner: Partner,
    live_key: IssuedKey,
    helpline: Helpline,
) -> None:
    other_key, _ = issue_key(partner=other_partner, name="prod")
    store(other_partner, other_key, helpline, 5)

    assert get(client_live).json()["events"] == []


def test_live_and_test_keys_read_their_own_traffic(
    api_client: Callable[[str], APIClient],
    partner: Partner,
    live_key: IssuedKey,
    test_key: IssuedKey,
    helpline: Helpline,
) -> None:
    store(partner, live_key.key, helpline, 2)
    store(partner, test_key.key, helpline, 3, start=START + timedelta(hours=2))

    assert len(get(api_client(live_key.secret)).json()["events"]) == 2
    assert len(get(api_client(test_key.secret)).json()["events"]) == 3


def test_listing_runs_a_fixed_number_of_queries(
    client_live: APIClient,
    partner: Partner,
    live_key: IssuedKey,
    helpline: Helpline,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    store(partner, live_key.key, helpline, 50)
    with django_assert_num_queries(2):  # the key, then one page of events with helpline ids
        response = get(client_live, page_size="50")
    assert len(response.json()["events"]) == 50


@pytest.mark.parametrize(
    ("start_time", "status"),
    [
        ("2026-11-19T14:19:20-21:03", 200),  # an unusual but valid offset, converted to UTC
        ("0001-01-01T00:00:00+05:00", 400),  # before year 1 in UTC
        ("2026-11-20T00:00:00", 400),  # no offset
        ("tomorrow", 400),
    ],
)
def test_start_time_offsets(client_live: APIClient, start_time: str, status: int) -> None:
    response = get(client_live, start_time=start_time)
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["fields"]["start_time"][0]["code"] == "invalid"
