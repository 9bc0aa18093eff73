"""The partner's monthly statement: staff's billing.csv row for their partner and month,
open or closed, on a page and as a file, the month read in their billing time zone."""

import csv
import io
from datetime import UTC, date, datetime

import time_machine
from django.test import Client

from events.models import BillingStatement
from helplines.models import Partner
from tests.partner.conftest import ACME_ZONE, Traffic, body, without_generated_at


def _staff_billing(client: Client, month: date) -> bytes:
    response = client.get(
        "/dashboard/export/billing.csv", {"month": f"{month:%Y-%m}", "partner": "acme"}
    )
    assert response.status_code == 200
    return body(response)


def _data_rows(csv_bytes: bytes) -> list[bytes]:
    """The lines after the header (the `#` lines and the header itself apart)."""
    lines = [line for line in csv_bytes.splitlines(keepends=True) if not line.startswith(b"#")]
    return lines[1:]


def _row(csv_bytes: bytes) -> dict[str, str]:
    text = "".join(
        line for line in csv_bytes.decode().splitlines(keepends=True) if not line.startswith("#")
    )
    [row] = list(csv.DictReader(io.StringIO(text)))
    return row


def test_a_closed_month_is_the_stored_statement_as_staff_download_it(
    traffic: Traffic, partner_client: Client, analyst_client: Client
) -> None:
    month = traffic.closed_month
    stored = BillingStatement.objects.get(partner=traffic.ours, month=month)
    staff = _staff_billing(analyst_client, month)
    # Another partner named in the query string changes nothing.
    own = partner_client.get(
        "/partner/statement.csv", {"month": f"{month:%Y-%m}", "partner": "beacon"}
    )
    assert own.status_code == 200
    assert own["Content-Disposition"] == f'attachment; filename="billing-{month:%Y-%m}-acme.csv"'
    own_bytes = body(own)
    assert without_generated_at(own_bytes) == without_generated_at(staff)
    [line] = _data_rows(own_bytes)
    assert line == _data_rows(staff)[0]
    row = _row(own_bytes)
    assert (row["partner"], row["month"], row["timezone"]) == ("acme", f"{month:%Y-%m}", ACME_ZONE)
    assert (row["status"], row["sha256"]) == ("closed", stored.sha256)
    assert int(row["displays"]) == stored.displays > 0
    assert b"beacon" not in own_bytes

    page = partner_client.get("/partner/statement/", {"month": f"{month:%Y-%m}"})
    assert page.status_code == 200
    assert page.context["statement"].cells == row
    html = page.content.decode()
    assert '<span class="flag flag-ok">closed</span>' in html
    assert f"closed on {row['closed_at']} (UTC)" in html
    assert f"<code>{stored.sha256}</code>" in html
    assert f'href="/partner/statement.csv?month={month:%Y-%m}"' in html
    assert page.context["figures"] == [
        ("Displays", stored.displays, False),
        ("Clicks", stored.clicks, False),
        ("CTR", page.context["statement"].ratio("ctr"), True),
        ("Sessions reached", stored.sessions_reached, False),
        ("Sessions converted", stored.sessions_converted, False),
        ("Conversion rate", page.context["statement"].ratio("conversion_rate"), True),
    ]
    assert f"{stored.displays:,}" in html


def test_an_open_month_shows_the_figures_so_far_as_staff_see_them(
    traffic: Traffic, partner_client: Client, analyst_client: Client
) -> None:
    month = traffic.open_month
    staff = _staff_billing(analyst_client, month)
    own = body(partner_client.get("/partner/statement.csv", {"month": f"{month:%Y-%m}"}))
    assert _data_rows(own) == _data_rows(staff)
    row = _row(own)
    assert (row["status"], row["closed_at"], row["sha256"]) == ("open", "", "")
    assert int(row["clicks"]) >= 1  # the click of a minute ago
    page = partner_client.get("/partner/statement/", {"month": f"{month:%Y-%m}"})
    assert page.context["statement"].cells == row
    html = page.content.decode()
    assert '<span class="flag flag-partial">open</span>' in html
    assert 'id="statement-sha256"' not in html
    assert 'id="next-month"' not in html  # no statement for a month not begun


def test_the_default_month_is_the_last_one_over_in_the_billing_zone(
    partner: Partner, partner_client: Client
) -> None:
    partner.billing_timezone = ACME_ZONE
    partner.save()
    # 05:30 UTC is 00:30 in New York: November is over there too.
    with time_machine.travel(datetime(2026, 12, 1, 5, 30, tzinfo=UTC), tick=False):
        assert partner_client.get("/partner/statement/").context["month"] == date(2026, 11, 1)
    # 03:00 UTC on 1 December is still 30 November in New York: November is not over there.
    with time_machine.travel(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), tick=False):
        page = partner_client.get("/partner/statement/")
        assert page.context["month"] == date(2026, 10, 1)
        assert page.context["problems"] == []
        response = partner_client.get("/partner/statement.csv")
        assert response["Content-Disposition"] == 'attachment; filename="billing-2026-10-acme.csv"'
        row = _row(body(response))
        assert (row["month"], row["displays"], row["status"]) == ("2026-10", "0", "open")
        html = page.content.decode()
        assert 'href="/partner/statement/?month=2026-09"' in html
        assert 'href="/partner/statement/?month=2026-11"' in html
        # The analytics page's statement picker starts from the same month.
        analytics = partner_client.get("/partner/").content.decode()
        assert 'name="month" id="id_billing_month" value="2026-10"' in analytics


def test_a_month_that_is_not_one_or_not_begun_is_said_so(
    partner: Partner, partner_client: Client
) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        page = partner_client.get("/partner/statement/", {"month": "2026-13"})
        assert page.status_code == 200
        assert page.context["month"] == date(2026, 10, 1)
        assert page.context["problems"] == ["“2026-13” is not a month (year-month, e.g. 2026-10)."]
        page = partner_client.get("/partner/statement/", {"month": "2026-12"})
        assert page.context["month"] == date(2026, 10, 1)
        assert page.context["problems"] == [
            "2026-12 has not begun: there is no statement for it yet."
        ]
        page = partner_client.get("/partner/statement/", {"month": "2026-11"})
        assert (page.context["month"], page.context["problems"]) == (date(2026, 11, 1), [])
        assert "until it closes on 2026-12-08 01:00 UTC" in page.content.decode()
        # Long before the partner's first event: never closed, and said so.
        page = partner_client.get("/partner/statement/", {"month": "2020-01"})
        assert page.context["statement"].cells["status"] == "open"
        assert "a month before your first events is never closed" in page.content.decode()
        response = partner_client.get("/partner/statement.csv", {"month": "2026-13"})
        assert response.status_code == 400
        assert response["Content-Type"] == "text/plain; charset=utf-8"
