"""Isolation on the API (OWASP API1): partner A, with an API key or an OAuth token, walks
every partner-facing /v1/ URL the resolver knows (a URL added later is walked too) with
partner B's identifiers in the path and the query string, and never gets a byte of B's
data; sending B's very events stores A's own, never answers with B's."""

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from events.models import Event
from helplines.models import Helpline, Partner
from helplines.services import issue_key
from oauth.services import create_client
from tests.oauth.conftest import IssuedClient, bearer, token_of

B_SESSIONS = ["sess_zq81_k", "sess_zq81_t"]
# Public to every partner, not a partner's data: the schema and its page, the 404 catch-all.
NOT_PARTNER_DATA = {"v1/schema/", "v1/docs/", "v1/^(?P<path>.*)$"}


def v1_routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(route, view) of every /v1/ URL, from the resolver."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from v1_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("v1/"):
            yield route, pattern.callback


def partner_routes() -> dict[str, dict[str, str]]:
    """Route -> {HTTP method: viewset action} for every partner-facing /v1/ URL."""
    routes = {
        route: getattr(view, "actions", None) or {"get": "get"}
        for route, view in v1_routes()
        if route not in NOT_PARTNER_DATA
    }
    assert len(routes) >= 9, routes
    return routes


def event_body(helpline: Helpline, when: datetime, session: str) -> dict[str, str]:
    return {"helpline_id": helpline.public_id, "session_id": session, "timestamp": when.isoformat()}


@pytest.fixture
def world(
    partner: Partner,
    other_partner: Partner,
    helpline: Helpline,
    now: datetime,
    rolled_up: Callable[[], None],
) -> dict[str, Any]:
    """B sends two displays (with a key and with a token) and a click; A sends one display."""
    b_key = issue_key(partner=other_partner, name="production")[1]
    b_token = token_of(IssuedClient(*create_client(partner=other_partner, name="production")))
    when = now - timedelta(minutes=5)
    for credential, session in zip([b_key, b_token], B_SESSIONS, strict=True):
        response = bearer(credential).post(
            "/v1/events/helpline_display",
            json.dumps(event_body(helpline, when, session)),
            content_type="application/json",
        )
        assert response.status_code == 201
    click = event_body(helpline, when, B_SESSIONS[0]) | {"contact_method": "phone"}
    assert (
        bearer(b_key)
        .post("/v1/events/helpline_click", json.dumps(click), content_type="application/json")
        .status_code
        == 201
    )
    b_events = list(Event.objects.filter(partner=other_partner))
    a_key = issue_key(partner=partner, name="production")[1]
    a_token = token_of(IssuedClient(*create_client(partner=partner, name="production")))
    assert (
        bearer(a_key)
        .post(
            "/v1/events/helpline_display",
            json.dumps(event_body(helpline, when, "sess_acme_1")),
            content_type="application/json",
        )
        .status_code
        == 201
    )
    rolled_up()
    return {
        "credentials": {"key": a_key, "token": a_token},
        "b": other_partner,
        "b_events": b_events,
        "b_prefixes": sorted({event.api_key_id for event in b_events}),
        "helpline": helpline,
        "when": when,
        "window": {
            "start_time": (now - timedelta(days=1)).isoformat(),
            "end_time": (now + timedelta(hours=1)).isoformat(),
        },
    }


def forbidden_bytes(world: dict[str, Any]) -> list[bytes]:
    b: Partner = world["b"]
    return [
        *(session.encode() for session in B_SESSIONS),
        *(prefix.encode() for prefix in world["b_prefixes"]),
        b.slug.encode(),
        b.name.encode(),
    ]


