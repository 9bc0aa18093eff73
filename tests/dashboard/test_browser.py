"""The dashboard in a real browser: log in, filter, download every export, no CSP violation.

Runs Debian's Chromium through playwright (never `playwright install`) and saves the
screenshots shown in the README under docs/screenshots/.
"""

import csv
import io
import os
import random
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from events.models import ContactMethod, EventType
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner
from helplines.services import issue_key

pytestmark = pytest.mark.browser

# SCREENSHOTS_DIR keeps the test's screenshots (README pictures come from `make screenshots`);
# by default they go to a scratch folder and the tree stays untouched.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="screenshots-"))
METHOD_WEIGHTS = {
    "phone": 50,
    "online_chat": 15,
    "website": 15,
    "sms": 9,
    "whatsapp": 7,
    "tty": 2,
    "reporting_form": 2,
}


def demo_traffic(now: datetime) -> Counter[tuple[str, str, str]]:
    """A month of plausible traffic from three partners, through the only write path.

    Returns the independent count: (partner slug, helpline id, "displays" or a method) -> n,
    live keys only, as each export must show it.
    """
    rng = random.Random(2026)
    lines = [
        Helpline.objects.create(
            public_id=f"line-{code.lower()}-{n}",
            name=name,
            country_code=code,
            is_priority=n == 1,
            hourly_capacity=capacity,
        )
        for n, (name, code, capacity) in enumerate(
            [
                ("Lifeline Example", "AU", 40),
                ("Listening Line UK", "GB", 3),
                ("Nightwatch Crisis Line", "US", 60),
                ("SOS Ecoute France", "FR", None),
                ("Kia Ora Support Line", "NZ", 10),
            ]
        )
    ]
    lines[0].is_priority = True
    lines[0].save()
    expected: Counter[tuple[str, str, str]] = Counter()
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for slug, name, volume, ctr in [
        ("lumen", "Lumen Assistant", 60, 0.13),
        ("harbor", "Harbor Social", 40, 0.08),
        ("wayfind", "Wayfind Search", 25, 0.1),
    ]:
        partner = Partner.objects.create(name=name, slug=slug)
        live, _ = issue_key(partner=partner, name="production")
        test, _ = issue_key(partner=partner, name="staging", is_test=True)
        for key in (live, test):
            events = []
            for day in range(29, -1, -1):
                for n in range(volume if not key.is_test else 3):
                    # Within the last 30 calendar days in UTC, never in the future.
                    when = (
                        midnight - timedelta(days=day) + timedelta(minutes=rng.randrange(24 * 60))
                    )
                    if when > now:
                        continue
                    line = rng.choice(lines)
                    session = f"{slug}-{day}-{n}"
                    events.append(
                        NewEvent(EventType.DISPLAY, line.pk, line.public_id, session, when)
                    )
                    if not key.is_test:
                        expected[(slug, line.public_id, "displays")] += 1
                    if rng.random() < ctr:
                        method = rng.choices(
                            list(METHOD_WEIGHTS), weights=list(METHOD_WEIGHTS.values())
                        )[0]
                        click_at = min(when + timedelta(seconds=30), now)
                        events.append(
                            NewEvent(
                                EventType.CLICK, line.pk, line.public_id, session, click_at, method
                            )
                        )
                        if not key.is_test:
                            expected[(slug, line.public_id, method)] += 1
            for start in range(0, len(events), 500):
                record_events(partner=partner, api_key=key, events=events[start : start + 500])
    return expected


def read_download(page: Any, selector: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.click(selector)
    text = Path(info.value.path()).read_text()
    lines = text.splitlines()
    assert lines[0].startswith("# Throughline")
    body = [line for line in lines if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(body))))


