"""What each dashboard page shows, assembled from `events.metrics` (no figure is computed here).

Each function runs a fixed number of queries, whatever the number of partners, helplines or
events: one per table or chart, each read from the aggregates.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from api.utc import floor_hour
from dashboard import charts, selectors
from dashboard.query import DashboardQuery, TableOptions
from events.metrics import (
    HOUR,
    Dimension,
    EventFilter,
    MetricRow,
    Metrics,
    PairedDisplays,
    clock_hours,
    fill_days,
    fill_hours,
    hourly_clicks,
    metric_rows,
    paired_display_rows,
    paired_display_totals,
    session_zone_names,
    totals,
    traffic_by_hour,
)
from events.models import ContactMethod
from events.selectors import (
    key_usage,
    last_event_received,
    refusal_summary,
    refusals_by_hour,
)
from helplines.models import Helpline, Partner, country_name

# Rows a breakdown table shows before "show all".
TOP_ROWS = 10
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


# ------------------------------------------------------------------ breakdown tables


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: str  # the value its filter takes: a partner slug, a helpline id, a country code
    label: str
    metrics: Metrics
    country: str = ""


# Columns a breakdown sorts by, each read from a row; None (an undefined ratio, sessions
# not kept) sorts after every value whichever the direction.
SORT_COLUMNS: dict[str, Callable[[BreakdownRow], Any]] = {
    "name": lambda row: row.label.casefold(),
    "country": lambda row: row.country,
    "displays": lambda row: row.metrics.displays,
    "clicks": lambda row: row.metrics.clicks,
    "ctr": lambda row: row.metrics.ctr,
    "sessions_reached": lambda row: row.metrics.sessions_reached,
    "sessions_converted": lambda row: row.metrics.sessions_converted,
    "conversion_rate": lambda row: row.metrics.conversion_rate,
}


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One sortable table of figures per partner, helpline or country."""

    name: str
    rows: list[BreakdownRow]  # the rows shown
    total: int  # rows there are
    column: str
    descending: bool
    showing_all: bool

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.total


def breakdown(
    name: str, rows: list[BreakdownRow], options: TableOptions, *, default: str
) -> Breakdown:
    """`rows` sorted as `options` ask (`default` otherwise), the first TOP_ROWS unless all."""
    spec = options.sort.get(name, default)
    column = spec.lstrip("-")
    if column not in SORT_COLUMNS:
        spec, column = default, default.lstrip("-")
    descending = spec.startswith("-")
    value = SORT_COLUMNS[column]
    ordered = sorted(rows, key=lambda row: (row.label.casefold(), row.key))
    present = [row for row in ordered if value(row) is not None]
    # Stable sorts: equal values keep the name order, in either direction.
    present.sort(key=value, reverse=descending)
    ordered = present + [row for row in ordered if value(row) is None]
    showing_all = name in options.show_all
    return Breakdown(
        name=name,
        rows=ordered if showing_all else ordered[:TOP_ROWS],
        total=len(ordered),
        column=column,
        descending=descending,
        showing_all=showing_all,
    )


def helpline_rows(event_filter: EventFilter, tz: ZoneInfo) -> list[BreakdownRow]:
    return [
        BreakdownRow(
            row.helpline.public_id, row.helpline.name, row.metrics, row.helpline.country_code
        )
        for row in metric_rows(event_filter, [Dimension.HELPLINE], tz)
        if row.helpline is not None
    ]


def partner_rows(event_filter: EventFilter, tz: ZoneInfo) -> list[BreakdownRow]:
    return [
        BreakdownRow(row.partner.slug, row.partner.name, row.metrics)
        for row in metric_rows(event_filter, [Dimension.PARTNER], tz)
        if row.partner is not None
    ]


def country_rows(event_filter: EventFilter, tz: ZoneInfo) -> list[BreakdownRow]:
    return [
        BreakdownRow(
            row.country or "", country_name(row.country or ""), row.metrics, row.country or ""
        )
        for row in metric_rows(event_filter, [Dimension.COUNTRY], tz)
    ]


# ------------------------------------------------------------------ pages


@dataclass(frozen=True, slots=True)
class Comparison:
    """What the period is compared with, in words the page shows."""

    previous: DashboardQuery
    cut: datetime | None  # the present, when the period is not over (local time)
    previous_end: datetime | None  # where the previous period is cut to match (local time)

    @property
    def partial(self) -> bool:
        return self.cut is not None


def _series(query: DashboardQuery, event_filter: EventFilter) -> list[MetricRow]:
    """The chart's rows of `event_filter`: per hour for a short period, else per day."""
    if query.is_hourly:
        rows = metric_rows(event_filter, [Dimension.HOUR], query.tz)
        return fill_hours(rows, event_filter.start, event_filter.end, query.tz)
    rows = metric_rows(event_filter, [Dimension.DAY], query.tz)
    last_day = (event_filter.end - timedelta(microseconds=1)).astimezone(query.tz).date()
    return fill_days(rows, event_filter.start.astimezone(query.tz).date(), last_day)