def hostile_queries(world: dict[str, Any], enums: dict[str, list[str]]) -> list[dict[str, str]]:
    """The time window, B's identifiers under every name a careless view might read, and
    each value of each enumerated parameter (e.g. every `group_by`)."""
    b: Partner = world["b"]
    event_ids = [str(event.pk) for event in world["b_events"]]
    base = world["window"] | {
        "partner": b.slug,
        "partner_id": str(b.pk),
        "partner_slug": b.slug,
        "api_key": world["b_prefixes"][0],
        "api_key_prefix": world["b_prefixes"][0],
        "id": event_ids[0],
        "event_id": event_ids[0],
        "session_id": B_SESSIONS[0],
        "is_test": "false",
    }
    queries = [world["window"], base]
    for name, values in enums.items():
        queries += [base | {name: value} for value in values]
    return queries


def schema_enums(path: str) -> dict[str, list[str]]:
    schema = APIClient().get("/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"].get(path, {}).get("get", {})
    return {
        parameter["name"]: parameter["schema"]["enum"]
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query" and "enum" in parameter.get("schema", {})
    }


@pytest.mark.parametrize("credential", ["key", "token"])
def test_partner_a_reads_no_byte_of_partner_b_on_any_v1_url(
    world: dict[str, Any], credential: str
) -> None:
    client = bearer(world["credentials"][credential])
    walked: set[str] = set()

    for route, actions in partner_routes().items():
        if "get" not in actions:
            continue
        path = "/" + route.replace("<str:helpline_id>", world["helpline"].public_id)
        assert "<" not in path, f"give {route} a value for its parameter"
        for query in hostile_queries(world, schema_enums(path)):
            response = client.get(path, query)
            assert response.status_code in {200, 400}, (path, query, response.content)
            for forbidden in forbidden_bytes(world):
                assert forbidden not in response.content, (path, query, forbidden)
        walked.add(route)

    assert {"v1/events", "v1/events/stats", "v1/helplines", "v1/topics"} <= walked


@pytest.mark.parametrize("credential", ["key", "token"])
def test_partner_a_sees_only_its_own_figures_and_events(
    world: dict[str, Any], credential: str
) -> None:
    client = bearer(world["credentials"][credential])

    events = client.get("/v1/events", world["window"]).json()["events"]
    totals = client.get("/v1/events/stats", world["window"]).json()["totals"]

    assert [event["session_id"] for event in events] == ["sess_acme_1"]
    assert (totals["displays"], totals["clicks"]) == (1, 0)


# The body of each ingest URL: B's very events, sent again by A.
def _bodies(world: dict[str, Any]) -> dict[str, dict[str, Any]]:
    display = event_body(world["helpline"], world["when"], B_SESSIONS[0])
    click = display | {"contact_method": "phone"}
    return {
        "v1/events/helpline_display": display,
        "v1/events/helpline_click": click,
        "v1/events/batch": {
            "events": [display | {"type": "helpline_display"}, click | {"type": "helpline_click"}]
        },
    }


@pytest.mark.parametrize("credential", ["key", "token"])
def test_sending_b_events_again_stores_a_own_and_never_answers_with_b(
    world: dict[str, Any], credential: str
) -> None:
    client = bearer(world["credentials"][credential])
    b_ids = {event.pk for event in world["b_events"]}
    bodies = _bodies(world)
    posted = [route for route, actions in partner_routes().items() if "post" in actions]
    assert sorted(posted) == sorted(bodies), "give each new POST URL its body above"

    for route in posted:
        response = client.post(
            "/" + route, json.dumps(bodies[route]), content_type="application/json"
        )
        assert response.status_code in {200, 201}, (route, response.content)
        answer = response.json()
        ids = [item["id"] for item in answer["results"]] if "results" in answer else [answer["id"]]
        assert not b_ids & set(ids), route
        for forbidden in forbidden_bytes(world)[len(B_SESSIONS) :]:
            assert forbidden not in response.content, (route, forbidden)

    a_sessions = sorted(
        Event.objects.filter(partner__slug="acme").values_list("session_id", flat=True)
    )
    assert a_sessions == sorted(["sess_acme_1", B_SESSIONS[0], B_SESSIONS[0]])
    assert Event.objects.filter(partner=world["b"]).count() == len(world["b_events"])
