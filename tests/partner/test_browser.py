"""A partner user in a real browser (Debian's Chromium, a real server): created by the
command, sets a password through the link, signs in on the one sign-in page, reads its
analytics (the staff figures), downloads report.csv and its statement, opens its impact
report, fits a phone's screen, signs out."""

import csv
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from events.models import BillingStatement
from tests.partner.conftest import ACME_ZONE, Traffic

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="screenshots-"))
PASSWORD = "a-partner-passphrase-91c2"
LINK = re.compile(r"^https?://[^/\s]+(/account/password/set/[^/]+/[^/]+/)$", re.M)
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def read_csv(page: Any, selector: str) -> tuple[str, list[dict[str, str]]]:
    """The suggested file name and the rows of the CSV a click downloads."""
    with page.expect_download() as info:
        page.click(selector)
    text = Path(info.value.path()).read_text()
    assert text.startswith("# Throughline")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return info.value.suggested_filename, list(csv.DictReader(io.StringIO(body)))


def assert_clean(page: Any) -> None:
    assert page.console_errors == []
    assert page.evaluate("window.__cspViolations") == []


def kpi(page: Any, name: str) -> str:
    return str(page.inner_text(f'[data-kpi="{name}"] .kpi-value'))


def test_a_partner_user_signs_in_reads_its_figures_and_downloads_its_files(
    browser_page: Any, live_server: LiveServer, traffic: Traffic, analyst_client: Client
) -> None:
    page = browser_page
    out = io.StringIO()
    call_command("create_partner_user", "acme", "pat", "--email", "pat@acme.example", stdout=out)
    match = LINK.search(out.getvalue())
    assert match is not None, out.getvalue()

    # The one-time link, then the sign-in page every user shares.
    page.goto(live_server.url + match[1])
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", "pat")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/partner/")
    assert page.inner_text("h1") == "Analytics"
    assert page.text_content("#signed-in-as") == "pat, Acme Chat"
    assert page.input_value("#id_tz") == ACME_ZONE
    assert_clean(page)

    # The figures staff see on Acme's page for the same period and zone.
    staff = analyst_client.get("/dashboard/partners/acme/", {"range": "30d", "tz": ACME_ZONE})
    totals = staff.context["totals"]
    assert kpi(page, "displays") == f"{totals.displays:,}"
    assert kpi(page, "clicks") == f"{totals.clicks:,}"
    assert page.locator("svg.chart-plot rect.hover").count() == 30
    assert page.locator("#countries-table tbody tr").count() == 3
    assert page.locator("#id_partner").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "partner-analytics.png"), full_page=True)

    name, report = read_csv(page, "#export-report")
    assert name.startswith("report-") and "-acme-" in name
    assert {row["partner"] for row in report} == {"acme"}
    assert sum(int(row["displays"]) for row in report) == totals.displays
    assert sum(int(row["clicks"]) for row in report) == totals.clicks
    _, events = read_csv(page, "#export-events")
    assert len(events) == totals.displays + totals.clicks
    assert {row["partner"] for row in events} == {"acme"}

    # Another period and zone through the form: the page and the link keep them.
    page.select_option("#id_range", "7d")
    page.fill("#id_tz", "UTC")
    page.click("input[type=submit][value=Apply]")
    page.wait_for_url("**/partner/?**range=7d**")
    staff = analyst_client.get("/dashboard/partners/acme/", {"range": "7d", "tz": "UTC"})
    assert kpi(page, "displays") == f"{staff.context['totals'].displays:,}"
    assert_clean(page)

    # The statement of a closed month: staff's billing row, its SHA-256 on the page.
    stored = BillingStatement.objects.get(partner=traffic.ours, month=traffic.closed_month)
    page.click("#nav-statement")
    page.wait_for_url("**/partner/statement/")
    page.fill("#id_month", f"{traffic.closed_month:%Y-%m}")
    page.click("input[type=submit][value=Show]")
    page.wait_for_url(f"**/partner/statement/?month={traffic.closed_month:%Y-%m}")
    assert "closed" in page.inner_text("#statement-status")
    assert kpi(page, "displays") == f"{stored.displays:,}"
    assert stored.sha256 in page.inner_text("#statement-sha256")
    page.screenshot(path=str(SCREENSHOTS / "partner-statement.png"), full_page=True)
    name, statement = read_csv(page, "#download-statement")
    assert name == f"billing-{traffic.closed_month:%Y-%m}-acme.csv"
    assert [(row["partner"], row["status"], row["sha256"]) for row in statement] == [
        ("acme", "closed", stored.sha256)
    ]
    assert int(statement[0]["displays"]) == stored.displays
    assert_clean(page)

    # The impact report, from the analytics page, and its PDF.
    page.click("#nav-home")
    page.click("#impact-report")
    page.wait_for_url("**/partner/report/**")
    assert page.inner_text("#report-partner") == "Acme Chat"
    with page.expect_download() as info:
        page.click("#report-pdf")
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF-")
    assert info.value.suggested_filename.startswith("impact-acme-")
    assert_clean(page)

    # On a phone: no sideways scrolling on any of the partner's pages.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ["/partner/", "/partner/statement/", "/partner/report/"]:
        page.goto(live_server.url + path)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), path
        assert_clean(page)
    page.goto(f"{live_server.url}/partner/")
    page.screenshot(path=str(SCREENSHOTS / "phone-partner-analytics.png"))

    # The staff dashboard is not theirs; signing out ends the session.
    response = page.goto(f"{live_server.url}/dashboard/partners/beacon/")
    assert response is not None and response.status == 403
    page.goto(f"{live_server.url}/partner/")
    page.click("#sign-out")
    page.wait_for_url("**/admin/login/**")
    page.goto(f"{live_server.url}/partner/")
    assert "/admin/login/" in page.url