def performance(
    query: DashboardQuery,
    *,
    now: datetime,
    options: TableOptions | None = None,
    with_helplines: bool = True,
) -> dict[str, Any]:
    """KPIs against the previous period, the chart (per day, or per hour for one or two
    days), contact methods and the helplines (5 queries; 7 for a period charted per hour,
    whose totals are read apart because sessions are kept per day)."""
    options = options or TableOptions()
    event_filter = query.event_filter()
    previous_query = query.previous()
    previous_filter = query.previous_filter(now)
    series = _series(query, event_filter)
    earlier = _series(query, previous_filter)
    if query.is_hourly:
        current, previous = totals(event_filter, query.tz), totals(previous_filter, query.tz)
    else:
        current, previous = _sum(series), _sum(earlier)
    cut = query.cut(now)
    partial = None
    if cut is not None:
        # The row still in progress: this hour, or today.
        if query.is_hourly:
            partial = next(
                (i for i, row in enumerate(series) if row.hour and row.hour > cut - HOUR), None
            )
        else:
            partial = (cut.astimezone(query.tz).date() - query.first_day).days
        # The previous period is drawn only as far as it is compared.
        earlier = earlier[: (partial or 0) + 1]
    previous_cut = query.previous_cut(now)
    comparison = Comparison(
        previous=previous_query,
        cut=cut.astimezone(query.tz) if cut else None,
        previous_end=previous_cut.astimezone(query.tz) if previous_cut else None,
    )
    return {
        # Sessions are distinct counts kept per day of the zones in `session_zones`: in
        # another zone the page says so instead of showing an approximation.
        "session_zones": None if current.sessions_reached is not None else session_zone_names(),
        "query": query,
        "previous_query": previous_query,
        "comparison": comparison,
        "totals": current,
        "kpis": kpis(current, previous),
        "days": series,
        "daily_chart": charts.daily_chart(series, earlier, partial=partial),
        "contact_methods": contact_methods(current),
        "helplines": (
            breakdown(
                "helplines", helpline_rows(event_filter, query.tz), options, default="-clicks"
            )
            if with_helplines
            else None
        ),
    }


def overview(query: DashboardQuery, *, now: datetime, options: TableOptions) -> dict[str, Any]:
    """The overview: `performance` plus the partners and countries tables (9 queries)."""
    context = performance(query, now=now, options=options)
    event_filter = query.event_filter()
    context["partners"] = breakdown(
        "partners", partner_rows(event_filter, query.tz), options, default="-displays"
    )
    context["countries"] = breakdown(
        "countries", country_rows(event_filter, query.tz), options, default="-displays"
    )
    return context


def helpline_page(
    query: DashboardQuery, helpline: Helpline, *, now: datetime, options: TableOptions
) -> dict[str, Any]:
    """One helpline: its performance, the partners that showed it, its load against its
    hourly capacity and its latest episodes over capacity (at most 8 queries: one
    helpline's sessions are kept beside its counts, so each figure is one query)."""
    context = performance(query, now=now, options=options, with_helplines=False)
    context["partners"] = breakdown(
        "partners", partner_rows(query.event_filter(), query.tz), options, default="-displays"
    )
    context["load"] = helpline_loads([helpline], now=now, tz=query.tz)[0]
    context["episodes"] = selectors.recent_load_episodes(10, helpline=helpline)
    context["helpline"] = helpline
    return context


def partner_page(
    query: DashboardQuery,
    partner: Partner,
    *,
    now: datetime,
    options: TableOptions,
    with_health: bool = True,
) -> dict[str, Any]:
    """One partner's performance, its countries and (for staff) its integration health
    (16 queries; 7 without the health, which partner users read on a page of its own)."""
    context = performance(query, now=now, options=options)
    context["countries"] = breakdown(
        "countries", country_rows(query.event_filter(), query.tz), options, default="-displays"
    )
    context["partner"] = partner
    if with_health:
        context |= integration_health(query, partner, now=now, live=context["totals"])
    return context


# The integration figures' window (staff's partner page and the partner's integration
# page): the current clock hour and the hours before it.
TRAFFIC_HOURS = 48


def traffic_window(now: datetime) -> tuple[datetime, datetime]:
    """[since, end): the TRAFFIC_HOURS whole clock hours up to the current one."""
    since = floor_hour(now - timedelta(hours=TRAFFIC_HOURS - 1))
    return since, since + timedelta(hours=TRAFFIC_HOURS)


def integration_health(
    query: DashboardQuery, partner: Partner, *, now: datetime, live: Metrics
) -> dict[str, Any]:
    """The partner's last event, its live and test traffic of the last 48 hours and of the
    period (`live`: the period's live figures, which the page has already read), its
    refused events, paired services and keys (9 queries)."""
    since, end = traffic_window(now)
    hours = [
        (slot.hour, slot.live_events, slot.test_events)
        for slot in traffic_by_hour(partner.pk, since, end, query.tz)
    ]
    return {
        "last_received": last_event_received(partner.pk),
        "traffic_chart": charts.traffic_chart(hours),
        "traffic_hours": hours,
        "live": live,
        # The test traffic's rows alone: a few percent of the partner's.
        "test": totals(query.event_filter(test_only=True), query.tz),
        "keys": key_usage(partner.pk),
        "refusals": refusal_summary(refusals_by_hour(partner_id=partner.pk, since=since)),
        "paired": paired_displays(query, partner),
    }


