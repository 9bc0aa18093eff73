"""Partner users of two partners, A (acme, the shared cast's `partner`) and B (beacon),
each signed in on its own test client; B has a key and an OAuth client of its own.

Passwords and client secrets are hashed with a fast hasher here: the production hasher's
cost (by design) would only make these tests slow."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.partners import create_partner_user
from helplines.models import Partner
from helplines.services import issue_key
from oauth.services import create_client
from tests.conftest import IssuedKey
from tests.oauth.conftest import IssuedClient


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user_a(partner: Partner) -> User:
    user: User = create_partner_user(partner=partner, username="pat", email="pat@acme.example")
    return user


@pytest.fixture
def user_b(other_partner: Partner) -> User:
    user: User = create_partner_user(
        partner=other_partner, username="bea", email="bea@beacon.example"
    )
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def page_a(user_a: User) -> Client:
    """Partner A's user, signed in."""
    return signed_in(user_a)


@pytest.fixture
def page_b(user_b: User) -> Client:
    return signed_in(user_b)


@pytest.fixture
def key_b(other_partner: Partner) -> IssuedKey:
    return IssuedKey(*issue_key(partner=other_partner, name="beacon-prod"))


@pytest.fixture
def client_b(other_partner: Partner) -> IssuedClient:
    return IssuedClient(*create_client(partner=other_partner, name="beacon-oauth"))
