"""The shared cast of every test: a partner with a live and a test key, a few helplines.

Tests run on SQLite by default and on PostgreSQL when DATABASE_URL points at it; tests
marked `postgres` only run there.
"""

import os
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from hypothesis import settings as hypothesis_settings
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from events.metrics import forget_kept_zones
from events.models import EventType
from events.rollup import roll_up
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner, PartnerAPIKey, Topic
from helplines.selectors import forget_helpline_pks
from helplines.services import issue_key
from tests.browser import CHROMIUM, CHROMIUM_ARGS

# Property tests judge answers, not speed: Hypothesis's default deadline (200 ms an
# example) would fail a correct test on a machine busy with other work.
hypothesis_settings.register_profile("throughline", deadline=None)
hypothesis_settings.load_profile("throughline")


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
    forget_kept_zones()


@pytest.fixture
def partner(db: None) -> Partner:
    return Partner.objects.create(name="Acme Chat", slug="acme", billing_timezone="UTC")


@pytest.fixture
def other_partner(db: None) -> Partner:
    return Partner.objects.create(name="Beacon Search", slug="beacon")


class IssuedKey(NamedTuple):
    """A key the tests issued, and its secret: the raw key, shown once when issued."""

    key: PartnerAPIKey
    secret: str


@pytest.fixture
def live_key(partner: Partner) -> IssuedKey:
    return IssuedKey(*issue_key(partner=partner, name="production"))


@pytest.fixture
def test_key(partner: Partner) -> IssuedKey:
    return IssuedKey(*issue_key(partner=partner, name="staging", is_test=True))


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
def client_live(api_client: Callable[[str], APIClient], live_key: IssuedKey) -> APIClient:
    return api_client(live_key.secret)


def new_event(helpline: Helpline, session: str, at: datetime, method: str = "") -> NewEvent:
    """One event of `helpline` for `record_events`: a click by `method`, or a display."""
    return NewEvent(
        type=EventType.CLICK if method else EventType.DISPLAY,
        helpline_pk=helpline.pk,
        helpline_id=helpline.public_id,
        session_id=session,
        timestamp=at,
        contact_method=method,
    )


Send = Callable[..., None]


@pytest.fixture
def send(transactional_db: None) -> Send:
    """send(key, helpline, session, when, method="") stores one display (or a click), then
    runs the rollup as the scheduler would right after it arrived (its clock at `when`, so
    billing months close as they would have then, not by today's date), so that every
    figure includes it.

    Transactional: on PostgreSQL the rollup reads only committed events (events.rollup).
    """

    def store(
        key: PartnerAPIKey, helpline: Helpline, session: str, when: datetime, method: str = ""
    ) -> None:
        record_events(
            partner=key.partner, api_key=key, events=[new_event(helpline, session, when, method)]
        )
        roll_up(now=when)

    return store


@pytest.fixture
def rolled_up(transactional_db: None) -> Callable[[], None]:
    """rolled_up(): run the rollup now (after events sent over HTTP)."""

    def run() -> None:
        roll_up()

    return run


@pytest.fixture
def now() -> datetime:
    return timezone.now()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# Collects CSP violations; added by playwright before any page script, so CSP does not apply.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def browser_page(live_server: LiveServer, settings: Settings) -> Iterator[Any]:
    """A Chromium page (Debian's) on the live server, collecting console errors in
    `page.console_errors` and CSP violations in `window.__cspViolations`."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        # CI installs Chromium and must run these tests; a developer's machine without it
        # still runs the rest of the suite.
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1440, "height": 900}, accept_downloads=True
        )
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        page.console_errors = []

        def on_console(message: Any) -> None:
            if message.type == "error":
                page.console_errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        yield page
        browser.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for servers the tests start, or as
    a port where every connection is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