def assert_clean(page: Any) -> None:
    assert page.console_errors == []
    assert page.evaluate("window.__cspViolations") == []


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_staff_use_the_dashboard_and_exports_in_a_browser(
    browser_page: Any, live_server: LiveServer, rolled_up: Callable[[], None]
) -> None:
    page = browser_page
    now = timezone.now()
    expected = demo_traffic(now)
    rolled_up()  # as the scheduler does within a minute
    User.objects.create_superuser("manager", "manager@example.org", "manager-pass-123")

    page.goto(f"{live_server.url}/dashboard/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "manager")
    page.fill("#id_password", "manager-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/")
    assert_clean(page)

    # All partners, last 30 days, UTC: the totals equal what was sent.
    displays = sum(n for (_, _, kind), n in expected.items() if kind == "displays")
    clicks = sum(n for (_, _, kind), n in expected.items() if kind != "displays")
    assert page.inner_text('[data-kpi="displays"] .kpi-value') == f"{displays:,}"
    assert page.inner_text('[data-kpi="clicks"] .kpi-value') == f"{clicks:,}"
    assert page.locator("svg.chart-plot rect.hover").count() == 30
    assert "displays" in page.locator("svg.chart-plot rect.hover title").first.text_content()
    shot(page, "dashboard-overview.png")

    report = read_download(page, "#export-report")
    got: Counter[tuple[str, str, str]] = Counter()
    for row in report:
        got[(row["partner"], row["helpline_id"], "displays")] += int(row["displays"])
        for method in ContactMethod.values:
            got[(row["partner"], row["helpline_id"], method)] += int(row[f"clicks_{method}"])
    assert +got == +expected
    events = read_download(page, "#export-events")
    assert len(events) == displays + clicks
    assert (
        Counter((r["partner"], r["helpline_id"], r["contact_method"] or "displays") for r in events)
        == +expected
    )

    # Change filters: one partner, in another time zone, the last 7 days.
    page.select_option("#id_partner", "harbor")
    page.fill("#id_tz", "America/New_York")
    page.select_option("#id_range", "7d")
    page.click("input[type=submit][value=Apply]")
    page.wait_for_url("**partner=harbor**")
    assert "tz=America%2FNew_York" in page.url
    first_day = now.astimezone(ZoneInfo("America/New_York")).date() - timedelta(days=6)
    report = read_download(page, "#export-report")
    assert {row["partner"] for row in report} == {"harbor"}
    assert min(row["date"] for row in report) >= first_day.isoformat()
    shown = int(page.inner_text('[data-kpi="displays"] .kpi-value').replace(",", ""))
    assert shown == sum(int(row["displays"]) for row in report)
    assert_clean(page)

    # The billing control offers the last complete month; the current one is picked.
    last_month = (now.astimezone(UTC).date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert page.input_value("#id_billing_month") == last_month
    month = now.astimezone(UTC).strftime("%Y-%m")
    page.fill("#id_billing_month", month)
    billing = read_download(page, "#export-billing")
    assert [row["partner"] for row in billing] == ["harbor"]
    assert billing[0]["month"] == month

    # A partner's page, from the overview's partner table.
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    page.click('tr[data-partner="lumen"] a')
    page.wait_for_url("**/dashboard/partners/lumen/**")
    lumen_displays = sum(
        n for (slug, _, kind), n in expected.items() if slug == "lumen" and kind == "displays"
    )
    assert page.inner_text('[data-kpi="displays"] .kpi-value') == f"{lumen_displays:,}"
    assert page.locator("#keys-table tbody tr").count() == 2
    assert_clean(page)
    shot(page, "dashboard-partner.png")

    page.click("#tab-load")
    page.wait_for_url("**/dashboard/load/**")
    assert page.locator("#load-table tbody tr").count() == 2
    assert_clean(page)
    shot(page, "dashboard-load.png")

    page.goto(f"{live_server.url}/admin/")
    assert page.locator('a[href="/dashboard/"]').count() >= 1
    assert_clean(page)
    shot(page, "admin-index.png")

    page.goto(f"{live_server.url}/admin/events/event/?type__exact=helpline_click")
    assert_clean(page)
    shot(page, "admin-events.png")


def sign_in(page: Any, base: str, username: str, password: str, then: str = "/dashboard/") -> None:
    page.goto(f"{base}/admin/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def state_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_the_filter_state_survives_every_way_through_the_dashboard(
    browser_page: Any, live_server: LiveServer, rolled_up: Callable[[], None]
) -> None:
    page = browser_page
    demo_traffic(timezone.now())
    rolled_up()
    User.objects.create_superuser("manager", "manager@example.org", "manager-pass-123")
    sign_in(page, live_server.url, "manager", "manager-pass-123")
    state = {"range": ["mtd"], "tz": ["Europe/Paris"], "country": ["GB"]}
    page.goto(f"{live_server.url}/dashboard/?range=mtd&tz=Europe%2FParis&country=GB")

    # Overview -> a partner (the period stays "month to date", not its dates).
    page.click('tr[data-partner="lumen"] th a')
    page.wait_for_url("**/dashboard/partners/lumen/**")
    assert state_of(page.url) == state
    assert page.input_value("#id_range") == "mtd"
    assert page.input_value("#id_tz") == "Europe/Paris"
    # Apply changes nothing: the form shows the state as it is.
    page.click("input[type=submit][value=Apply]")
    page.wait_for_load_state()
    assert state_of(page.url)["range"] == ["mtd"] and state_of(page.url)["country"] == ["GB"]
    # Partner -> Overview tab, load tab, breadcrumb.
    page.click("#tab-load")
    page.wait_for_url("**/dashboard/load/**")
    assert state_of(page.url) == state | {"partner": ["lumen"]}
    page.click("#crumb-analytics")
    page.wait_for_url("**/dashboard/?**")
    assert state_of(page.url) == state | {"partner": ["lumen"]}
    page.click("#tab-overview")
    assert state_of(page.url) == state | {"partner": ["lumen"]}
    # Overview -> a helpline -> its admin page and back.
    page.goto(f"{live_server.url}/dashboard/?range=mtd&tz=Europe%2FParis&country=GB")
    page.click('tr[data-helpline="line-gb-1"] th a')
    page.wait_for_url("**/dashboard/helplines/line-gb-1/**")
    assert state_of(page.url) == state
    assert page.inner_text("#helpline-name") == "Listening Line UK"
    assert page.locator("#partners-table tbody tr").count() == 3
    assert page.locator("svg.chart-plot").count() == 3  # the trend and two load charts
    assert_clean(page)
    shown = int(page.inner_text('[data-kpi="displays"] .kpi-value').split()[0].replace(",", ""))
    assert shown > 0
    page.click("#helpline-back")
    page.wait_for_url("**/dashboard/?**")
    assert state_of(page.url) == state
    # Countries apply their filter; a sort and "show all" keep the state.
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    page.click('tr[data-country="AU"] th a')
    page.wait_for_url("**country=AU**")
    assert page.input_value("#id_country") == "AU"
    page.click('#helplines-table a[data-sort="name"]')
    page.wait_for_url("**sort=helplines**")
    assert state_of(page.url)["country"] == ["AU"]
    assert_clean(page)


def test_typed_dates_and_invalid_parameters_in_a_browser(
    browser_page: Any, live_server: LiveServer, rolled_up: Callable[[], None]
) -> None:
    page = browser_page
    User.objects.create_superuser("manager", "manager@example.org", "manager-pass-123")
    sign_in(page, live_server.url, "manager", "manager-pass-123")
    page.goto(f"{live_server.url}/dashboard/?range=7d")

    page.fill("#id_start", "2026-11-02")
    page.fill("#id_end", "2026-11-04")
    assert page.input_value("#id_range") == "custom"  # typing a date chooses Custom
    page.click("input[type=submit][value=Apply]")
    page.wait_for_url("**start=2026-11-02**")
    assert "2 Nov 2026 \N{EN DASH} 4 Nov 2026" in page.inner_text("#period")
    # Back to a preset: the typed dates are cleared, the preset is applied.
    page.select_option("#id_range", "30d")
    page.click("input[type=submit][value=Apply]")
    page.wait_for_load_state()
    assert state_of(page.url)["range"] == ["30d"] and "start" not in state_of(page.url)

    page.goto(f"{live_server.url}/dashboard/?range=7d&country=XX")
    assert page.inner_text("#filter-problems") == (
        "No helpline of the directory is in “XX”: all countries are shown."
    )
    assert page.input_value("#id_range") == "7d"
    assert_clean(page)


NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
# Each chart text's size on screen: its font size times the scale its SVG is drawn at.
SMALLEST_CHART_TEXT = """
Math.min(...Array.from(document.querySelectorAll("svg.chart-plot text, svg.chart-axis text"))
  .filter((t) => t.getBoundingClientRect().width > 0)
  .map((t) => parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a))
"""
# Pairs of visible x-axis labels of one chart that overlap.
OVERLAPPING_LABELS = """
Array.from(document.querySelectorAll("svg.chart-plot")).flatMap((svg) => {
  const boxes = Array.from(svg.querySelectorAll("text"))
    .map((t) => t.getBoundingClientRect()).filter((b) => b.width > 0);
  return boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom));
}).length
"""


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_pages_fit_the_screen_and_their_charts_stay_readable(
    browser_page: Any,
    live_server: LiveServer,
    rolled_up: Callable[[], None],
    width: int,
    height: int,
) -> None:
    page = browser_page
    demo_traffic(timezone.now())
    rolled_up()
    User.objects.create_superuser("manager", "manager@example.org", "manager-pass-123")
    sign_in(page, live_server.url, "manager", "manager-pass-123")
    page.set_viewport_size({"width": width, "height": height})

    for path in [
        "/dashboard/",
        "/dashboard/?range=custom&start=2026-11-10&end=2026-11-10",
        "/dashboard/partners/lumen/",
        "/dashboard/helplines/line-gb-1/",
        "/dashboard/load/",
    ]:
        page.goto(live_server.url + path)
        assert page.evaluate(NO_SIDEWAYS_SCROLL), path
        assert page.evaluate(SMALLEST_CHART_TEXT) >= 11, path
        assert page.evaluate(OVERLAPPING_LABELS) == 0, path
        assert_clean(page)
        if width < 500:
            shot(page, f"phone-{path.strip('/').replace('/', '-') or 'overview'}.png")

    # The load page: the status of each helpline is on screen without scrolling.
    page.goto(f"{live_server.url}/dashboard/load/")
    status = page.locator("#load-table thead th", has_text="Status").bounding_box()
    assert status is not None and status["x"] + status["width"] <= width
    # Wide tables scroll in their own box, not the page.
    page.goto(f"{live_server.url}/dashboard/")
    table = page.locator("#partners-table").bounding_box()
    box = page.locator("#partners-table").locator("xpath=..").bounding_box()
    assert table is not None and box is not None and box["x"] + box["width"] <= width


def test_staff_outside_the_analysts_group_see_who_grants_access(
    browser_page: Any, live_server: LiveServer
) -> None:
    page = browser_page
    User.objects.create_user("intern", password="intern-pass-123", is_staff=True)
    sign_in(page, live_server.url, "intern", "intern-pass-123")

    response = page.goto(f"{live_server.url}/dashboard/")

    assert response is not None and response.status == 403
    assert "Analysts" in page.inner_text("#forbidden")
    assert page.locator("#header").count() == 1  # the admin's look
    # The browser logs the page's own 403 status; nothing else may go wrong.
    assert [e for e in page.console_errors if "status of 403" not in e] == []
    assert page.evaluate("window.__cspViolations") == []
