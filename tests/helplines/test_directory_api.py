"""The helpline directory API as a partner reads it: listing, filters, one helpline,
topics and countries."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from helplines.models import Helpline, Topic
from tests.conftest import IssuedKey

pytestmark = pytest.mark.django_db

GB_LINE = "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b"


def samaritans_body() -> dict:
    return {
        "id": GB_LINE,
        "name": "Samaritans Example",
        "description": None,
        "country_code": "GB",
        "subdivision": None,
        "timezone": "Europe/London",
        "topics": [{"slug": "suicidal-thoughts", "name": "Suicidal thoughts"}],
        "phone_number": "116 123",
        "sms_number": None,
        "web_chat_url": None,
        "whatsapp_url": None,
        "website": "https://example.org/samaritans",
        "tty_number": None,
        "reporting_form_url": None,
        "priority": True,
        "paired_with": None,
        # A priority line with a capacity that check_load has not measured yet.
        "load": {"status": "normal", "as_of": None},
    }


@pytest.fixture
def directory(helpline: Helpline, inactive_helpline: Helpline, topic: Topic) -> dict[str, Helpline]:
    """Beside the cast's priority GB line: non-priority lines in GB, US and NZ."""
    grief = Topic.objects.create(name="Grief", slug="grief")
    lines = {"gb_priority": helpline, "nz_inactive": inactive_helpline}
    lines["gb_youth"] = Helpline.objects.create(
        public_id="gb-youth-1",
        name="Youth Line Example",
        country_code="GB",
        subdivision="Scotland",
        web_chat_url="https://example.org/chat",
        sms_number="85258",
    )
    lines["gb_youth"].topics.add(topic, grief)
    lines["us_grief"] = Helpline.objects.create(
        public_id="us-grief-1",
        name="Anchor Grief Line",
        country_code="US",
        timezone="America/New_York",
        description="Bereavement support.",
        tty_number="711",
        whatsapp_url="https://wa.example.org/1",
        reporting_form_url="https://example.org/report",
    )
    lines["us_grief"].topics.add(grief)
    lines["us_priority"] = Helpline.objects.create(
        public_id="us-988", name="Anchor Crisis Line", country_code="US", is_priority=True
    )
    return lines


def ids(response: Any) -> list[str]:
    return [line["id"] for line in response.json()["helplines"]]


