"""A partner user's analytics are the staff partner page with their partner fixed: the same
figures for the same filters, the same exports, on /partner/ links only."""

import re
from datetime import timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.pages import Breakdown
from events.models import EventType
from events.rollup import roll_up
from events.services import NewEvent, record_events
from helplines.models import Helpline
from tests.partner.conftest import ACME_ZONE, Traffic, body, without_generated_at

# Filters as the page's links carry them; each is read by staff and by the partner user.
FILTERS: list[dict[str, str]] = [
    {"tz": ACME_ZONE},
    {"range": "7d", "tz": "UTC"},
    {"range": "90d", "tz": "Europe/Paris"},
    {"range": "mtd", "tz": ACME_ZONE},
    {"range": "last_month", "tz": "Asia/Kolkata"},
    {"range": "custom", "start": "", "end": "", "tz": "UTC"},  # dates filled in below
    {"range": "30d", "tz": "UTC", "country": "FR"},
    {"range": "30d", "tz": ACME_ZONE, "helpline": "sos-fr-01"},
    {"range": "custom", "start": "", "end": "", "tz": "UTC", "sort": "helplines:name"},
]
# The parts of the page that hold figures and no link: byte for byte the same for both.
SAME_HTML = [
    r'<section class="kpis" aria-label="Key figures">.*?</section>',
    r'<table class="dash-table" id="daily-table">.*?</table>',
    r'<table class="dash-table" id="contact-method-table">.*?</table>',
    r'<p class="dash-period" id="period">.*?</p>',
]
HREF = re.compile(r'(?:href|action|src)="([^"]*)"')


def _filters(index: int) -> dict[str, str]:
    params = dict(FILTERS[index])
    if params.get("range") == "custom":
        today = timezone.now().date()
        params |= {"start": str(today - timedelta(days=12)), "end": str(today - timedelta(days=1))}
    return params


def _rows(table: Breakdown) -> list[tuple[str, str, Any]]:
    return [(row.key, row.label, row.metrics) for row in table.rows]


def _cells(html: str, table_id: str) -> list[str]:
    """The figure cells of a table (its links apart)."""
    match = re.search(
        rf'<table class="dash-table breakdown" id="{table_id}">.*?</table>', html, re.S
    )
    assert match is not None, table_id
    return re.findall(r'<td class="n">([^<]*)</td>', match[0])


def test_the_partner_reads_the_staff_figures_for_the_same_filters(
    traffic: Traffic, partner_client: Client, analyst_client: Client
) -> None:
    for index in range(len(FILTERS)):
        _same_figures(_filters(index), traffic, partner_client, analyst_client)


def _same_figures(
    params: dict[str, str], traffic: Traffic, partner_client: Client, analyst_client: Client
) -> None:
    with time_machine.travel(timezone.now(), tick=False):  # both read at the same instant
        staff = analyst_client.get("/dashboard/partners/acme/", params)
        own = partner_client.get("/partner/", params)
    assert (staff.status_code, own.status_code) == (200, 200), params
    assert own.context["problems"] == staff.context["problems"] == [], params
    assert own.context["query"] == staff.context["query"], params
    assert own.context["query"].partner == traffic.ours
    for name in ("kpis", "totals", "days", "contact_methods", "comparison", "session_zones"):
        assert own.context[name] == staff.context[name], (params, name)
    for name in ("helplines", "countries"):
        assert _rows(own.context[name]) == _rows(staff.context[name]), (params, name)
    assert own.context["totals"].displays > 0, params
    staff_html, own_html = staff.content.decode(), own.content.decode()
    for pattern in SAME_HTML:
        staff_part = re.search(pattern, staff_html, re.S)
        own_part = re.search(pattern, own_html, re.S)
        assert staff_part is not None and own_part is not None, (params, pattern)
        assert own_part[0] == staff_part[0], (params, pattern)
    for table in ("helplines-table", "countries-table"):
        assert _cells(own_html, table) == _cells(staff_html, table), (params, table)


def test_the_days_default_to_the_partners_billing_time_zone(
    traffic: Traffic, partner_client: Client
) -> None:
    page = partner_client.get("/partner/")
    assert str(page.context["query"].tz) == ACME_ZONE
    assert f'id="id_tz" list="tz-names" value="{ACME_ZONE}"' in page.content.decode()
    # A zone that does not exist falls back to the billing zone, and says so.
    page = partner_client.get("/partner/", {"tz": "Mars/Olympus"})
    assert str(page.context["query"].tz) == ACME_ZONE
    assert page.context["problems"] == [
        f"“Mars/Olympus” is not a time zone we know: {ACME_ZONE} is used instead."
    ]


def test_every_link_of_the_partners_pages_stays_on_partner_urls(
    traffic: Traffic, partner_client: Client
) -> None:
    pages = [
        "/partner/",
        "/partner/?range=7d&sort=helplines:name&all=helplines",
        "/partner/statement/",
        f"/partner/statement/?month={traffic.closed_month:%Y-%m}",
        "/partner/report/",
    ]
    for url in pages:
        html = partner_client.get(url).content.decode()
        links = HREF.findall(html)
        assert links, url
        for link in links:
            assert link.startswith(("/partner/", "/static/", "/account/", "#")), (url, link)
        assert '"/dashboard/' not in html and '"/admin/' not in html, url
        assert "partner=" not in html, url  # their partner is never a parameter


