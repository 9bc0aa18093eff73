"""One filter state carried by every link, honest comparisons, drill-down to every helpline,
and the small things an analyst trips over (billing month, file names, access, glossary)."""

import html as html_lib
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from dashboard.charts import MAX_BAR
from dashboard.query import DashboardQuery, Preset, parse_query
from helplines.models import Helpline, Partner, PartnerAPIKey
from helplines.services import issue_key
from tests.conftest import IssuedKey, Send

from .test_pages import kpi

NOV = {"range": "custom", "start": "2026-11-01", "end": "2026-11-30"}


def links(html: str, selector_id: str | None = None) -> dict[str, str]:
    """href of every element with an id, by id."""
    return {
        match.group(1): html_lib.unescape(match.group(2))
        for match in re.finditer(r'id="([^"]+)"[^>]*?href="([^"]+)"', html)
        if selector_id is None or match.group(1) == selector_id
    }


def params(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def row_links(html: str, attribute: str) -> dict[str, str]:
    """The first link of each table row marked data-<attribute>, by the attribute's value."""
    return {
        match.group(1): html_lib.unescape(match.group(2))
        for match in re.finditer(rf'<tr data-{attribute}="([^"]+)">.*?href="([^"]+)"', html)
    }


def test_every_link_of_the_overview_carries_the_whole_state(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    send(live_key.key, helpline, "s1", timezone.now() - timedelta(minutes=5))
    state = {"range": ["mtd"], "tz": ["Europe/Paris"], "country": ["GB"]}

    html = staff_client.get(
        "/dashboard/", {"range": "mtd", "tz": "Europe/Paris", "country": "GB"}
    ).content.decode()

    found = links(html)
    for name in ["tab-overview", "tab-load", "export-report", "export-events"]:
        assert params(found[name]) == state, name
    assert urlsplit(found["tab-load"]).path == "/dashboard/load/"
    partner_link = row_links(html, "partner")["acme"]
    assert urlsplit(partner_link).path == "/dashboard/partners/acme/"
    assert params(partner_link) == state  # the preset itself, not its dates
    helpline_link = row_links(html, "helpline")[helpline.public_id]
    assert urlsplit(helpline_link).path == f"/dashboard/helplines/{helpline.public_id}/"
    assert params(helpline_link) == state
    assert params(row_links(html, "country")["GB"]) == state


def test_the_partner_page_keeps_the_period_and_its_links_keep_the_state(
    staff_client: Client, partner: Partner
) -> None:
    response = staff_client.get("/dashboard/partners/acme/", {"range": "mtd", "tz": "Asia/Tokyo"})

    html = response.content.decode()
    assert response.context["query"].preset == Preset.MONTH_TO_DATE
    assert '<option value="mtd" selected>Month to date</option>' in html
    found = links(html)
    whole = {"range": ["mtd"], "tz": ["Asia/Tokyo"], "partner": ["acme"]}
    assert params(found["tab-overview"]) == whole
    assert params(found["crumb-analytics"]) == whole
    assert params(found["tab-load"]) == whole
    # The partner page's own URL carries the partner in its path, not twice.
    assert params(found["tab-partner"]) == {"range": ["mtd"], "tz": ["Asia/Tokyo"]}
    assert params(found["impact-report"]) == {"range": ["mtd"], "tz": ["Asia/Tokyo"]}


def test_the_load_page_keeps_the_state_for_the_way_back(staff_client: Client, db: None) -> None:
    html = staff_client.get(
        "/dashboard/load/", {"range": "7d", "tz": "America/Chicago", "country": ""}
    ).content.decode()

    found = links(html)
    assert params(found["tab-overview"]) == {"range": ["7d"], "tz": ["America/Chicago"]}
    assert params(found["crumb-analytics"]) == {"range": ["7d"], "tz": ["America/Chicago"]}
    assert '<input type="hidden" name="range" value="7d">' in html


@pytest.mark.parametrize(
    ("given", "preset", "days"),
    [
        ({"start": "2026-11-01", "end": "2026-11-03"}, Preset.CUSTOM, 3),
        ({"range": "7d", "start": "2026-11-01", "end": "2026-11-03"}, Preset.CUSTOM, 3),
        ({"range": "7d", "start": "2026-11-24", "end": "2026-11-30"}, Preset.LAST_7, 7),
        ({"range": "7d"}, Preset.LAST_7, 7),
    ],
)
def test_typed_dates_mean_a_custom_period(
    db: None, given: dict[str, str], preset: str, days: int
) -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    parsed = parse_query(given, now=now)
    assert (parsed.query.preset, parsed.query.days, parsed.problems) == (preset, days, [])


def test_an_invalid_parameter_is_reported_in_words_and_the_others_kept(
    staff_client: Client, partner: Partner, helpline: Helpline
) -> None:
    response = staff_client.get(
        "/dashboard/", {"range": "7d", "country": "XX", "tz": "Mars/Olympus", "partner": "acme"}
    )

    assert response.status_code == 200
    query = response.context["query"]
    assert (query.preset, query.days, query.partner, query.country) == ("7d", 7, partner, "")
    assert str(query.tz) == "UTC"
    assert response.context["problems"] == [
        "“Mars/Olympus” is not a time zone we know: UTC is used instead.",
        "No helpline of the directory is in “XX”: all countries are shown.",
    ]
    html = response.content.decode()
    assert "country:" not in html and "tz:" not in html and "range:" not in html
    assert params(links(html)["tab-overview"]) == {
        "range": ["7d"],
        "tz": ["UTC"],
        "partner": ["acme"],
    }


def test_exports_refuse_an_invalid_parameter_in_words(staff_client: Client, db: None) -> None:
    response = staff_client.get("/dashboard/export/report.csv", {"range": "7d", "country": "XX"})
    assert response.status_code == 400
    assert response.content.decode() == (
        "No helpline of the directory is in “XX”: all countries are shown."
    )


# ------------------------------------------------------------------ comparisons


def test_month_to_date_is_compared_with_the_same_part_of_last_month(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    key = live_key.key
    send(key, helpline, "a", datetime(2026, 11, 1, 10, tzinfo=UTC))  # compared
    send(key, helpline, "b", datetime(2026, 11, 1, 22, 30, tzinfo=UTC))  # later that day
    send(key, helpline, "c", datetime(2026, 11, 20, tzinfo=UTC))  # later that month
    send(key, helpline, "d", datetime(2026, 12, 1, 9, tzinfo=UTC))
    send(key, helpline, "d", datetime(2026, 12, 1, 9, 1, tzinfo=UTC), "phone")

    with time_machine.travel(datetime(2026, 12, 1, 21, 50, tzinfo=UTC), tick=False):
        response = staff_client.get("/dashboard/", {"range": "mtd"})

    html = response.content.decode()
    comparison = response.context["comparison"]
    assert comparison.partial
    assert comparison.previous_end == datetime(2026, 11, 1, 21, 50, tzinfo=UTC)
    kpis = {item.label: item for item in response.context["kpis"]}
    assert (kpis["Displays"].value, kpis["Displays"].previous) == (1, 1)
    assert (kpis["Clicks"].value, kpis["Clicks"].previous) == (1, 0)
    assert kpis["Sessions reached"].value == 1 and kpis["Sessions reached"].previous is None
    assert "+0.0%" in html  # displays 1 vs 1, not 1 vs the 3 of all November
    assert "compared with the same part of the previous period" in html
    assert "1 Nov 2026 00:00 \N{EN DASH} 1 Nov 2026 21:50" in html
    assert html.count(">so far</span>") == 6  # every card says its day is not over
    assert "not compared" in html


def test_a_period_in_the_past_is_compared_with_whole_days(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    send(live_key.key, helpline, "a", datetime(2026, 10, 31, 23, tzinfo=UTC))
    send(live_key.key, helpline, "b", datetime(2026, 11, 2, tzinfo=UTC))

    response = staff_client.get("/dashboard/", NOV)

    assert not response.context["comparison"].partial
    kpis = {item.label: item for item in response.context["kpis"]}
    assert (kpis["Displays"].previous, kpis["Sessions reached"].previous) == (1, 1)
    assert "Compared with 2 Oct 2026 \N{EN DASH} 31 Oct 2026." in response.content.decode()
    assert ">so far</span>" not in response.content.decode()


def test_last_month_is_compared_with_the_month_before(db: None) -> None:
    query = parse_query({"range": "last_month"}, now=datetime(2026, 12, 5, tzinfo=UTC)).query
    previous = query.previous()
    assert (query.first_day, query.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (previous.first_day, previous.last_day) == (date(2026, 10, 1), date(2026, 10, 31))


def test_month_to_date_on_the_31st_is_compared_with_all_of_a_shorter_month(db: None) -> None:
    query = DashboardQuery(
        first_day=date(2026, 3, 1),
        last_day=date(2026, 3, 31),
        tz=ZoneInfo("UTC"),
        preset=Preset.MONTH_TO_DATE,
    )
    cut = query.previous_cut(datetime(2026, 3, 31, 8, tzinfo=UTC))
    assert cut == datetime(2026, 3, 1, tzinfo=UTC)  # the end of February


def test_a_one_day_period_is_charted_per_hour_with_the_previous_day(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    send(live_key.key, helpline, "a", datetime(2026, 11, 10, 14, 5, tzinfo=UTC))
    send(live_key.key, helpline, "b", datetime(2026, 11, 9, 14, 5, tzinfo=UTC))

    response = staff_client.get(
        "/dashboard/", {"range": "custom", "start": "2026-11-10", "end": "2026-11-10"}
    )

    chart = response.context["daily_chart"]
    assert len(chart.columns) == 24
    assert all(bar.width <= MAX_BAR for bar in chart.bars)
    assert [css for _, css in chart.lines] == ["line-previous", "line-clicks"]
    assert chart.columns[14].title == (
        "Tue 2026-11-10 14:00: 1 displays, 0 clicks, CTR 0.00%; previous period "
        "(Mon 2026-11-09 14:00): 1 displays, 0 clicks"
    )
    html = response.content.decode()
    assert "Displays and clicks per hour" in html
    # Sessions are kept per day: the cards still have them for a one-day period.
    assert kpi(html, "sessions-reached") == "1"


# ------------------------------------------------------------------ drill-down


def many_helplines(send: Send, key: PartnerAPIKey, count: int) -> list[Helpline]:
    lines = []
    for n in range(count):
        line = Helpline.objects.create(
            public_id=f"line-{n:02}", name=f"Line {chr(ord('A') + n)}", country_code="US"
        )
        for click in range(n + 1):
            send(key, line, f"s{n}-{click}", datetime(2026, 11, 10, 12, tzinfo=UTC), "phone")
        lines.append(line)
    return lines


def test_breakdowns_show_the_top_ten_then_all_and_sort_by_any_column(
    staff_client: Client, send: Send, live_key: IssuedKey
) -> None:
    many_helplines(send, live_key.key, 12)

    html = staff_client.get("/dashboard/", NOV).content.decode()
    rows = re.findall(r'<tr data-helpline="([^"]+)">', html)
    assert rows == [f"line-{n:02}" for n in range(11, 1, -1)]  # most clicks first
    assert "Top 10 of 12 helplines with events in the period." in html
    show_all = links(html, "helplines-show-all")["helplines-show-all"]
    assert params(show_all) == {
        "range": ["custom"],
        "start": ["2026-11-01"],
        "end": ["2026-11-30"],
        "tz": ["UTC"],
        "all": ["helplines"],
    }

    html = staff_client.get(show_all).content.decode()
    assert len(re.findall(r'<tr data-helpline="', html)) == 12
    by_name = re.search(r'<a href="([^"]+)" data-sort="name">Helpline</a>', html)
    assert by_name

    html = staff_client.get(html_lib.unescape(by_name.group(1))).content.decode()
    rows = re.findall(r'<tr data-helpline="([^"]+)">', html)
    assert rows == [f"line-{n:02}" for n in range(12)]  # A to L
    assert 'aria-sort="ascending"><a href="' in html
    assert re.search(r'aria-sort="ascending"><a href="[^"]*" data-sort="-name">Helpline', html)


def test_a_country_row_applies_its_country(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    other = Helpline.objects.create(public_id="us-line", name="US Line", country_code="US")
    send(live_key.key, helpline, "a", datetime(2026, 11, 10, tzinfo=UTC))
    send(live_key.key, other, "b", datetime(2026, 11, 10, tzinfo=UTC))
    send(live_key.key, other, "c", datetime(2026, 11, 11, tzinfo=UTC))

    html = staff_client.get("/dashboard/", NOV).content.decode()
    assert re.findall(r'<tr data-country="([A-Z]+)">', html) == ["US", "GB"]
    html = staff_client.get(row_links(html, "country")["GB"]).content.decode()

    assert kpi(html, "displays") == "1"
    assert '<option value="GB" selected>United Kingdom (GB)</option>' in html


def test_the_helpline_page_shows_its_figures_partners_load_and_admin_link(
    staff_client: Client,
    send: Send,
    live_key: IssuedKey,
    other_partner: Partner,
    helpline: Helpline,
) -> None:
    other_key, _ = issue_key(partner=other_partner, name="live")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    send(live_key.key, helpline, "a", hour - timedelta(hours=2))
    send(live_key.key, helpline, "a", hour - timedelta(hours=2), "phone")
    send(other_key, helpline, "b", hour)
    elsewhere = Helpline.objects.create(public_id="nz-line", name="NZ Line", country_code="NZ")
    send(live_key.key, elsewhere, "c", hour)

    response = staff_client.get(f"/dashboard/helplines/{helpline.public_id}/", {"range": "7d"})

    assert response.status_code == 200
    html = response.content.decode()
    assert kpi(html, "displays") == "2" and kpi(html, "clicks") == "1"
    assert re.findall(r'<tr data-partner="([^"]+)">', html) == ["acme", "beacon"]
    assert row_links(html, "partner")["acme"].startswith("/dashboard/partners/acme/?range=7d")
    assert response.context["load"].clicks_24h == 1
    assert f'href="/admin/helplines/helpline/{helpline.pk}/change/"' in html
    assert params(links(html)["helpline-back"]) == {"range": ["7d"], "tz": ["UTC"]}
    assert 'id="id_helpline"' not in html  # the page is the helpline's
    assert staff_client.get("/dashboard/helplines/no-such-line/").status_code == 404


def test_every_place_that_names_a_helpline_links_its_page(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    send(live_key.key, helpline, "a", timezone.now() - timedelta(minutes=3))
    target = f"/dashboard/helplines/{helpline.public_id}/"

    for page in ["/dashboard/", "/dashboard/partners/acme/", "/dashboard/load/"]:
        html = staff_client.get(page).content.decode()
        assert urlsplit(row_links(html, "helpline")[helpline.public_id]).path == target, page
    report = staff_client.get("/dashboard/partners/acme/report/", {"range": "7d"})
    assert f'href="{target}?range=7d' in report.content.decode()


# ------------------------------------------------------------------ the rest


def test_the_filters_name_helplines_and_leave_out_test_only_partners(
    staff_client: Client, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    sandbox = Partner.objects.create(name="Sandbox", slug="sandbox")
    issue_key(partner=sandbox, name="test", is_test=True)

    html = staff_client.get("/dashboard/").content.decode()

    assert f'<option value="{helpline.public_id}">Samaritans Example (GB)</option>' in html
    assert '<option value="acme">Acme Chat</option>' in html
    assert 'value="sandbox"' not in html
    assert '<input name="tz" id="id_tz" list="tz-names"' in html
    assert '<option value="Europe/Paris">' in html
    sandbox_page = staff_client.get("/dashboard/partners/sandbox/")
    assert sandbox_page.status_code == 200 and sandbox_page.context["problems"] == []


def test_export_file_names_carry_every_filter(
    staff_client: Client, partner: Partner, helpline: Helpline
) -> None:
    response = staff_client.get(
        "/dashboard/export/report.csv",
        NOV | {"partner": "acme", "country": "GB", "tz": "Europe/Paris"},
    )
    assert response["Content-Disposition"] == (
        'attachment; filename="report-2026-11-01-2026-11-30-acme-GB-Europe_Paris.csv"'
    )
    response = staff_client.get(
        "/dashboard/export/events.csv", NOV | {"helpline": helpline.public_id}
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="events-2026-11-01-2026-11-30-{helpline.public_id}.csv"'
    )


def test_the_billing_control_defaults_to_the_last_complete_month(
    staff_client: Client, partner: Partner
) -> None:
    with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=False):
        html = staff_client.get("/dashboard/partners/acme/").content.decode()

    assert (
        '<input type="month" name="month" id="id_billing_month" value="2026-11" required>' in html
    )
    assert '<input type="hidden" name="partner" value="acme">' in html


def test_staff_outside_the_analysts_group_are_told_who_grants_access(
    client: Client, db: None
) -> None:
    client.force_login(User.objects.create_user("intern", password="x-pass-123", is_staff=True))

    response = client.get("/dashboard/", {"range": "7d"})

    assert response.status_code == 403
    html = response.content.decode()
    assert 'id="header"' in html and "admin/css/base.css" in html  # the admin's look
    assert "members of the <strong>Analysts</strong> group" in html
    assert "Ask a superuser to add you" in html
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_pages_define_ctr_and_conversion(staff_client: Client, partner: Partner) -> None:
    for page in ["/dashboard/", "/dashboard/partners/acme/"]:
        html = staff_client.get(page).content.decode()
        assert (
            '<dt id="define-ctr">CTR (click-through rate)</dt><dd>Clicks divided by displays.'
            in html
        )
        assert (
            '<dt id="define-conversion">Conversion rate</dt><dd>Sessions converted divided by '
            "sessions reached." in html
        )


def test_the_load_page_states_its_rule_refreshes_and_exports_its_table(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    helpline.hourly_capacity = 1
    helpline.save()
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    send(live_key.key, helpline, "a", hour, "phone")
    send(live_key.key, helpline, "b", hour + timedelta(seconds=1), "sms")

    html = staff_client.get("/dashboard/load/").content.decode()
    assert '<meta http-equiv="refresh" content="120">' in html
    assert "&ldquo;Over capacity&rdquo; means at least one clock hour in the window" in html
    assert re.search(
        r'<tr data-helpline="[^"]+"><th scope="row">.*?</th>\s*'
        r'<td><span class="flag flag-over">over capacity',
        html,
    )

    response = staff_client.get(links(html, "export-load")["export-load"])
    assert isinstance(response, StreamingHttpResponse) and response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    assert body[0].startswith("helpline_id,helpline_name,country_code,hourly_capacity,status,")
    assert body[1] == f"{helpline.public_id},Samaritans Example,GB,1,over capacity,2,2,2,1,2,1"


def test_today_is_compared_with_yesterday_up_to_the_same_minute(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    key = live_key.key
    send(key, helpline, "a", datetime(2026, 11, 9, 10, tzinfo=UTC))  # a whole quarter-hour
    send(key, helpline, "b", datetime(2026, 11, 9, 14, 3, tzinfo=UTC))  # the partial one
    send(key, helpline, "c", datetime(2026, 11, 9, 14, 10, tzinfo=UTC))  # after the minute
    send(key, helpline, "d", datetime(2026, 11, 10, 9, tzinfo=UTC))

    with time_machine.travel(datetime(2026, 11, 10, 14, 7, tzinfo=UTC), tick=False):
        response = staff_client.get(
            "/dashboard/", {"range": "custom", "start": "2026-11-10", "end": "2026-11-10"}
        )

    kpis = {item.label: item for item in response.context["kpis"]}
    assert (kpis["Displays"].value, kpis["Displays"].previous) == (1, 2)
    assert response.context["comparison"].previous_end == datetime(2026, 11, 9, 14, 7, tzinfo=UTC)
    chart = response.context["daily_chart"]
    assert [bar.css for bar in chart.bars].index("bar-partial") == 14  # 14:00, so far
