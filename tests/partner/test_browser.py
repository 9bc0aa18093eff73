"""A partner user in a real browser (Debian's Chromium, a real server): created by the
command, sets a password through the link, signs in on the one sign-in page, reads its
analytics (the staff figures), downloads report.csv and its statement, opens its impact
report, fits a phone's screen, signs out; issues a key and an OAuth client, sends events
with both over HTTP, revokes both and sees them refused."""

import csv
import io
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from events.models import BillingStatement, Event
from helplines.models import Helpline, Partner, PartnerAPIKey
from tests.api.bodies import iso
from tests.partner.conftest import ACME_ZONE, Traffic
from tests.partner.conftest import PASSWORD as PARTNER_PASSWORD

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
    for path in [
        "/partner/",
        "/partner/statement/",
        "/partner/report/",
        "/partner/integration/",
        "/partner/keys/",
    ]:
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


def _http(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A real HTTP request to the live server, as a partner's server sends it."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _display(base: str, helpline: Helpline, authorization: str, session: str) -> tuple[int, Any]:
    body = json.dumps(
        {
            "helpline_id": helpline.public_id,
            "session_id": session,
            "timestamp": iso(timezone.now()),
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Authorization": authorization}
    return _http(f"{base}/v1/events/helpline_display", body, headers)


def test_a_partner_user_issues_a_key_and_a_client_sends_with_both_and_revokes_them(
    browser_page: Any,
    live_server: LiveServer,
    partner_user: User,
    partner: Partner,
    helpline: Helpline,
) -> None:
    page, base = browser_page, live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", partner_user.username)
    page.fill("#id_password", PARTNER_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/partner/")

    # A live key, shown once; the partner's server sends an event with it.
    page.click("#nav-keys")
    page.wait_for_url("**/partner/keys/")
    page.fill("#issue-key-form input[name=name]", "production")
    page.check("#issue-key-form input[name=kind][value=live]")
    page.click("#issue-key-form input[type=submit]")
    raw_key = page.inner_text("#raw-secret").strip()
    status, answer = _display(base, helpline, f"Bearer {raw_key}", "with-the-key")
    assert status == 201, answer
    assert_clean(page)

    # An OAuth client, shown once; a token from /oauth/token sends another.
    page.click("#back-to-keys")
    page.fill("#new-client-form input[name=name]", "ingest servers")
    page.check("#new-client-form input[name=kind][value=live]")
    page.click("#new-client-form input[type=submit]")
    client_id = page.inner_text("#client-id").strip()
    secret = page.inner_text("#raw-secret").strip()
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    ).encode()
    status, token = _http(
        f"{base}/oauth/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200, token
    bearer = f"Bearer {token['access_token']}"
    status, answer = _display(base, helpline, bearer, "with-the-token")
    assert status == 201, answer
    assert Event.objects.filter(partner=partner).count() == 2

    # Both revoked from the page, after confirming: the API refuses them at once.
    page.click("#back-to-keys")
    prefix = PartnerAPIKey.objects.get(partner=partner).prefix
    page.click(f"#revoke-{prefix}")
    page.check("#revoke-form input[name=confirm]")
    page.click("#revoke-form input[type=submit]")
    page.wait_for_url("**/partner/keys/**")
    status, answer = _display(base, helpline, f"Bearer {raw_key}", "after-revoking")
    assert (status, answer["error"]["code"]) == (403, "key_revoked")
    label = page.get_attribute("#clients-table tbody tr[data-label]", "data-label")
    page.click(f"#revoke-{label}")
    page.check("#revoke-form input[name=confirm]")
    page.click("#revoke-form input[type=submit]")
    page.wait_for_url("**/partner/keys/**")
    status, answer = _display(base, helpline, bearer, "after-revoking-the-client")
    assert (status, answer["error"]["code"]) == (401, "invalid_token")
    assert Event.objects.filter(partner=partner).count() == 2

    # Every action is on the page, with who did it.
    activity = page.inner_text("#activity-table")
    assert activity.count(partner_user.username) >= 4, activity
    assert_clean(page)
