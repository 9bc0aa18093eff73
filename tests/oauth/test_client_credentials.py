"""OAuth2 client credentials: POST /oauth/token issues an expiring bearer token that every
/v1/ endpoint accepts beside API keys, for the client's partner and its live or test mode."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework.test import APIClient

from events.models import Event
from helplines.models import Helpline, Partner
from oauth.services import revoke_clients, revoke_tokens
from oauth.tokens import checksum, find_token
from tests.oauth.conftest import IssuedClient, ask_token, basic, bearer, token_of

DISPLAY = "/v1/events/helpline_display"


def display(helpline: Helpline, now: datetime, session: str = "sess_1") -> str:
    return json.dumps(
        {"helpline_id": helpline.public_id, "session_id": session, "timestamp": now.isoformat()}
    )


def test_a_client_gets_an_expiring_bearer_token(live_client: IssuedClient) -> None:
    response = ask_token(live_client)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"] == 3600
    assert body["access_token"].startswith("tlo_") and len(body["access_token"]) == 47
    assert response["Cache-Control"] == "no-store"


def test_the_secret_may_also_come_in_the_form(live_client: IssuedClient) -> None:
    response = APIClient().post(
        "/oauth/token",
        urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": live_client.client_id,
                "client_secret": live_client.secret,
            }
        ),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200


def test_tokens_and_secrets_are_stored_as_hashes_only(live_client: IssuedClient) -> None:
    token = token_of(live_client)

    (stored,) = AccessToken.objects.all()
    assert stored.token == ""
    assert stored.token_checksum == checksum(token)
    application = live_client.client.application
    application.refresh_from_db()
    assert live_client.secret not in application.client_secret
    assert application.client_secret.startswith("md5$")  # the test hasher; PBKDF2 in production


def test_an_event_sent_with_a_token_is_stored_for_the_clients_partner(
    live_client: IssuedClient, partner: Partner, helpline: Helpline, now: datetime
) -> None:
    client = bearer(token_of(live_client))

    response = client.post(DISPLAY, display(helpline, now), content_type="application/json")

    assert response.status_code == 201
    (event,) = Event.objects.all()
    # api_key_id is the api_key_prefix column.
    assert (event.partner_id, event.is_test, event.api_key_id) == (
        partner.pk,
        False,
        live_client.client.label,
    )
    assert event.api_key_id.startswith("oa-") and len(event.api_key_id) == 8


def test_a_test_clients_events_are_test_events(
    test_client: IssuedClient, helpline: Helpline, now: datetime
) -> None:
    response = bearer(token_of(test_client)).post(
        DISPLAY, display(helpline, now), content_type="application/json"
    )

    assert response.status_code == 201
    assert Event.objects.get().is_test is True


def test_a_wrong_secret_is_refused_in_rfc_6749_words(live_client: IssuedClient) -> None:
    response = ask_token(live_client, secret="not-the-secret")

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    assert AccessToken.objects.count() == 0


def test_another_grant_type_is_refused(live_client: IssuedClient) -> None:
    response = APIClient().post(
        "/oauth/token",
        urlencode({"grant_type": "password", "username": "u", "password": "p"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(live_client.client_id, live_client.secret),
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid credentials given.",
    }
    assert AccessToken.objects.count() == 0
    # No user was asked for: a password grant never reaches the sign-in lockout.
    assert AccessAttempt.objects.count() == 0


def test_an_expired_token_is_401(
    live_client: IssuedClient, helpline: Helpline, now: datetime
) -> None:
    token = token_of(live_client)
    client = bearer(token)
    assert (
        client.post(DISPLAY, display(helpline, now), content_type="application/json").status_code
        == 201
    )

    with time_machine.travel(now + timedelta(seconds=3601)):
        response = client.get("/v1/topics")

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "invalid_token",
            "message": "This access token has expired: ask /oauth/token for a new one.",
        }
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="throughline"'


def test_a_revoked_token_is_401_at_once_though_cached(
    live_client: IssuedClient, helpline: Helpline, now: datetime
) -> None:
    token = token_of(live_client)
    client = bearer(token)
    # The first request caches the token's client.
    assert (
        client.post(DISPLAY, display(helpline, now), content_type="application/json").status_code
        == 201
    )

    assert revoke_tokens(AccessToken.objects.all()) == 1
    response = client.post(
        DISPLAY, display(helpline, now, "sess_2"), content_type="application/json"
    )

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_token",
        "message": "Unknown or revoked access token.",
    }
    assert Event.objects.count() == 1


def test_a_revoked_client_gets_no_token_and_its_tokens_stop(live_client: IssuedClient) -> None:
    client = bearer(token_of(live_client))
    assert client.get("/v1/topics").status_code == 200

    assert revoke_clients([live_client.client]) == 1

    assert client.get("/v1/topics").status_code == 401
    response = ask_token(live_client)
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})


def test_an_inactive_partners_client_gets_no_token_and_its_tokens_are_403(
    live_client: IssuedClient, partner: Partner, settings: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 0
    client = bearer(token_of(live_client))
    partner.is_active = False
    partner.save()

    response = client.get("/v1/topics")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "partner_inactive"
    assert ask_token(live_client).status_code == 401


def test_an_unknown_token_is_401_and_api_keys_still_work(client_live: APIClient, db: None) -> None:
    assert bearer("tlo_" + "x" * 43).get("/v1/topics").status_code == 401
    assert client_live.get("/v1/topics").status_code == 200


def test_a_cached_token_costs_no_query(
    live_client: IssuedClient, django_assert_num_queries: Any
) -> None:
    token = token_of(live_client)
    now = timezone.now()
    # token_checksum lookup with its client and partner, in one query.
    with django_assert_num_queries(1):
        assert find_token(token, now) is not None
    with django_assert_num_queries(0):
        found = find_token(token, now)
    assert found is not None
    assert found.sender.partner.slug == "acme"


# --------------------------------------------------------------------------- isolation


@pytest.fixture
def b_events(other_client: IssuedClient, helpline: Helpline, now: datetime) -> str:
    """Partner B sends a display with a session id that must never reach partner A."""
    client = bearer(token_of(other_client))
    response = client.post(
        DISPLAY, display(helpline, now, "sess_beacon_only"), content_type="application/json"
    )
    assert response.status_code == 201
    return "sess_beacon_only"


def test_a_token_of_partner_a_never_reads_partner_b_events(
    live_client: IssuedClient,
    b_events: str,
    helpline: Helpline,
    now: datetime,
    rolled_up: Callable[[], None],
) -> None:
    client = bearer(token_of(live_client))
    assert (
        client.post(
            DISPLAY, display(helpline, now, "sess_acme"), content_type="application/json"
        ).status_code
        == 201
    )
    rolled_up()
    window = {
        "start_time": (now - timedelta(hours=1)).isoformat(),
        "end_time": (now + timedelta(hours=1)).isoformat(),
    }

    listed = client.get("/v1/events", window)
    stats = client.get("/v1/events/stats", window)

    assert listed.status_code == 200
    assert [event["session_id"] for event in listed.json()["events"]] == ["sess_acme"]
    assert b_events.encode() not in listed.content
    assert stats.status_code == 200
    assert stats.json()["totals"]["displays"] == 1