def test_listing_shows_active_helplines_priority_first_then_by_name(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    response = client_live.get("/v1/helplines")

    assert response.status_code == 200
    assert ids(response) == ["us-988", GB_LINE, "us-grief-1", "gb-youth-1"]
    assert response.json()["helplines"][1] == samaritans_body()


def test_helplines_with_the_same_name_are_ordered_by_id(
    client_live: APIClient, helpline: Helpline
) -> None:
    for public_id in ("b-twin", "a-twin"):
        Helpline.objects.create(public_id=public_id, name="Twin Line", country_code="FR")

    response = client_live.get("/v1/helplines")

    assert ids(response) == [GB_LINE, "a-twin", "b-twin"]


def test_every_contact_channel_is_shown(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    response = client_live.get("/v1/helplines/us-grief-1")

    assert response.status_code == 200
    assert response.json() == {
        "id": "us-grief-1",
        "name": "Anchor Grief Line",
        "description": "Bereavement support.",
        "country_code": "US",
        "subdivision": None,
        "timezone": "America/New_York",
        "topics": [{"slug": "grief", "name": "Grief"}],
        "phone_number": None,
        "sms_number": None,
        "web_chat_url": None,
        "whatsapp_url": "https://wa.example.org/1",
        "website": None,
        "tty_number": "711",
        "reporting_form_url": "https://example.org/report",
        "priority": False,
        "paired_with": None,
        "load": None,
    }


@pytest.mark.parametrize("code", ["gb", "GB", "Gb"])
def test_country_filter_ignores_case(
    client_live: APIClient, directory: dict[str, Helpline], code: str
) -> None:
    response = client_live.get("/v1/helplines", {"country_code": code})

    assert response.status_code == 200
    assert ids(response) == [GB_LINE, "gb-youth-1"]


def test_country_without_active_helplines_lists_nothing(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    response = client_live.get("/v1/helplines", {"country_code": "nz"})

    assert response.status_code == 200
    assert response.json() == {"helplines": []}


@pytest.mark.parametrize("value", ["grief", "Grief", "GRIEF"])
def test_topic_filter_matches_slug_or_name(
    client_live: APIClient, directory: dict[str, Helpline], value: str
) -> None:
    response = client_live.get("/v1/helplines", {"topic": value})

    assert ids(response) == ["us-grief-1", "gb-youth-1"]


def test_topic_filter_by_name_with_spaces(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    response = client_live.get("/v1/helplines", {"topic": "suicidal thoughts"})

    assert ids(response) == [GB_LINE, "gb-youth-1"]


def test_priority_only_lists_priority_helplines(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    assert ids(client_live.get("/v1/helplines", {"priority_only": "true"})) == [
        "us-988",
        GB_LINE,
    ]
    assert len(ids(client_live.get("/v1/helplines", {"priority_only": "false"}))) == 4


def test_filters_combine_and_limit_keeps_the_first(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    assert ids(client_live.get("/v1/helplines", {"country_code": "us", "topic": "grief"})) == [
        "us-grief-1"
    ]
    assert ids(client_live.get("/v1/helplines", {"limit": "2"})) == ["us-988", GB_LINE]
    assert len(ids(client_live.get("/v1/helplines", {"limit": "500"}))) == 4


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"limit": "0"}, "limit", "min_value"),
        ({"limit": "two"}, "limit", "invalid"),
        ({"limit": "1.5"}, "limit", "invalid"),
        ({"priority_only": "maybe"}, "priority_only", "invalid"),
        ({"country_code": "GBR"}, "country_code", "max_length"),
    ],
)
def test_a_filter_that_does_not_parse_is_a_400(
    client_live: APIClient, directory: dict[str, Helpline], params: dict, field: str, code: str
) -> None:
    response = client_live.get("/v1/helplines", params)

    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert [error["code"] for error in body["error"]["fields"][field]] == [code]


@pytest.mark.parametrize("public_id", ["no-such-line", "retired-line-01"])
def test_unknown_or_inactive_helpline_is_a_json_404(
    client_live: APIClient, directory: dict[str, Helpline], public_id: str
) -> None:
    response = client_live.get(f"/v1/helplines/{public_id}")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_topics_lists_every_topic_by_name(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    response = client_live.get("/v1/topics")

    assert response.status_code == 200
    assert response.json() == {
        "topics": [
            {"slug": "grief", "name": "Grief"},
            {"slug": "suicidal-thoughts", "name": "Suicidal thoughts"},
        ]
    }


def test_countries_lists_those_with_an_active_helpline(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    response = client_live.get("/v1/countries")

    assert response.status_code == 200
    assert response.json() == {
        "countries": [
            {"code": "GB", "name": "United Kingdom", "helplines": 2},
            {"code": "US", "name": "United States", "helplines": 2},
        ]
    }


@pytest.mark.parametrize("path", ["/v1/helplines", f"/v1/helplines/{GB_LINE}", "/v1/topics"])
def test_the_directory_needs_a_key(db: None, path: str) -> None:
    response = APIClient().get(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "RateLimit-Limit" not in response


def test_a_revoked_key_is_refused(
    api_client: Callable[[str], APIClient], live_key: IssuedKey
) -> None:
    key, raw = live_key
    key.revoked = True
    key.save()

    response = api_client(raw).get("/v1/helplines")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "key_revoked"


def test_writing_is_not_allowed(client_live: APIClient, helpline: Helpline) -> None:
    response = client_live.post("/v1/helplines", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "RateLimit-Limit" not in response


def _listing_queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/v1/helplines").status_code == 200
    return len(queries)


def test_listing_query_count_does_not_grow_with_the_directory(
    client_live: APIClient, directory: dict[str, Helpline], topic: Topic
) -> None:
    client_live.get("/v1/topics")  # the first call of an hour also prunes old buckets
    few = _listing_queries(client_live)
    for number in range(30):
        line = Helpline.objects.create(
            public_id=f"bulk-{number}", name=f"Bulk {number}", country_code="DE"
        )
        line.topics.add(topic)

    assert _listing_queries(client_live) == few


def test_listing_queries(
    client_live: APIClient,
    directory: dict[str, Helpline],
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    client_live.get("/v1/topics")  # the bucket for this hour now exists; the key is cached
    # quota: savepoint, partner lock, window read, bucket upsert, release; helplines; their
    # topics.
    with django_assert_num_queries(7):
        response = client_live.get("/v1/helplines")
    assert len(response.json()["helplines"]) == 4


def test_a_limit_larger_than_any_number_the_database_holds_means_all(
    client_live: APIClient, directory: dict[str, Helpline]
) -> None:
    response = client_live.get("/v1/helplines", {"limit": "1" + "0" * 30})
    assert response.status_code == 200
    assert len(response.json()["helplines"]) == len(
        [line for line in directory.values() if line.is_active]
    )


@pytest.mark.parametrize("param", ["limit", "priority_only"])
def test_a_typed_filter_given_without_a_value_is_refused(
    client_live: APIClient, directory: dict[str, Helpline], param: str
) -> None:
    response = client_live.get(f"/v1/helplines?{param}=")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][param][0]["code"] == "invalid"
