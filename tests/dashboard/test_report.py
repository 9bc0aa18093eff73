"""The impact report (page and PDF), paired services on the partner page and in paired.csv,
and load episodes on the load page."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pypdf
import pytest
import time_machine
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from dashboard.templatetags.dashboard_format import num, percent
from helplines.models import Helpline, LoadEpisode, Partner
from helplines.services import issue_key, pair_helplines
from tests.conftest import IssuedKey, Send

AUGUST = datetime(2026, 8, 14, 9, 0, tzinfo=UTC)
Q3 = {"start": "2026-07-01", "end": "2026-09-30", "tz": "UTC"}


@pytest.fixture
def youth(transactional_db: None, helpline: Helpline) -> Helpline:
    line = Helpline.objects.create(
        public_id="youth-line-gb", name="Youth Line Example", country_code="IE", is_priority=True
    )
    pair_helplines(helpline=helpline, other=line)
    return line


@pytest.fixture
def traffic(
    send: Send,
    live_key: IssuedKey,
    test_key: IssuedKey,
    other_partner: Partner,
    helpline: Helpline,
    youth: Helpline,
) -> None:
    """Q3 2026 and the quarter before for Acme; another partner's and test traffic beside."""
    key = live_key.key
    for n in range(6):
        send(key, helpline, f"s{n}", AUGUST + timedelta(days=n))
    send(key, youth, "s0", AUGUST + timedelta(minutes=3))  # s0 shows the pair together
    send(key, helpline, "s1", AUGUST + timedelta(days=1, minutes=5), "phone")
    send(key, youth, "s0", AUGUST + timedelta(minutes=4), "online_chat")
    for n in range(3):
        send(key, helpline, f"p{n}", datetime(2026, 5, 2, tzinfo=UTC) + timedelta(hours=n))
    other_key, _ = issue_key(partner=other_partner, name="live")
    send(other_key, helpline, "o1", AUGUST)
    send(test_key.key, helpline, "t1", AUGUST)


def row_value(html: str, table: str, key: str, attribute: str = "data-kpi") -> list[str]:
    section = html[html.index(f'id="{table}"') :]
    match = re.search(rf'{attribute}="{key}">(.*?)</tr>', section, re.S)
    assert match, (table, key)
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)]


def test_the_report_shows_the_dashboards_figures_for_the_same_period(
    staff_client: Client, traffic: None
) -> None:
    dashboard = staff_client.get("/dashboard/partners/acme/", Q3)
    report = staff_client.get("/dashboard/partners/acme/report/", Q3)

    assert report.status_code == 200
    for name in ("totals", "kpis", "days", "contact_methods"):
        assert report.context[name] == dashboard.context[name], name
    totals = report.context["totals"]
    assert (totals.displays, totals.clicks, totals.sessions_reached) == (7, 2, 6)
    html = report.content.decode()
    assert row_value(html, "report-kpis", "displays") == ["7", "3", "+133.3%"]
    assert row_value(html, "report-kpis", "clicks") == ["2", "0", "\N{EN DASH}"]
    assert row_value(html, "report-kpis", "ctr") == [percent(totals.ctr), "0.00%", "\N{EN DASH}"]
    assert row_value(html, "report-kpis", "conversion-rate")[0] == percent(totals.conversion_rate)
    assert row_value(html, "report-methods", "phone", "data-method") == ["1", "50.0%"]
    assert row_value(html, "report-helplines", "youth-line-gb", "data-helpline") == [
        "IE",
        "1",
        "1",
        "100.00%",
        "1",
    ]
    assert [code for code, _, _ in report.context["countries"]] == ["GB", "IE"]
    # s1..s5 showed the GB line without its pair on their days; s0 showed both.
    assert row_value(html, "report-paired", "paired", "data-paired") == ["6"]
    assert row_value(html, "report-paired", "alone", "data-paired") == ["5"]
    assert "2026-07-01 00:00 +0000 (inclusive) to 2026-10-01 00:00 +0000 (exclusive)" in html


def test_the_report_defaults_to_the_last_whole_quarter(
    staff_client: Client, partner: Partner
) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False):
        response = staff_client.get("/dashboard/partners/acme/report/")

    query = response.context["query"]
    assert (query.first_day, query.last_day, str(query.tz)) == (
        date(2026, 7, 1),
        date(2026, 9, 30),
        "UTC",
    )
    # Nothing in that quarter: the report says so and offers the last 30 days.
    html = response.content.decode()
    assert "No live event of Acme Chat in this period." in html
    assert 'id="report-last-30" href="/dashboard/partners/acme/report/?range=30d' in html


def test_a_report_with_events_does_not_say_the_period_is_empty(
    staff_client: Client, traffic: None
) -> None:
    html = staff_client.get("/dashboard/partners/acme/report/", Q3).content.decode()

    assert 'id="report-empty"' not in html


def test_the_report_is_a_csp_clean_page_without_inline_script_or_style(
    staff_client: Client, partner: Partner
) -> None:
    response = staff_client.get("/dashboard/partners/acme/report/", Q3)

    html = response.content.decode()
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert re.findall(r"<script|<style|\sstyle=", html) == []
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_the_pdf_opens_and_holds_the_partner_and_its_totals(
    staff_client: Client, traffic: None
) -> None:
    response = staff_client.get("/dashboard/partners/acme/report.pdf", Q3)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="impact-acme-2026-07-01-2026-09-30.pdf"'
    )
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    totals = staff_client.get("/dashboard/partners/acme/", Q3).context["totals"]
    assert "Acme Chat" in text
    assert f"Displays {num(totals.displays)} 3 +133.3%" in text
    assert f"Clicks {num(totals.clicks)} 0" in text
    assert f"Sessions reached {num(totals.sessions_reached)} 3" in text
    assert "1 July 2026 to 30 September 2026" in text


