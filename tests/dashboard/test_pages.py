"""Dashboard pages: access, the numbers shown, filters, and a fixed number of queries."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from dashboard.templatetags.dashboard_format import EMPTY
from helplines.models import Helpline, LoadEpisode, Partner
from helplines.services import issue_key
from tests.conftest import IssuedKey, Send

NOV = {"start": "2026-11-01", "end": "2026-11-30"}


def kpi(html: str, name: str) -> str:
    match = re.search(
        rf'data-kpi="{name}">\s*<h3>[^<]*</h3>\s*<div class="kpi-value">([^<]*)<', html
    )
    assert match, name
    return match.group(1).strip()


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/",
        "/dashboard/load/",
        "/dashboard/partners/acme/",
        "/dashboard/export/report.csv",
    ],
)
def test_anonymous_users_are_sent_to_the_login_page(
    client: Client, partner: Partner, url: str
) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


def test_staff_without_the_view_permission_are_refused(client: Client, db: None) -> None:
    client.force_login(User.objects.create_user("intern", password="x-pass-123", is_staff=True))
    assert client.get("/dashboard/").status_code == 403


def test_non_staff_users_are_sent_to_the_login_page(client: Client, db: None) -> None:
    client.force_login(User.objects.create_user("member", password="x-pass-123"))
    assert client.get("/dashboard/").status_code == 302


def test_analysts_can_view_but_not_change_in_the_admin(
    staff_client: Client, partner: Partner
) -> None:
    assert staff_client.get("/dashboard/").status_code == 200
    assert staff_client.get("/admin/events/event/").status_code == 200
    assert staff_client.get("/admin/events/event/add/").status_code == 403


def test_overview_shows_the_counts_sent_without_test_traffic(
    staff_client: Client,
    send: Send,
    live_key: IssuedKey,
    test_key: IssuedKey,
    helpline: Helpline,
) -> None:
    key = live_key.key
    base = datetime(2026, 11, 10, 12, tzinfo=UTC)
    for n in range(12):
        send(key, helpline, f"s{n}", base + timedelta(minutes=n))
    for n in range(3):
        send(key, helpline, f"s{n}", base + timedelta(minutes=30 + n), "phone")
    send(key, helpline, "s9", base + timedelta(minutes=40), "website")
    send(test_key.key, helpline, "t1", base)
    send(test_key.key, helpline, "t1", base, "phone")
    # Previous period (October): 4 displays, 1 click.
    for n in range(4):
        send(key, helpline, f"o{n}", datetime(2026, 10, 20, tzinfo=UTC) + timedelta(minutes=n))
    send(key, helpline, "o0", datetime(2026, 10, 20, 1, tzinfo=UTC), "sms")

    response = staff_client.get("/dashboard/", NOV)

    assert response.status_code == 200
    html = response.content.decode()
    assert kpi(html, "displays") == "12"
    assert kpi(html, "clicks") == "4"
    assert kpi(html, "ctr") == "33.33%"
    assert kpi(html, "sessions-reached") == "12"
    assert kpi(html, "sessions-converted") == "4"
    assert kpi(html, "conversion-rate") == "33.33%"
    assert "+200.0%" in html  # displays 12 vs 4 in the previous 30 days
    totals = response.context["totals"]
    assert (totals.displays, totals.clicks, totals.clicks_by_method["phone"]) == (12, 4, 3)
    assert re.search(
        r'data-method="phone"><th scope="row">Phone call</th><td class="n">3</td>', html
    )
    assert f'data-helpline="{helpline.public_id}"' in html
    assert 'data-partner="acme"' in html


def test_filters_narrow_the_figures_and_stay_in_export_links(
    staff_client: Client,
    send: Send,
    live_key: IssuedKey,
    other_partner: Partner,
    helpline: Helpline,
    inactive_helpline: Helpline,
) -> None:
    other_key, _ = issue_key(partner=other_partner, name="live")
    when = datetime(2026, 11, 10, 12, tzinfo=UTC)
    send(live_key.key, helpline, "a", when)
    send(other_key, helpline, "b", when)
    send(other_key, inactive_helpline, "c", when)

    html = staff_client.get(
        "/dashboard/", NOV | {"partner": "beacon", "country": "GB", "tz": "Europe/Paris"}
    ).content.decode()

    assert kpi(html, "displays") == "1"
    assert (
        "/dashboard/export/report.csv?range=custom&amp;start=2026-11-01&amp;end=2026-11-30"
        "&amp;tz=Europe%2FParis&amp;partner=beacon&amp;country=GB" in html
    )


def test_presets_pick_calendar_days_in_the_chosen_time_zone(staff_client: Client, db: None) -> None:
    now = timezone.now()
    response = staff_client.get("/dashboard/", {"range": "mtd", "tz": "Pacific/Auckland"})
    query = response.context["query"]
    today = now.astimezone(query.tz).date()
    assert (query.first_day, query.last_day) == (today.replace(day=1), today)
    assert response.context["previous_query"].days == query.days


def test_an_invalid_period_is_reported_and_the_default_shown(
    staff_client: Client, db: None
) -> None:
    response = staff_client.get("/dashboard/", {"start": "2026-11-30", "end": "2026-11-01"})
    assert response.status_code == 200
    assert (
        "The end date is before the start: the last 30 days are shown instead."
        in response.content.decode()
    )
    assert response.context["query"].days == 30


def test_pages_run_a_fixed_number_of_queries(
    staff_client: Client,
    send: Send,
    live_key: IssuedKey,
    helpline: Helpline,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    def grow(n: int) -> None:
        for i in range(n):
            partner = Partner.objects.create(name=f"P{i}{n}", slug=f"p{i}-{n}")
            key, _ = issue_key(partner=partner, name="live")
            line = Helpline.objects.create(
                public_id=f"l{i}-{n}",
                name=f"Line {i}",
                country_code="US",
                is_priority=True,
                hourly_capacity=1,
            )
            send(key, line, "x", timezone.now() - timedelta(hours=1))
            send(key, line, "x", timezone.now() - timedelta(hours=1), "phone")

    pages = [
        "/dashboard/",
        "/dashboard/partners/acme/",
        f"/dashboard/helplines/{helpline.public_id}/",
        "/dashboard/load/",
    ]
    grow(1)
    for page in pages:  # warm: which time zones have session figures is cached per process
        staff_client.get(page)
    counts = {}
    for page in pages:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(page).status_code == 200
        counts[page] = len(captured)
    grow(6)
    for page in pages:
        # Session, user, and the user's and group's permissions (4), then, each figure from
        # the aggregates: overview: sessions and counts per day (2), the previous period
        # up to the same time of day (its whole days, the quarter-hours of the day it cuts,
        # and the partial quarter-hour from raw events: 3), helplines (1), partners (2),
        # countries (2), and the filters' partners and helplines (2); partner page:
        # partner, the same figures without the partner table (6), countries (2), 48 h
        # traffic (whole clock hours, to the end of the current one: 1), test vs live (2),
        # last event, keys (2), refusals, paired services, the filters (2); helpline page:
        # helpline, the same figures without the helplines table (one helpline's sessions
        # are kept beside its counts: 4), partners, its clicks per hour, its episodes, the
        # filters (2); load: priority helplines, hourly clicks (2), episodes over capacity.
        # Every page says when the rollup behind its figures ran (1: events.freshness); the
        # session is read, not written (renewed at most once a minute: accounts/sessions.py).
        with django_assert_num_queries(counts[page]):
            assert staff_client.get(page).status_code == 200
    assert counts == {
        "/dashboard/": 17,
        "/dashboard/partners/acme/": 23,
        f"/dashboard/helplines/{helpline.public_id}/": 14,
        "/dashboard/load/": 8,
    }


def test_partner_page_shows_integration_health(
    staff_client: Client,
    send: Send,
    partner: Partner,
    live_key: IssuedKey,
    test_key: IssuedKey,
    helpline: Helpline,
) -> None:
    now = timezone.now()
    send(live_key.key, helpline, "a", now - timedelta(hours=2))
    send(live_key.key, helpline, "a", now - timedelta(hours=2), "phone")
    send(test_key.key, helpline, "t", now - timedelta(hours=1))

    response = staff_client.get("/dashboard/partners/acme/")

    assert response.status_code == 200
    context = response.context
    assert context["last_received"] is not None
    assert (context["live"].displays, context["live"].clicks) == (1, 1)
    assert (context["test"].displays, context["test"].clicks) == (1, 0)
    assert sum(live for _, live, _ in context["traffic_hours"]) == 2
    assert sum(test for _, _, test in context["traffic_hours"]) == 1
    assert len(context["traffic_hours"]) == 48
    keys = {key.prefix: key for key in context["keys"]}
    assert keys[live_key.key.prefix].events == 2 and keys[test_key.key.prefix].events == 1
    assert kpi(response.content.decode(), "displays") == "1"


def test_unknown_partner_page_is_404(staff_client: Client, db: None) -> None:
    assert staff_client.get("/dashboard/partners/nobody/").status_code == 404


def test_load_page_flags_hours_over_capacity(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    helpline.hourly_capacity = 2
    helpline.save()
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for n in range(3):  # 3 clicks in the current hour: over a capacity of 2
        send(live_key.key, helpline, f"s{n}", hour + timedelta(seconds=n), "phone")
    send(live_key.key, helpline, "s9", hour - timedelta(hours=3), "phone")

    response = staff_client.get("/dashboard/load/")

    [load] = response.context["loads"]
    assert (load.clicks_24h, load.peak_24h, load.over_24h, load.over_7d) == (4, 3, 1, 1)
    assert len(load.day) == 24 and len(load.week) == 168
    assert response.context["flagged"] == [load]
    assert "over capacity" in response.content.decode()


@time_machine.travel(datetime(2026, 12, 2, 17, 40, tzinfo=UTC), tick=False)
def test_load_page_tells_every_hour_in_the_chosen_time_zone(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    helpline.hourly_capacity = 1
    helpline.save()
    for n in range(2):  # two clicks at 15:10 UTC, 20:55 in Kathmandu (UTC+5:45)
        send(live_key.key, helpline, f"s{n}", datetime(2026, 12, 2, 15, 10, tzinfo=UTC), "phone")

    episode_at = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    LoadEpisode.objects.create(
        helpline=helpline,
        started_at=episode_at,
        last_over_at=episode_at,
        peak_clicks=2,
        peak_at=episode_at,
        capacity=1,
    )

    html = staff_client.get("/dashboard/load/?tz=Asia/Kathmandu").content.decode()

    # The episode (started 15:00 UTC) in the page's zone, as the page says.
    episodes = html[html.index('id="episodes-table"') :]
    assert "<td>2026-12-02 20:45</td><td>2026-12-02 20:45</td>" in episodes
    assert "Times in Asia/Kathmandu." in episodes
    window = re.search(r'id="load-window">([^<]*)<', html)
    assert window is not None
    # The current hour, 17:00 UTC, ends at 18:00 UTC: 23:45 in Kathmandu; it is 23:25 there.
    assert "up to 2 Dec 2026 23:45 (Asia/Kathmandu)" in window.group(1)
    assert "(it is 23:25)" in window.group(1)
    # The table beside the charts: the hour of the clicks, as the chart's column names it.
    row = (
        '<tr><th scope="row">2026-12-02 20:45</th><td class="n">2</td>'
        '<td><span class="flag flag-over">over</span></td></tr>'
    )
    assert row in html
    assert "<title>2026-12-02 20:45: 2 clicks (capacity 1, over)</title>" in html


@time_machine.travel(datetime(2026, 12, 2, 17, 40, tzinfo=UTC), tick=False)
def test_partner_page_tells_its_hours_of_traffic_in_the_chosen_time_zone(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    send(live_key.key, helpline, "s", datetime(2026, 12, 2, 15, 10, tzinfo=UTC))

    html = staff_client.get("/dashboard/partners/acme/?tz=Asia/Kolkata").content.decode()

    # 15:10 UTC is 20:40 in Kolkata (UTC+5:30): the table's hour as the chart's.
    assert '<tr><th scope="row">2026-12-02 20:30</th><td class="n">1</td>' in html
    assert "<title>2026-12-02 20:30: 1 live, 0 test events</title>" in html


def test_pages_extend_the_admin_and_hold_no_inline_script_or_style(
    staff_client: Client, partner: Partner
) -> None:
    helpline = Helpline.objects.create(public_id="line-1", name="Line", country_code="GB")
    for page in [
        "/dashboard/",
        "/dashboard/partners/acme/",
        f"/dashboard/helplines/{helpline.public_id}/",
        "/dashboard/load/",
    ]:
        response = staff_client.get(page)
        html = response.content.decode()
        assert 'id="header"' in html and "admin/css/base.css" in html
        assert "<script>" not in html and "style=" not in html and "<style" not in html
        assert "script-src 'self'" in response["Content-Security-Policy"]


def test_admin_index_links_to_the_dashboard(client: Client, superuser: User) -> None:
    client.force_login(superuser)
    html = client.get(reverse("admin:index")).content.decode()
    assert 'href="/dashboard/"' in html and 'href="/dashboard/load/"' in html


def test_partner_ctr_chart_is_an_svg_image(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    now = timezone.now()
    send(live_key.key, helpline, "a", now - timedelta(minutes=5))
    send(live_key.key, helpline, "a", now - timedelta(minutes=4), "phone")
    response = staff_client.get("/dashboard/partners/acme/ctr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert body.count("<title>") == 31  # the chart's title and one per day
    assert "CTR 100.00% (1 clicks / 1 displays)" in body


def test_partner_change_page_in_the_admin_shows_its_ctr_chart_and_exports(
    client: Client, superuser: User, partner: Partner
) -> None:
    client.force_login(superuser)
    html = client.get(reverse("admin:helplines_partner_change", args=[partner.pk])).content.decode()
    assert 'src="/dashboard/partners/acme/ctr.svg"' in html
    assert "/dashboard/export/report.csv?range=30d&amp;partner=acme" in html
    assert "/dashboard/export/billing.csv?month=" in html


def test_a_zone_without_day_figures_shows_no_session_figure_and_says_why(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    send(live_key.key, helpline, "s1", datetime(2026, 11, 10, 12, tzinfo=UTC))
    send(live_key.key, helpline, "s1", datetime(2026, 11, 10, 12, 1, tzinfo=UTC), "sms")

    kept = staff_client.get("/dashboard/", NOV).content.decode()
    elsewhere = staff_client.get("/dashboard/", NOV | {"tz": "America/Caracas"}).content.decode()

    assert 'id="sessions-unavailable"' not in kept
    assert kpi(kept, "sessions-reached") == "1"
    assert 'id="sessions-unavailable"' in elsewhere
    assert "They are not available for America/Caracas" in elsewhere
    assert kpi(elsewhere, "displays") == "1" and kpi(elsewhere, "clicks") == "1"
    assert kpi(elsewhere, "sessions-reached") == kpi(elsewhere, "conversion-rate") == EMPTY


@pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/load/", "/dashboard/partners/acme/"])
def test_a_dashboard_page_has_the_admins_header_and_user_links_and_no_sidebar(
    staff_client: Client, url: str
) -> None:
    """accounts.admin_look: the admin's header from a part of each_context, without the
    sidebar's list of apps."""
    Partner.objects.create(name="Acme", slug="acme")
    html = staff_client.get(url).content.decode()
    assert '<div id="site-name"><a href="/admin/">Throughline Events</a></div>' in html
    assert '<div id="user-tools">' in html
    assert '<a href="/">View site</a>' in html
    assert 'id="nav-sidebar"' not in html and 'id="toggle-nav-sidebar"' not in html
