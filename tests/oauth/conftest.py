"""OAuth2 clients of the shared cast: a live and a test client of partner A (acme), a live
client of partner B (beacon). Client secrets are hashed with a fast hasher here: each token
request checks one, and the production hasher's cost would only make these tests slow."""

import base64
from typing import Any, NamedTuple

import pytest
from rest_framework.test import APIClient

from helplines.models import Partner
from oauth.models import PartnerClient
from oauth.services import create_client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class IssuedClient(NamedTuple):
    client: PartnerClient
    secret: str

    @property
    def client_id(self) -> str:
        return self.client.application.client_id


@pytest.fixture
def live_client(partner: Partner) -> IssuedClient:
    return IssuedClient(*create_client(partner=partner, name="production"))


@pytest.fixture
def test_client(partner: Partner) -> IssuedClient:
    return IssuedClient(*create_client(partner=partner, name="staging", is_test=True))


@pytest.fixture
def other_client(other_partner: Partner) -> IssuedClient:
    return IssuedClient(*create_client(partner=other_partner, name="production"))


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ask_token(issued: IssuedClient, *, secret: str | None = None) -> Any:
    """POST /oauth/token with HTTP Basic, as the README's curl example does."""
    return APIClient().post(
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic(issued.client_id, secret or issued.secret),
    )


def token_of(issued: IssuedClient) -> str:
    response = ask_token(issued)
    assert response.status_code == 200, response.content
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