def test_the_partners_copy_names_no_other_partner_and_offers_its_own_pages(
    traffic: Traffic, partner_client: Client
) -> None:
    html = partner_client.get("/partner/").content.decode()
    assert 'name="partner"' not in html  # no partner filter, hence no list of partners
    assert "Beacon" not in html
    assert 'id="health-heading"' not in html  # integration health has a page of its own
    links = dict(re.findall(r'<a id="(nav-[a-z_]+)" href="([^"]+)"', html))
    assert links == {
        "nav-home": "/partner/",
        "nav-statement": "/partner/statement/",
        "nav-report": "/partner/report/",
        "nav-integration": "/partner/integration/",
        "nav-keys": "/partner/keys/",
    }
    assert '<a id="nav-home" href="/partner/" aria-current="page">Analytics</a>' in html
    # A helpline row filters the partner's own page by it (not the staff helpline page).
    row = re.search(r'<tr data-helpline="sos-fr-01"><th scope="row"><a href="([^"]+)"', html)
    assert row is not None
    assert row[1].startswith("/partner/?") and "helpline=sos-fr-01" in row[1]
    assert 'href="/partner/export/report.csv?range=30d&amp;tz=America%2FNew_York"' in html
    assert 'href="/partner/export/events.csv?range=30d&amp;tz=America%2FNew_York"' in html
    assert 'href="/partner/report/?range=30d&amp;tz=America%2FNew_York"' in html


def test_the_partners_exports_are_the_staff_exports_of_its_partner(
    traffic: Traffic, partner_client: Client, analyst_client: Client
) -> None:
    for export in ("report", "events"):
        for index in (0, 2, 6, 7):
            params = _filters(index)
            staff = analyst_client.get(
                f"/dashboard/export/{export}.csv", params | {"partner": "acme"}
            )
            # Naming another partner changes nothing: the partner is the user's.
            own = partner_client.get(
                f"/partner/export/{export}.csv", params | {"partner": "beacon"}
            )
            assert (staff.status_code, own.status_code) == (200, 200)
            assert own["Content-Disposition"] == staff["Content-Disposition"]
            assert "acme" in own["Content-Disposition"]
            own_body = body(own)
            assert without_generated_at(own_body) == without_generated_at(body(staff))
            assert b"# partner: acme\r\n" in own_body
            assert b"beacon" not in own_body and b"acme-test" not in own_body
            # The last `#` line, the header, then at least one row.
            after_metadata = own_body.index(b"\r\n", own_body.rindex(b"\r\n# ") + 2) + 2
            assert own_body[after_metadata:].count(b"\r\n") > 1, (export, params)


def test_a_broken_parameter_is_refused_by_the_export_as_by_staffs(
    traffic: Traffic, partner_client: Client
) -> None:
    response = partner_client.get("/partner/export/report.csv", {"start": "yesterday"})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "“yesterday” is not a date" in response.content.decode()


def test_the_impact_report_is_the_staff_report_of_its_partner(
    traffic: Traffic, partner_client: Client, analyst_client: Client
) -> None:
    params = {"range": "90d", "tz": "UTC"}
    staff = analyst_client.get("/dashboard/partners/acme/report/", params)
    own = partner_client.get("/partner/report/", params | {"partner": "beacon"})
    assert (staff.status_code, own.status_code) == (200, 200)
    for name in ("kpis", "totals", "helplines", "countries", "paired", "query"):
        assert own.context[name] == staff.context[name], name
    assert own.context["partner"] == traffic.ours
    html = own.content.decode()
    main = re.search(r'<main class="report-body">.*</main>', html, re.S)
    staff_main = re.search(r'<main class="report-body">.*</main>', staff.content.decode(), re.S)
    assert main is not None and staff_main is not None
    # The report itself is the same but for the staff links to helpline pages.
    assert re.sub(r"<a href=\"[^\"]*\">([^<]*)</a>", r"\1", staff_main[0]) == main[0]
    assert 'id="report-back" href="/partner/?range=90d&amp;tz=UTC"' in html
    assert 'id="report-pdf" href="/partner/report.pdf?range=90d&amp;tz=UTC"' in html
    assert "report-paired-csv" not in html


def test_the_impact_report_pdf_of_the_partner(traffic: Traffic, partner_client: Client) -> None:
    response = partner_client.get("/partner/report.pdf", {"range": "30d", "tz": "UTC"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="impact-acme-')
    assert response.content.startswith(b"%PDF-")
    assert partner_client.get("/partner/report.pdf", {"range": "nope"}).status_code == 400


def test_the_partners_pages_run_a_fixed_number_of_queries(
    traffic: Traffic, partner_client: Client
) -> None:
    """More helplines, countries and days with events cost no query more."""
    pages = ["/partner/", "/partner/?range=7d", "/partner/statement/", "/partner/report/"]
    for url in pages:  # warm: which time zones have session figures is cached per process
        partner_client.get(url)

    def counts() -> list[int]:
        found = []
        for url in pages:
            with CaptureQueriesContext(connection) as captured:
                assert partner_client.get(url).status_code == 200
            found.append(len(captured))
        return found

    before = counts()
    key = traffic.ours.api_keys.get(name="production")
    now = timezone.now()
    lines = [
        Helpline.objects.create(public_id=f"extra-{n}", name=f"Extra {n}", country_code=code)
        for n, code in enumerate(["NZ", "IE", "ZA", "CA"])
    ]
    record_events(
        partner=traffic.ours,
        api_key=key,
        events=[
            NewEvent(
                EventType.DISPLAY, line.pk, line.public_id, f"more-{n}", now - timedelta(days=n)
            )
            for n, line in enumerate(lines)
        ],
    )
    roll_up(now=now)
    assert counts() == before
