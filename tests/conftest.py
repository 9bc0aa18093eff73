"""The shared cast of every test: a partner with a live and a test key, a few helplines.

Tests run on SQLite by default and on PostgreSQL when DATABASE_URL points at it; tests
marked `postgres` only run there.
"""

from collections.abc import Callable
from datetime import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from helplines.models import Helpline, Partner, PartnerAPIKey, Topic
from helplines.selectors import forget_helpline_pks
from helplines.services import issue_key


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """Each test starts with empty caches: keys and helplines of earlier tests are gone."""
    cache.clear()
    forget_helpline_pks()


@pytest.fixture
def partner(db: None) -> Partner:
    return Partner.objects.create(name="Acme Chat", slug="acme", billing_timezone="UTC")


@pytest.fixture
def other_partner(db: None) -> Partner:
    return Partner.objects.create(name="Beacon Search", slug="beacon")


@pytest.fixture
def live_key(partner: Partner) -> tuple[PartnerAPIKey, str]:
    return issue_key(partner=partner, name="production")


@pytest.fixture
def test_key(partner: Partner) -> tuple[PartnerAPIKey, str]:
    return issue_key(partner=partner, name="staging", is_test=True)


@pytest.fixture
def topic(db: None) -> Topic:
    return Topic.objects.create(name="Suicidal thoughts", slug="suicidal-thoughts")


@pytest.fixture
def helpline(db: None, topic: Topic) -> Helpline:
    line = Helpline.objects.create(
        public_id="3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b",
        name="Samaritans Example",
        country_code="GB",
        timezone="Europe/London",
        phone_number="116 123",
        website="https://example.org/samaritans",
        is_priority=True,
        hourly_capacity=50,
    )
    line.topics.add(topic)
    return line


@pytest.fixture
def inactive_helpline(db: None) -> Helpline:
    return Helpline.objects.create(
        public_id="retired-line-01", name="Retired Line", country_code="NZ", is_active=False
    )


@pytest.fixture
def api_client() -> Callable[[str], APIClient]:
    """An APIClient sending `Authorization: Bearer <key>` on every request."""

    def make(raw_key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        return client

    return make


@pytest.fixture
def client_live(
    api_client: Callable[[str], APIClient], live_key: tuple[PartnerAPIKey, str]
) -> APIClient:
    return api_client(live_key[1])


@pytest.fixture
def now() -> datetime:
    return timezone.now()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