def test_a_pdf_of_a_period_that_does_not_parse_is_a_400(
    staff_client: Client, partner: Partner
) -> None:
    response = staff_client.get(
        "/dashboard/partners/acme/report.pdf", {"start": "2026-09-30", "end": "2026-07-01"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["report/", "report.pdf"])
def test_the_report_is_for_staff_only(client: Client, partner: Partner, path: str) -> None:
    response = client.get(f"/dashboard/partners/acme/{path}")
    assert response.status_code == 302
    client.force_login(User.objects.create_user("intern", password="x-pass-123", is_staff=True))
    assert client.get(f"/dashboard/partners/acme/{path}").status_code == 403


def test_the_partner_page_links_the_report_and_shows_paired_services(
    staff_client: Client, traffic: None
) -> None:
    html = staff_client.get("/dashboard/partners/acme/", Q3).content.decode()

    # The report of the page's own period, and the default one (the last quarter).
    assert (
        'href="/dashboard/partners/acme/report/?range=custom&amp;start=2026-07-01'
        '&amp;end=2026-09-30&amp;tz=UTC"' in html
    )
    assert 'href="/dashboard/partners/acme/report/?range=last_quarter&amp;tz=UTC"' in html
    assert row_value(html, "paired-table", "paired", "data-paired") == ["6"]
    assert row_value(html, "paired-table", "alone", "data-paired") == ["5"]


def test_paired_csv_has_counts_per_day_and_partner_and_no_session(
    staff_client: Client, traffic: None
) -> None:
    response = staff_client.get("/dashboard/export/paired.csv", Q3 | {"partner": "acme"})

    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    lines = body.splitlines()
    assert (
        lines[0] == "# Throughline paired services: sessions displaying one service of a pair alone"
    )
    assert "# window: 10 minutes" in lines
    rows = list(csv.reader(line for line in lines if not line.startswith("#")))
    assert rows == [
        ["date", "partner", "partner_name", "sessions_paired", "sessions_alone", "alone_rate"],
        ["2026-08-14", "acme", "Acme Chat", "1", "0", "0.0000"],
        *([f"2026-08-{14 + n}", "acme", "Acme Chat", "1", "1", "1.0000"] for n in range(1, 6)),
    ]
    assert "s1" not in body


def test_the_load_page_lists_the_episodes(staff_client: Client, helpline: Helpline) -> None:
    started = datetime(2026, 11, 10, 13, tzinfo=UTC)
    LoadEpisode.objects.create(
        helpline=helpline,
        started_at=started,
        last_over_at=started + timedelta(minutes=45),
        ended_at=started + timedelta(hours=1, minutes=45),
        peak_clicks=61,
        peak_at=started + timedelta(minutes=15),
        capacity=50,
    )
    LoadEpisode.objects.create(
        helpline=helpline,
        started_at=started + timedelta(days=1),
        last_over_at=started + timedelta(days=1),
        peak_clicks=55,
        peak_at=started + timedelta(days=1),
        capacity=50,
    )

    html = staff_client.get("/dashboard/load/").content.decode()

    section = html[html.index('id="episodes-table"') :]
    rows = [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr data-helpline=[^>]*>(.*?)</tr>", section, re.S)
    ]
    assert rows == [
        [
            "Samaritans Example",
            "2026-11-11 13:00",
            "2026-11-11 13:00",
            "ongoing",
            "55",
            "2026-11-11 13:00",
            "50",
        ],
        [
            "Samaritans Example",
            "2026-11-10 13:00",
            "2026-11-10 13:45",
            "2026-11-10 14:45",
            "61",
            "2026-11-10 13:15",
            "50",
        ],
    ]


def test_the_helpline_admin_page_lists_its_episodes(
    helpline: Helpline, settings: Settings, db: None
) -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "root-pass-123")
    client = Client()
    client.force_login(admin)
    LoadEpisode.objects.create(
        helpline=helpline,
        started_at=timezone.now(),
        last_over_at=timezone.now(),
        peak_clicks=70,
        peak_at=timezone.now(),
        capacity=50,
    )

    html = client.get(f"/admin/helplines/helpline/{helpline.pk}/change/").content.decode()

    assert "peak 70 clicks in an hour (capacity 50)" in html
    assert client.get("/admin/helplines/loadepisode/").status_code == 200


@pytest.mark.browser
def test_the_report_reads_on_a_phone_without_csp_violations(
    browser_page: Any, live_server: LiveServer, partner: Partner
) -> None:
    User.objects.create_user("phone", password="phone-pass-123", is_staff=True).groups.add(
        __import__("tests.dashboard.conftest", fromlist=["x"]).analysts_group()
    )
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/dashboard/partners/acme/report/?start=2026-07-01&end=2026-09-30")
    page.fill("#id_username", "phone")
    page.fill("#id_password", "phone-pass-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#report-partner")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []
