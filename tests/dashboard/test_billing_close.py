"""Billing months close: past the late-arrival window in the partner's billing time zone,
a month's statement is stored, billing.csv answers it as `closed` with its date and SHA-256,
and it never changes afterwards, whatever arrives later."""

import hashlib
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.test import Client

from events.metrics import EventFilter, totals
from events.models import BillingStatement, EventType
from events.rollup import roll_up
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner
from tests.conftest import IssuedKey, Send
from tests.dashboard.test_exports import download

# 18:30 UTC on 31 October is midnight in Kolkata (UTC+05:30): October there ends then.
OCTOBER_ENDS_IN_KOLKATA = datetime(2026, 10, 31, 18, 30, tzinfo=UTC)
# Seven days of late arrivals (EVENTS_LATE_ARRIVAL_DAYS) and an hour's margin later.
OCTOBER_CLOSES = OCTOBER_ENDS_IN_KOLKATA + timedelta(days=7, hours=1)
STATEMENT_LINE = "acme,Acme Chat,2026-10,Asia/Kolkata,1,1,1.0000,1,1,1.0000\r\n"


def october(client: Client) -> dict[str, str]:
    _, rows = download(client, "/dashboard/export/billing.csv", {"month": "2026-10"})
    [row] = rows
    return row


def test_a_month_closes_after_the_late_window_in_the_billing_zone_and_never_changes(
    staff_client: Client,
    send: Send,
    partner: Partner,
    live_key: IssuedKey,
    helpline: Helpline,
) -> None:
    partner.billing_timezone = "Asia/Kolkata"
    partner.save()
    key = live_key.key
    send(key, helpline, "s1", OCTOBER_ENDS_IN_KOLKATA - timedelta(minutes=30))  # 23:30 IST
    send(key, helpline, "s1", OCTOBER_ENDS_IN_KOLKATA - timedelta(minutes=25), "phone")
    send(key, helpline, "s2", OCTOBER_ENDS_IN_KOLKATA)  # 1 November, 00:00 IST

    roll_up(now=OCTOBER_CLOSES - timedelta(seconds=1))
    assert october(staff_client) == {
        "partner": "acme",
        "partner_name": "Acme Chat",
        "month": "2026-10",
        "timezone": "Asia/Kolkata",
        "displays": "1",
        "clicks": "1",
        "ctr": "1.0000",
        "sessions_reached": "1",
        "sessions_converted": "1",
        "conversion_rate": "1.0000",
        "status": "open",
        "closed_at": "",
        "sha256": "",
    }
    assert not BillingStatement.objects.exists()

    roll_up(now=OCTOBER_CLOSES)
    closed = october(staff_client)
    assert closed["status"] == "closed"
    assert closed["closed_at"] == "2026-11-07T19:30:00+00:00"
    assert closed["sha256"] == hashlib.sha256(STATEMENT_LINE.encode()).hexdigest()
    assert (closed["displays"], closed["clicks"], closed["sessions_reached"]) == ("1", "1", "1")

    # An event for October stored after the close (it would be refused as too old over the
    # API; written here directly) reaches the aggregates but not the closed statement.
    record_events(
        partner=partner,
        api_key=key,
        events=[
            NewEvent(
                EventType.DISPLAY,
                helpline.pk,
                helpline.public_id,
                "s3",
                OCTOBER_ENDS_IN_KOLKATA - timedelta(hours=2),
            )
        ],
    )
    partner.name = "Acme Chat Renamed"
    partner.save()
    roll_up(now=OCTOBER_CLOSES + timedelta(days=40))
    live = totals(
        EventFilter(
            start=OCTOBER_ENDS_IN_KOLKATA - timedelta(days=31),
            end=OCTOBER_ENDS_IN_KOLKATA,
            partner_ids=frozenset({partner.pk}),
        )
    )
    assert live.displays == 2
    assert october(staff_client) == closed
    assert BillingStatement.objects.filter(partner=partner, month__month=10).count() == 1


def test_a_month_still_open_in_the_billing_zone_stays_open(
    staff_client: Client,
    send: Send,
    partner: Partner,
    live_key: IssuedKey,
    helpline: Helpline,
) -> None:
    # Honolulu is UTC-10: its October ends ten hours after UTC's, and closes as late.
    partner.billing_timezone = "Pacific/Honolulu"
    partner.save()
    send(live_key.key, helpline, "s1", datetime(2026, 11, 1, 5, tzinfo=UTC))  # 31 Oct, 19:00
    utc_close = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=7, hours=1)

    roll_up(now=utc_close + timedelta(hours=9, minutes=59))
    assert october(staff_client)["status"] == "open"
    roll_up(now=utc_close + timedelta(hours=10))
    row = october(staff_client)
    assert (row["status"], row["displays"], row["timezone"]) == (
        "closed",
        "1",
        "Pacific/Honolulu",
    )


def test_staff_see_closed_statements_in_the_admin_and_cannot_change_them(
    superuser: User,
    send: Send,
    partner: Partner,
    live_key: IssuedKey,
    helpline: Helpline,
) -> None:
    send(live_key.key, helpline, "s1", datetime(2026, 10, 15, tzinfo=UTC))
    roll_up(now=datetime(2026, 11, 9, tzinfo=UTC))
    statement = BillingStatement.objects.get(partner=partner, month=datetime(2026, 10, 1).date())
    client = Client()
    client.force_login(superuser)

    listing = client.get("/admin/events/billingstatement/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "2026-10" in html and statement.sha256 in html and "Acme Chat" in html
    assert client.get("/admin/events/billingstatement/add/").status_code == 403
    pk = f"{partner.pk},2026-10-01"
    assert client.post(f"/admin/events/billingstatement/{pk}/delete/").status_code == 403
    assert BillingStatement.objects.filter(partner=partner).count() == 1