def paired_displays(query: DashboardQuery, partner: Partner) -> PairedDisplays:
    """The partner's paired-service figures over the period's dates, taken as UTC days
    (the days they are kept in), whatever the page's zone (1 query)."""
    rows = paired_display_rows(query.first_day, query.last_day, partner_ids=frozenset({partner.pk}))
    return paired_display_totals(rows)


def impact_report(query: DashboardQuery, partner: Partner, *, now: datetime) -> dict[str, Any]:
    """The impact report of one partner over a period: the partner page's figures (the same
    `performance`), every helpline and country reached, paired services per day (6 queries).
    """
    context = performance(query, now=now, with_helplines=False)
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


@dataclass(frozen=True)
class HelplineLoad:
    """A helpline's clicks per hour over 24 hours and 7 days; each figure is worked out
    once (the page and load.csv read them several times each)."""

    helpline: Helpline
    day: list[tuple[datetime, int]]
    week: list[tuple[datetime, int]]
    day_chart: charts.Chart
    week_chart: charts.Chart

    @staticmethod
    def _over(hours: list[tuple[datetime, int]], capacity: int | None) -> int:
        return 0 if capacity is None else sum(1 for _, clicks in hours if clicks > capacity)

    @cached_property
    def clicks_24h(self) -> int:
        return sum(clicks for _, clicks in self.day)

    @cached_property
    def peak_24h(self) -> int:
        return max((clicks for _, clicks in self.day), default=0)

    @cached_property
    def peak_7d(self) -> int:
        return max((clicks for _, clicks in self.week), default=0)

    @cached_property
    def over_24h(self) -> int:
        return self._over(self.day, self.helpline.hourly_capacity)

    @cached_property
    def over_7d(self) -> int:
        return self._over(self.week, self.helpline.hourly_capacity)

    @property
    def this_hour(self) -> int:
        """Clicks in the current clock hour so far."""
        return self.day[-1][1] if self.day else 0

    @cached_property
    def flagged(self) -> bool:
        return bool(self.over_24h or self.over_7d)

    @property
    def status(self) -> str:
        """The page's and load.csv's word for it."""
        if self.flagged:
            return "over capacity"
        return "no capacity set" if self.helpline.hourly_capacity is None else "within capacity"


def _load_window(now: datetime) -> tuple[datetime, datetime, datetime]:
    """(7 days before, 24 hours before, end): whole clock hours up to the current one."""
    end = floor_hour(now) + HOUR
    return end - timedelta(days=7), end - timedelta(hours=24), end


def helpline_loads(helplines: list[Helpline], *, now: datetime, tz: ZoneInfo) -> list[HelplineLoad]:
    """Clicks per clock hour of live traffic on `helplines` over 24 h and 7 days, the
    current hour so far last (1 query)."""
    week_start, day_start, end = _load_window(now)
    clicks = hourly_clicks([h.pk for h in helplines], week_start, end) if helplines else {}
    # Looked up by the UTC hour, as hourly_clicks keys them (an aware datetime of another
    # zone is equal, but each comparison works out both offsets), shown in the zone's.
    slots = [(hour, hour.astimezone(tz)) for hour in clock_hours(week_start, end)]
    day_hours = sum(1 for hour, _ in slots if hour >= day_start)
    loads = []
    for helpline in helplines:
        pk = helpline.pk
        week = [(local, clicks.get((pk, hour), 0)) for hour, local in slots]
        day = week[len(week) - day_hours :]
        loads.append(
            HelplineLoad(
                helpline=helpline,
                day=day,
                week=week,
                day_chart=charts.hourly_chart(
                    day,
                    helpline.hourly_capacity,
                    label=f"{helpline.name}: clicks per hour, last 24 hours",
                    partial_last=True,
                ),
                week_chart=charts.hourly_chart(
                    week,
                    helpline.hourly_capacity,
                    label=f"{helpline.name}: clicks per hour, last 7 days",
                    partial_last=True,
                ),
            )
        )
    return loads


def load(*, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Clicks per hour on each priority helpline over 24 h and 7 days, and the latest
    episodes over capacity (3 queries)."""
    loads = helpline_loads(selectors.priority_helplines(), now=now, tz=tz)
    # Helplines over capacity first: they are why someone opens this page.
    loads.sort(key=lambda item: (not item.flagged, item.helpline.name))
    _, _, end = _load_window(now)
    return {
        "loads": loads,
        "episodes": selectors.recent_load_episodes(RECENT_EPISODES),
        "window_end": end.astimezone(tz),
        "now": now.astimezone(tz),
        "flagged": [item for item in loads if item.flagged],
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
