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
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

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
    browser_page: Any, live_server: Any, rolled_up: Callable[[], None]
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
    assert page.locator("svg.chart rect.hover").count() == 30
    assert "displays" in page.locator("svg.chart rect.hover title").first.text_content()
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
    page.select_option("#id_tz", "America/New_York")
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

    billing = read_download(page, "#export-billing")
    assert [row["partner"] for row in billing] == ["harbor"]
    month = now.astimezone(UTC).strftime("%Y-%m")
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

    page.click("a[aria-current=page] >> text=Load on priority helplines") if False else page.goto(
        f"{live_server.url}/dashboard/load/"
    )
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
