"""GET /v1/events/stats: a partner's own figures, as billed (docs/product.md §3.2, §4)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from events.services import record_events
from helplines.models import Helpline, Partner
from helplines.services import issue_key
from tests.conftest import IssuedKey, new_event

DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def second_line(db: None) -> Helpline:
    return Helpline.objects.create(public_id="us-line", name="US Line", country_code="US")


@pytest.fixture
def traffic(
    partner: Partner,
    live_key: IssuedKey,
    test_key: IssuedKey,
    other_partner: Partner,
    helpline: Helpline,
    second_line: Helpline,
    rolled_up: Callable[[], None],
) -> None:
    """Day 1: s1 sees both lines and calls the first; s2 sees the first only; s3 clicks the
    second line without a display of it. Day 2: s1 again, shown and texting. Plus test and
    other-partner traffic that must never show."""
    day2 = DAY + timedelta(days=1)
    record_events(
        partner=partner,
        api_key=live_key.key,
        events=[
            new_event(helpline, "s1", DAY + timedelta(hours=9)),
            new_event(second_line, "s1", DAY + timedelta(hours=9)),
            new_event(helpline, "s1", DAY + timedelta(hours=9, minutes=1), "phone"),
            new_event(helpline, "s2", DAY + timedelta(hours=10)),
            new_event(helpline, "s3", DAY + timedelta(hours=11)),
            new_event(second_line, "s3", DAY + timedelta(hours=11, minutes=1), "website"),
            new_event(helpline, "s1", day2 + timedelta(hours=8)),
            new_event(helpline, "s1", day2 + timedelta(hours=8, minutes=2), "sms"),
        ],
    )
    record_events(
        partner=partner,
        api_key=test_key.key,
        events=[new_event(helpline, "t1", DAY + timedelta(hours=1)) for _ in range(1)]
        + [new_event(helpline, "t1", DAY + timedelta(hours=1, minutes=1), "phone")],
    )
    other_key, _ = issue_key(partner=other_partner, name="prod")
    record_events(
        partner=other_partner,
        api_key=other_key,
        events=[new_event(helpline, "s1", DAY + timedelta(hours=9))],
    )
    rolled_up()


def stats(client: APIClient, **params: str) -> Any:
    params.setdefault("start_time", "2026-11-20T00:00:00Z")
    params.setdefault("end_time", "2026-11-23T00:00:00Z")
    return client.get("/v1/events/stats", params)


def figures(
    displays: int, clicks: int, reached: int, converted: int
) -> dict[str, int | float | None]:
    return {
        "displays": displays,
        "clicks": clicks,
        "ctr": round(clicks / displays, 4) if displays else None,
        "sessions_reached": reached,
        "sessions_converted": converted,
        "conversion_rate": round(converted / reached, 4) if reached else None,
    }


def test_totals_count_only_the_partners_live_events(client_live: APIClient, traffic: None) -> None:
    response = stats(client_live)

    assert response.status_code == 200
    body = response.json()
    # Displays 5, clicks 3. Sessions per day: day 1 s1, s2, s3 reached, s1 converted (s3's
    # click was on a line it was not shown); day 2 s1 reached and converted.
    assert body["totals"] == figures(5, 3, 4, 2)
    assert body["timezone"] == "UTC"
    assert body["group_by"] is None
    assert body["rows"] == []


def test_grouped_by_day_lists_every_day_of_the_range(client_live: APIClient, traffic: None) -> None:
    body = stats(client_live, group_by="day").json()

    assert body["rows"] == [
        {"day": "2026-11-20", **figures(4, 2, 3, 1)},
        {"day": "2026-11-21", **figures(1, 1, 1, 1)},
        {"day": "2026-11-22", **figures(0, 0, 0, 0)},
    ]


def test_grouped_by_helpline(client_live: APIClient, traffic: None, helpline: Helpline) -> None:
    rows = {
        row["helpline_id"]: row for row in stats(client_live, group_by="helpline").json()["rows"]
    }

    assert rows[helpline.public_id] == {
        "helpline_id": helpline.public_id,
        "helpline_name": helpline.name,
        **figures(4, 2, 4, 2),
    }
    assert rows["us-line"] == {
        "helpline_id": "us-line",
        "helpline_name": "US Line",
        **figures(1, 1, 1, 0),
    }


def test_grouped_by_country(client_live: APIClient, traffic: None) -> None:
    rows = stats(client_live, group_by="country").json()["rows"]
    assert {row["country_code"]: row["displays"] for row in rows} == {"GB": 4, "US": 1}


def test_grouped_by_contact_method_carries_clicks(client_live: APIClient, traffic: None) -> None:
    rows = stats(client_live, group_by="contact_method").json()["rows"]
    clicks = {row["contact_method"]: row["clicks"] for row in rows if row["clicks"]}
    assert clicks == {"phone": 1, "website": 1, "sms": 1}
    assert all(row["displays"] is None and row["ctr"] is None for row in rows)


def test_test_key_reads_only_test_traffic(
    api_client: Callable[[str], APIClient], test_key: IssuedKey, traffic: None
) -> None:
    body = stats(api_client(test_key.secret)).json()
    assert body["totals"] == figures(1, 1, 1, 1)


def test_days_follow_the_time_zone_asked_for(client_live: APIClient, traffic: None) -> None:
    # In Auckland (UTC+13) day 1's events at 09:00-11:01 UTC fall on the 20th 22:00 to
    # the 21st 00:01 local: s3's click lands on the 21st.
    body = stats(
        client_live,
        group_by="day",
        timezone="Pacific/Auckland",
        start_time="2026-11-20T00:00:00+13:00",
        end_time="2026-11-23T00:00:00+13:00",
    ).json()

    assert body["timezone"] == "Pacific/Auckland"
    assert [(row["day"], row["displays"], row["clicks"]) for row in body["rows"]] == [
        ("2026-11-20", 3, 1),
        ("2026-11-21", 2, 2),
        ("2026-11-22", 0, 0),
    ]


def test_default_time_zone_is_the_partners_billing_zone(
    client_live: APIClient, traffic: None, partner: Partner
) -> None:
    partner.billing_timezone = "America/New_York"
    partner.save()
    assert stats(client_live).json()["timezone"] == "America/New_York"


def test_empty_range_has_empty_ratios(client_live: APIClient, traffic: None) -> None:
    body = stats(
        client_live, start_time="2025-01-01T00:00:00Z", end_time="2025-01-02T00:00:00Z"
    ).json()
    assert body["totals"] == figures(0, 0, 0, 0)


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"group_by": "week"}, "group_by", "invalid_choice"),
        ({"timezone": "Mars/Olympus"}, "timezone", "invalid_timezone"),
        ({"start_time": "2026-11-20T00:00:00"}, "start_time", "timezone_required"),
        ({"end_time": "2026-11-19T00:00:00Z"}, "end_time", "invalid"),
        ({"end_time": "2028-01-01T00:00:00Z"}, "end_time", "range_too_long"),
    ],
)
def test_bad_parameters_are_400(
    client_live: APIClient, params: dict[str, str], field: str, code: str
) -> None:
    response = stats(client_live, **params)
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["error"]["fields"][field]] == [code]


def test_missing_range_is_400(client_live: APIClient) -> None:
    response = client_live.get("/v1/events/stats")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"start_time", "end_time"}
