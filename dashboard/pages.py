"""What each dashboard page shows, assembled from `events.metrics` (no figure is computed here).

Each function runs a fixed number of queries, whatever the number of partners or
helplines: one per table or chart.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from dashboard import charts
from dashboard.forms import DashboardQuery
from events.metrics import (
    Dimension,
    EventFilter,
    MetricRow,
    Metrics,
    PairedDisplays,
    fill_days,
    fill_hours,
    key_usage,
    last_event_received,
    metric_rows,
    paired_display_rows,
    paired_display_totals,
    session_zone_names,
    totals,
)
from events.models import ContactMethod
from events.selectors import refusals_by_code
from helplines.models import Helpline, LoadEpisode, Partner, country_name

TOP_HELPLINES = 10
# Load episodes listed on the load page, newest first (the admin lists every one).
RECENT_EPISODES = 50


@dataclass(frozen=True, slots=True)
class Kpi:
    label: str
    value: int | Decimal | None
    previous: int | Decimal | None
    is_ratio: bool = False

    @property
    def change(self) -> float | None:
        """Relative change against the previous period; None when there is nothing to compare."""
        if self.value is None or not self.previous:
            return None
        return float((Decimal(self.value) - Decimal(self.previous)) / Decimal(self.previous))

    @property
    def trend(self) -> str:
        change = self.change
        if change is None or change == 0:
            return "flat"
        return "up" if change > 0 else "down"


def kpis(current: Metrics, previous: Metrics) -> list[Kpi]:
    return [
        Kpi("Displays", current.displays, previous.displays),
        Kpi("Clicks", current.clicks, previous.clicks),
        Kpi("CTR", current.ctr, previous.ctr, is_ratio=True),
        Kpi("Sessions reached", current.sessions_reached, previous.sessions_reached),
        Kpi("Sessions converted", current.sessions_converted, previous.sessions_converted),
        Kpi("Conversion rate", current.conversion_rate, previous.conversion_rate, is_ratio=True),
    ]


def contact_methods(metrics: Metrics) -> list[dict[str, Any]]:
    return [
        {
            "method": method,
            "label": label,
            "clicks": metrics.clicks_by_method[method],
            "share": charts.share(metrics.clicks_by_method[method], metrics.clicks),
        }
        for method, label in ContactMethod.choices
    ]


def _sum(rows: list[MetricRow]) -> Metrics:
    total = Metrics()
    for row in rows:
        total += row.metrics
    return total


def performance(query: DashboardQuery) -> dict[str, Any]:
    """KPIs, daily chart, contact methods and top helplines of `query` (3 queries)."""
    event_filter = query.event_filter()
    days = fill_days(
        metric_rows(event_filter, [Dimension.DAY], query.tz), query.first_day, query.last_day
    )
    current = _sum(days)
    previous_query = query.previous()
    previous = totals(previous_query.event_filter(), query.tz)
    helplines = sorted(
        metric_rows(event_filter, [Dimension.HELPLINE], query.tz),
        key=lambda row: (
            -row.metrics.clicks,
            -row.metrics.displays,
            row.helpline.name if row.helpline else "",
        ),
    )
    return {
        # Sessions are distinct counts kept per day of the zones in `session_zones`: in
        # another zone the page says so instead of showing an approximation.
        "session_zones": None if current.sessions_reached is not None else session_zone_names(),
        "query": query,
        "previous_query": previous_query,
        "totals": current,
        "kpis": kpis(current, previous),
        "days": days,
        "daily_chart": charts.daily_chart(days),
        "contact_methods": contact_methods(current),
        "top_helplines": helplines[:TOP_HELPLINES],
        "helpline_count": len(helplines),
    }


def overview(query: DashboardQuery) -> dict[str, Any]:
    """The overview: `performance` plus the per-partner table (4 queries)."""
    context = performance(query)
    context["partners"] = sorted(
        metric_rows(query.event_filter(), [Dimension.PARTNER], query.tz),
        key=lambda row: (-row.metrics.displays, row.partner.name if row.partner else ""),
    )
    return context


def partner_page(query: DashboardQuery, partner: Partner, *, now: datetime) -> dict[str, Any]:
    """One partner's performance plus its integration health (8 queries)."""
    context = performance(query)
    since = (now - timedelta(hours=47)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    recent = EventFilter(
        start=since,
        end=now + timedelta(hours=1),
        partner_ids=frozenset({partner.pk}),
        include_test=True,
    )
    by_hour: dict[datetime, list[int]] = {}
    for row in metric_rows(recent, [Dimension.HOUR, Dimension.TRAFFIC], query.tz):
        assert row.hour is not None
        by_hour.setdefault(row.hour, [0, 0])[1 if row.is_test else 0] += (
            row.metrics.displays + row.metrics.clicks
        )
    hours: list[tuple[datetime, int, int]] = []
    for slot in fill_hours([], since, since + timedelta(hours=48), query.tz):
        assert slot.hour is not None
        live, test = by_hour.get(slot.hour, [0, 0])
        hours.append((slot.hour, live, test))
    traffic = {
        bool(row.is_test): row.metrics
        for row in metric_rows(query.event_filter(include_test=True), [Dimension.TRAFFIC], query.tz)
    }
    context |= {
        "partner": partner,
        "last_received": last_event_received(partner.pk),
        "traffic_chart": charts.traffic_chart(hours),
        "traffic_hours": hours,
        "live": traffic.get(False, Metrics()),
        "test": traffic.get(True, Metrics()),
        "keys": key_usage(partner.pk),
        "refusals": refusals_by_code(partner_id=partner.pk, since=since),
        "paired": paired_displays(query, partner),
    }
    return context


def paired_displays(query: DashboardQuery, partner: Partner) -> PairedDisplays:
    """The partner's paired-service figures over the period's dates, taken as UTC days
    (the days they are kept in), whatever the page's zone (1 query)."""
    rows = paired_display_rows(query.first_day, query.last_day, partner_ids=frozenset({partner.pk}))
    return paired_display_totals(rows)


def impact_report(query: DashboardQuery, partner: Partner, *, now: datetime) -> dict[str, Any]:
    """The impact report of one partner over a period: the partner page's figures (the same
    `performance`), every helpline and country reached, paired services per day (6 queries).
    """
    context = performance(query)
    event_filter = query.event_filter()
    helplines = sorted(
        metric_rows(event_filter, [Dimension.HELPLINE], query.tz),
        key=lambda row: (-row.metrics.displays, row.helpline.name if row.helpline else ""),
    )
    countries = sorted(
        (
            (row.country or "", country_name(row.country or ""), row.metrics)
            for row in metric_rows(event_filter, [Dimension.COUNTRY], query.tz)
        ),
        key=lambda item: (-item[2].displays, item[1]),
    )
    paired_days = paired_display_rows(
        query.first_day, query.last_day, partner_ids=frozenset({partner.pk})
    )
    return context | {
        "partner": partner,
        "helplines": helplines,
        "countries": countries,
        "paired_days": paired_days,
        "paired": paired_display_totals(paired_days),
        "paired_window": settings.PAIRED_DISPLAY_WINDOW_MINUTES,
        "period_start": event_filter.start.astimezone(query.tz),
        "period_end": event_filter.end.astimezone(query.tz),
        "generated_at": now.astimezone(query.tz),
    }


@dataclass(frozen=True, slots=True)
class HelplineLoad:
    helpline: Helpline
    day: list[tuple[datetime, int]]
    week: list[tuple[datetime, int]]
    day_chart: charts.Chart
    week_chart: charts.Chart

    @staticmethod
    def _over(hours: list[tuple[datetime, int]], capacity: int | None) -> int:
        return 0 if capacity is None else sum(1 for _, clicks in hours if clicks > capacity)

    @property
    def clicks_24h(self) -> int:
        return sum(clicks for _, clicks in self.day)

    @property
    def peak_24h(self) -> int:
        return max((clicks for _, clicks in self.day), default=0)

    @property
    def peak_7d(self) -> int:
        return max((clicks for _, clicks in self.week), default=0)

    @property
    def over_24h(self) -> int:
        return self._over(self.day, self.helpline.hourly_capacity)

    @property
    def over_7d(self) -> int:
        return self._over(self.week, self.helpline.hourly_capacity)


def load(*, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Clicks per hour on each priority helpline over 24 h and 7 days, and the latest
    episodes over capacity (3 queries)."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    week_start, day_start = end - timedelta(days=7), end - timedelta(hours=24)
    helplines = list(Helpline.objects.filter(is_priority=True).order_by("name", "public_id"))
    clicks: dict[tuple[int, datetime], int] = {}
    for row in metric_rows(
        EventFilter(start=week_start, end=end, priority_only=True),
        [Dimension.HOUR, Dimension.HELPLINE],
        tz,
    ):
        assert row.helpline is not None and row.hour is not None
        clicks[(row.helpline.id, row.hour)] = row.metrics.clicks
    hour_slots = [row.hour for row in fill_hours([], week_start, end, tz) if row.hour is not None]
    loads = []
    for helpline in helplines:
        week = [(hour, clicks.get((helpline.pk, hour), 0)) for hour in hour_slots]
        day = [(hour, n) for hour, n in week if hour >= day_start]
        loads.append(
            HelplineLoad(
                helpline=helpline,
                day=day,
                week=week,
                day_chart=charts.hourly_chart(
                    day,
                    helpline.hourly_capacity,
                    label=f"{helpline.name}: clicks per hour, last 24 hours",
                ),
                week_chart=charts.hourly_chart(
                    week,
                    helpline.hourly_capacity,
                    label=f"{helpline.name}: clicks per hour, last 7 days",
                ),
            )
        )
    # Helplines over capacity first: they are why someone opens this page.
    loads.sort(key=lambda item: (not (item.over_24h or item.over_7d), item.helpline.name))
    return {
        "loads": loads,
        "episodes": list(
            LoadEpisode.objects.select_related("helpline").order_by("-started_at", "pk")[
                :RECENT_EPISODES
            ]
        ),
        "window_end": end.astimezone(tz),
        "flagged": [item for item in loads if item.over_24h or item.over_7d],
        "tz": tz,
    }


def partner_ctr_chart(partner: Partner, *, now: datetime) -> charts.Chart:
    """The partner's last 30 days of CTR, days in its billing time zone (1 query)."""
    tz = ZoneInfo(partner.billing_timezone)
    last_day = now.astimezone(tz).date()
    first_day = last_day - timedelta(days=29)
    rows = metric_rows(
        EventFilter.for_days(first_day, last_day, tz, partner_ids=frozenset({partner.pk})),
        [Dimension.DAY],
        tz,
    )
    return charts.ctr_chart(fill_days(rows, first_day, last_day))
