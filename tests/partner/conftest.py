"""The partner-view cast: partner A ("acme", the signed-in partner user's) and partner B
("beacon", whose data A must never read), a staff analyst, and a month of traffic from
both through the one write path, rolled up as the scheduler would."""

import random
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.utils import timezone

from accounts.partners import create_partner_user
from events.models import ContactMethod, EventType
from events.rollup import roll_up
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner, PartnerAPIKey
from helplines.services import issue_key

PASSWORD = "partner-pass-4b9d2e"
# Partner A's billing zone: its pages' days default to it (not UTC), and its months end
# at midnight there.
ACME_ZONE = "America/New_York"


@pytest.fixture
def partner_user(partner: Partner) -> User:
    user = create_partner_user(partner=partner, username="pat", email="pat@acme.example")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def partner_client(partner_user: User) -> Client:
    client = Client()
    client.force_login(partner_user)
    return client


@pytest.fixture
def other_partner_user(other_partner: Partner) -> User:
    return create_partner_user(partner=other_partner, username="bea")


@pytest.fixture
def analyst_client(db: None) -> Client:
    """Staff who may read the dashboard (the view-events permission)."""
    user = User.objects.create_user("ana", password="analyst-pass-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_event"))
    client = Client()
    client.force_login(user)
    return client


class Traffic(NamedTuple):
    """What the traffic fixture stored, and what of B's must never reach A's pages."""

    ours: Partner
    theirs: Partner
    lines: list[Helpline]
    their_key: PartnerAPIKey
    closed_month: date  # three months back in A's zone: closed, its statement stored
    open_month: date  # this month in A's zone: open
    their_secrets: list[str]  # strings only B's data holds


def _events(
    rng: random.Random,
    lines: list[Helpline],
    prefix: str,
    start: datetime,
    days: int,
    per_day: int,
) -> list[NewEvent]:
    """About `per_day` displays a day over `days` days from `start`, 40% of them clicked."""
    events = []
    methods = [value for value, _ in ContactMethod.choices]
    for n in range(days * per_day):
        line = lines[n % len(lines)]
        when = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        session = f"{prefix}-{n % (days * 3)}"
        events.append(NewEvent(EventType.DISPLAY, line.pk, line.public_id, session, when))
        if rng.random() < 0.4:
            click = when + timedelta(seconds=30)
            method = rng.choice(methods)
            events.append(
                NewEvent(EventType.CLICK, line.pk, line.public_id, session, click, method)
            )
    return events


@pytest.fixture
def traffic(
    transactional_db: None, partner: Partner, other_partner: Partner, helpline: Helpline
) -> Traffic:
    """A's and B's live traffic over the last 40 days and in a month three months back,
    A's test traffic too (never counted), all rolled up at the present."""
    partner.billing_timezone = ACME_ZONE
    partner.save()
    lines = [
        helpline,
        Helpline.objects.create(
            public_id="sos-fr-01", name="SOS Ecoute Example", country_code="FR"
        ),
        Helpline.objects.create(
            public_id="lifeline-au-01", name="Lifeline Example", country_code="AU"
        ),
    ]
    now = timezone.now()
    zone = ZoneInfo(ACME_ZONE)
    open_month = now.astimezone(zone).date().replace(day=1)
    closed_month = (open_month - timedelta(days=80)).replace(day=1)
    closed_start = datetime.combine(closed_month, datetime.min.time(), zone)
    recent_start = now - timedelta(days=40)
    rng = random.Random(7)
    our_key, _ = issue_key(partner=partner, name="production")
    our_test_key, _ = issue_key(partner=partner, name="staging", is_test=True)
    their_key, _ = issue_key(partner=other_partner, name="beacon-production")
    for key, prefix, volume in [
        (our_key, "acme-sess", 1),
        (our_test_key, "acme-test", 1),
        (their_key, "beacon-sess", 2),
    ]:
        events = _events(rng, lines, prefix, recent_start, 40, 6 * volume)
        events = [event for event in events if event.timestamp < now - timedelta(minutes=2)]
        events += _events(rng, lines, f"{prefix}-old", closed_start, 20, 6 * volume)
        record_events(partner=key.partner, api_key=key, events=events)
    # A click of A's a few minutes ago: this month always has an event, even on its 1st.
    record_events(
        partner=partner,
        api_key=our_key,
        events=[
            NewEvent(
                EventType.CLICK,
                helpline.pk,
                helpline.public_id,
                "acme-now",
                now - timedelta(minutes=1),
                "phone",
            )
        ],
    )
    roll_up(now=now)
    return Traffic(
        ours=partner,
        theirs=other_partner,
        lines=lines,
        their_key=their_key,
        closed_month=closed_month,
        open_month=open_month,
        their_secrets=["beacon", "Beacon Search", their_key.prefix],
    )


def body(response: HttpResponseBase) -> bytes:
    """The whole body of a response, streamed (the CSV exports) or not."""
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content)  # type: ignore[arg-type]
    assert isinstance(response, HttpResponse)
    return response.content


def without_generated_at(csv_bytes: bytes) -> bytes:
    """A CSV export but its `# generated at:` line, the one line two downloads differ by."""
    return b"".join(
        line
        for line in csv_bytes.splitlines(keepends=True)
        if not line.startswith(b"# generated at: ")
    )
