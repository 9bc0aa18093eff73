"""The directory quota (docs/product.md §3.3): per partner, all keys together, rolling 24 h window
advanced hourly; and the event endpoints' separate per-key rate limit (docs/product.md §3.1)."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.http.response import HttpResponseBase
from pytest_django import Settings
from rest_framework.test import APIClient

from helplines.models import DirectoryCallBucket, Helpline, Partner
from helplines.selectors import directory_calls_in_window
from helplines.services import issue_key
from tests.conftest import IssuedKey

pytestmark = pytest.mark.django_db

# 10:15:30 UTC: the call lands in the 10:00 bucket, which leaves the window at 10:00 the
# next day, 23 h 44 min 30 s later.
MORNING = datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC)
UNTIL_MORNING_BUCKET_LEAVES = 23 * 3600 + 44 * 60 + 30


def quota_headers(response: HttpResponseBase) -> dict[str, str]:
    return {
        name: response[name]
        for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After")
        if name in response
    }


def with_quota(partner: Partner, quota: int) -> Partner:
    partner.daily_quota = quota
    partner.save(update_fields=["daily_quota"])
    return partner


def test_every_directory_answer_carries_the_quota_headers(
    client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    with_quota(partner, 5)
    with time_machine.travel(MORNING, tick=False):
        listing = client_live.get("/v1/helplines")
        one = client_live.get(f"/v1/helplines/{helpline.public_id}")
        topics = client_live.get("/v1/topics")
        countries = client_live.get("/v1/countries")

    reset = str(UNTIL_MORNING_BUCKET_LEAVES)
    assert [r.status_code for r in (listing, one, topics, countries)] == [200] * 4
    assert quota_headers(listing) == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "4",
        "RateLimit-Reset": reset,
    }
    assert quota_headers(one)["RateLimit-Remaining"] == "3"
    assert quota_headers(topics)["RateLimit-Remaining"] == "2"
    assert quota_headers(countries) == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "1",
        "RateLimit-Reset": reset,
    }


def test_spending_the_quota_ends_in_a_429_that_is_not_counted(
    client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    with_quota(partner, 3)
    with time_machine.travel(MORNING, tick=False):
        answers = [client_live.get("/v1/helplines") for _ in range(5)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert [r["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0", "0"]
    refused = answers[3]
    assert refused.json() == {
        "error": {
            "code": "quota_exceeded",
            "message": "The directory quota of this partner is used up for now. "
            f"Expected available in {UNTIL_MORNING_BUCKET_LEAVES} seconds.",
        }
    }
    assert quota_headers(refused) == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(UNTIL_MORNING_BUCKET_LEAVES),
        "Retry-After": str(UNTIL_MORNING_BUCKET_LEAVES),
    }
    # Refused calls are not counted.
    assert list(DirectoryCallBucket.objects.values_list("partner_id", "hour", "calls")) == [
        (partner.pk, datetime(2026, 11, 20, 10, tzinfo=UTC), 3)
    ]


def test_all_keys_of_a_partner_share_one_quota(
    api_client: Callable[[str], APIClient],
    partner: Partner,
    live_key: IssuedKey,
    test_key: IssuedKey,
) -> None:
    with_quota(partner, 2)

    assert api_client(live_key.secret).get("/v1/topics").status_code == 200
    assert api_client(test_key.secret).get("/v1/topics").status_code == 200
    assert api_client(live_key.secret).get("/v1/topics").status_code == 429
    assert api_client(test_key.secret).get("/v1/topics").status_code == 429


def test_another_partner_is_not_affected(
    api_client: Callable[[str], APIClient],
    client_live: APIClient,
    partner: Partner,
    other_partner: Partner,
) -> None:
    with_quota(partner, 0)
    with_quota(other_partner, 2)
    _, other_raw = issue_key(partner=other_partner, name="production")

    assert client_live.get("/v1/topics").status_code == 429
    response = api_client(other_raw).get("/v1/topics")

    assert response.status_code == 200
    assert response["RateLimit-Remaining"] == "1"


def test_a_zero_quota_refuses_for_a_whole_window(client_live: APIClient, partner: Partner) -> None:
    with_quota(partner, 0)

    response = client_live.get("/v1/countries")

    assert response.status_code == 429
    assert quota_headers(response) == {
        "RateLimit-Limit": "0",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "86400",
        "Retry-After": "86400",
    }
    assert not DirectoryCallBucket.objects.exists()


def test_a_partner_over_quota_still_reports_events(
    client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    with_quota(partner, 1)
    assert client_live.get("/v1/helplines").status_code == 200
    assert client_live.get("/v1/helplines").status_code == 429

    response = client_live.post(
        "/v1/events/helpline_display",
        {
            "helpline_id": helpline.public_id,
            "session_id": "sess-1",
            "timestamp": datetime.now(UTC).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201
    assert "RateLimit-Limit" not in response
    assert directory_calls_in_window(partner=partner, now=datetime.now(UTC)) == 1


def test_a_partner_with_a_zero_quota_reports_events(
    client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    with_quota(partner, 0)

    response = client_live.post(
        "/v1/events/helpline_click",
        {
            "helpline_id": helpline.public_id,
            "session_id": "sess-2",
            "timestamp": datetime.now(UTC).isoformat(),
            "contact_method": "phone",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["contact_method"] == "phone"
    assert not DirectoryCallBucket.objects.exists()


def test_the_window_rolls_over_hour_by_hour(client_live: APIClient, partner: Partner) -> None:
    with_quota(partner, 2)
    with time_machine.travel(MORNING, tick=False):
        assert client_live.get("/v1/topics").status_code == 200
    with time_machine.travel(datetime(2026, 11, 20, 11, 5, tzinfo=UTC), tick=False):
        assert client_live.get("/v1/topics").status_code == 200
    with time_machine.travel(datetime(2026, 11, 21, 9, 59, 59, tzinfo=UTC), tick=False):
        refused = client_live.get("/v1/topics")
    # The 10:00 bucket leaves the window at 10:00 the next day, one second later.
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"

    with time_machine.travel(datetime(2026, 11, 21, 10, 0, tzinfo=UTC), tick=False):
        allowed = client_live.get("/v1/topics")
        refused_again = client_live.get("/v1/topics")

    assert allowed.status_code == 200
    # Left: the 11:00 call and this one; the next to leave is the 11:00 call, in 1 h.
    assert quota_headers(allowed) == {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "3600",
    }
    assert refused_again.status_code == 429
    assert refused_again["Retry-After"] == "3600"
    # The 10:00 bucket of the day before left the window and was deleted.
    assert sorted(DirectoryCallBucket.objects.values_list("hour", "calls")) == [
        (datetime(2026, 11, 20, 11, tzinfo=UTC), 1),
        (datetime(2026, 11, 21, 10, tzinfo=UTC), 1),
    ]


def test_a_new_quota_applies_at_once(client_live: APIClient, partner: Partner) -> None:
    with_quota(partner, 1)
    client_live.get("/v1/topics")
    assert client_live.get("/v1/topics").status_code == 429

    with_quota(partner, 3)
    response = client_live.get("/v1/topics")

    assert response.status_code == 200
    assert quota_headers(response)["RateLimit-Remaining"] == "1"


def test_not_found_and_bad_filters_count_but_auth_failures_do_not(
    api_client: Callable[[str], APIClient], client_live: APIClient, partner: Partner
) -> None:
    with_quota(partner, 10)
    assert client_live.get("/v1/helplines/unknown").status_code == 404
    assert client_live.get("/v1/helplines", {"limit": "0"}).status_code == 400
    assert client_live.post("/v1/topics").status_code == 405
    assert api_client("nope.nope").get("/v1/topics").status_code == 401

    response = client_live.get("/v1/topics")

    assert response["RateLimit-Remaining"] == "7"


def _simultaneous_directory_calls(raw_key: str, count: int) -> list[int]:
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        try:
            barrier.wait(timeout=10)
            status = client.get("/v1/topics").status_code
            with lock:
                statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_n_calls_left_2n_simultaneous_calls_let_exactly_n_through() -> None:
    partner = Partner.objects.create(name="Racer", slug="racer", daily_quota=10)
    _, raw_key = issue_key(partner=partner, name="production")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    DirectoryCallBucket.objects.create(partner=partner, hour=hour - timedelta(hours=3), calls=4)
    left = 6

    statuses = _simultaneous_directory_calls(raw_key, 2 * left)

    assert sorted(statuses) == [200] * left + [429] * left
    assert directory_calls_in_window(partner=partner, now=datetime.now(UTC)) == 10


class TestEventRateLimit:
    """EVENTS_RATE_LIMIT per key, apart from the directory quota."""

    @pytest.fixture(autouse=True)
    def _two_per_second(self, settings: Settings) -> None:
        settings.EVENTS_RATE_LIMIT = "2/s"
        cache.clear()

    @staticmethod
    def display(client: APIClient, helpline: Helpline, session: str) -> Any:
        return client.post(
            "/v1/events/helpline_display",
            {
                "helpline_id": helpline.public_id,
                "session_id": session,
                "timestamp": datetime.now(UTC).isoformat(),
            },
            format="json",
        )

    def test_over_the_rate_a_key_gets_429_with_retry_after(
        self, client_live: APIClient, helpline: Helpline
    ) -> None:
        with time_machine.travel(datetime.now(UTC), tick=False):
            answers = [self.display(client_live, helpline, f"s-{n}") for n in range(3)]

        assert [r.status_code for r in answers] == [201, 201, 429]
        assert answers[2]["Retry-After"] == "1"
        assert answers[2].json() == {
            "error": {
                "code": "throttled",
                "message": "Request was throttled. Expected available in 1 second.",
            }
        }

    def test_another_partners_key_is_not_limited(
        self,
        api_client: Callable[[str], APIClient],
        client_live: APIClient,
        other_partner: Partner,
        helpline: Helpline,
    ) -> None:
        _, other_raw = issue_key(partner=other_partner, name="production")
        other = api_client(other_raw)
        with time_machine.travel(datetime.now(UTC), tick=False):
            for n in range(3):
                self.display(client_live, helpline, f"s-{n}")
            answers = [self.display(other, helpline, f"o-{n}") for n in range(2)]

        assert [r.status_code for r in answers] == [201, 201]

    def test_the_limit_does_not_touch_the_directory_quota(
        self, client_live: APIClient, partner: Partner, helpline: Helpline
    ) -> None:
        with time_machine.travel(datetime.now(UTC), tick=False):
            for n in range(3):
                self.display(client_live, helpline, f"s-{n}")
            response = client_live.get("/v1/topics")

        assert response.status_code == 200
        assert response["RateLimit-Remaining"] == str(partner.daily_quota - 1)
