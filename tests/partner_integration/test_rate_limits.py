"""Rate limits on `POST /oauth/token` (per client: a wrong secret costs a password-strength
hash) and on "forgot your password?" (it sends email): exactly N requests per window, then
429 with Retry-After until the window ends; the forgot-password page never says whether an
address belongs to anyone."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from oauth2_provider.models import AccessToken

from helplines.models import Partner
from tests.oauth.conftest import IssuedClient, basic

# 20 seconds into a minute, and 20 minutes into an hour: Retry-After is what is left.
START = datetime(2026, 11, 22, 14, 20, 20, tzinfo=UTC)
FORGOT = "/account/password/forgot/"


def token_request(issued: IssuedClient, secret: str, address: str = "198.51.100.7") -> Any:
    return Client(REMOTE_ADDR=address).post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(issued.client_id, secret),
    )


@pytest.fixture
def issued(partner: Partner) -> IssuedClient:
    from oauth.services import create_client

    return IssuedClient(*create_client(partner=partner, name="svc"))


def test_token_requests_are_limited_per_client_address(issued: IssuedClient, settings: Any) -> None:
    settings.OAUTH_TOKEN_RATE_LIMIT = "3/m"
    with time_machine.travel(START, tick=False):
        answers = [token_request(issued, "wrong").status_code for _ in range(3)]
        refused = token_request(issued, issued.secret)  # even the right secret, now
        other_address = token_request(issued, issued.secret, address="203.0.113.9")

    assert answers == [401, 401, 401]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert refused["Cache-Control"] == "no-store"
    assert refused["Content-Type"] == "application/json"
    assert refused.json() == {
        "error": "too_many_requests",
        "error_description": "Too many token requests from this client: retry after 40 "
        "seconds, and reuse a token until it expires.",
    }
    assert other_address.status_code == 200
    assert AccessToken.objects.count() == 1  # the other address's only

    with time_machine.travel(START.replace(minute=21, second=0), tick=False):
        assert token_request(issued, issued.secret).status_code == 200


def test_the_limit_counts_the_client_the_trusted_proxy_saw(
    issued: IssuedClient, settings: Any
) -> None:
    settings.OAUTH_TOKEN_RATE_LIMIT = "1/m"
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    def via_proxy(client_address: str) -> int:
        return (
            Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=client_address)
            .post(
                "/oauth/token",
                "grant_type=client_credentials",
                content_type="application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=basic(issued.client_id, "wrong"),
            )
            .status_code
        )

    with time_machine.travel(START, tick=False):
        assert [via_proxy("192.0.2.1"), via_proxy("192.0.2.2"), via_proxy("192.0.2.1")] == [
            401,
            401,
            429,
        ]


@pytest.fixture
def partner_user(partner: Partner) -> User:
    from accounts.partners import create_partner_user

    user: User = create_partner_user(partner=partner, username="pat", email="pat@acme.example")
    return user


def notice(response: Any) -> str:
    """The page's message (the rest differs per request: CSP nonces, CSRF tokens)."""
    match = re.search(
        r'<p class="errornote" id="try-later">(.*?)</p>', response.content.decode(), re.S
    )
    assert match is not None
    return match[1]


def forgot(email: str, address: str = "198.51.100.7") -> Any:
    return Client(REMOTE_ADDR=address).post(FORGOT, {"email": email})


def test_forgot_password_is_limited_and_says_nothing_of_the_account(
    partner_user: User, settings: Any
) -> None:
    settings.FORGOT_PASSWORD_RATE_LIMIT = "2/h"
    with time_machine.travel(START, tick=False):
        known = [forgot("pat@acme.example", "198.51.100.7") for _ in range(3)]
        unknown = [forgot("nobody@acme.example", "198.51.100.8") for _ in range(3)]

    assert [r.status_code for r in known] == [302, 302, 429]
    assert [r.status_code for r in unknown] == [302, 302, 429]
    assert known[0]["Location"] == unknown[0]["Location"] == "/account/password/forgot/sent/"
    assert len(mail.outbox) == 2  # the first two requests for the known address
    for refused in (known[2], unknown[2]):
        assert refused["Retry-After"] == str(40 * 60 - 20)
        assert "Try again in 40 minutes" in refused.content.decode()
    assert notice(known[2]) == notice(unknown[2])


def test_forgot_password_is_limited_per_address_asked_and_per_client(
    partner_user: User, settings: Any
) -> None:
    settings.FORGOT_PASSWORD_RATE_LIMIT = "2/h"
    with time_machine.travel(START, tick=False):
        # One address from three clients: the third is refused.
        same_address = [forgot("PAT@acme.example", f"192.0.2.{n}").status_code for n in (1, 2, 3)]
        # One client asking about three addresses: the third is refused.
        same_client = [forgot(f"x{n}@acme.example", "203.0.113.5").status_code for n in (1, 2, 3)]
    assert same_address == [302, 302, 429]
    assert same_client == [302, 302, 429]
    assert len(mail.outbox) == 2

    with time_machine.travel(START.replace(hour=15, minute=0, second=0), tick=False):
        assert forgot("pat@acme.example", "192.0.2.1").status_code == 302
    assert len(mail.outbox) == 3


def test_showing_the_forgot_password_page_is_not_counted(settings: Any, db: None) -> None:
    settings.FORGOT_PASSWORD_RATE_LIMIT = "1/h"
    with time_machine.travel(START, tick=False):
        assert [Client().get(FORGOT).status_code for _ in range(3)] == [200, 200, 200]
        assert forgot("a@b.example").status_code == 302


def test_the_counters_name_no_address_in_clear(
    partner_user: User, issued: IssuedClient, settings: Any
) -> None:
    from django.core.cache import cache

    with time_machine.travel(START, tick=False):
        forgot("pat@acme.example", "198.51.100.7")
        token_request(issued, "wrong", address="198.51.100.7")
    keys = " ".join(str(key) for key in cache._cache)  # type: ignore[attr-defined]  # locmem
    assert "forgot-password-email:" in keys and "oauth-token:" in keys
    for clear in ("pat@acme", "198.51.100.7", "198-51-100-7"):
        assert clear not in keys


def test_the_openapi_schema_states_the_token_rate_limit(db: None) -> None:
    schema = Client().get("/v1/schema/", HTTP_ACCEPT="application/json").json()
    description = schema["components"]["securitySchemes"]["OAuth2ClientCredentials"]["description"]
    assert "429 with `Retry-After`" in description
    assert '"too_many_requests"' in description
