"""The one definition of every number (docs/product.md §4): displays, clicks, CTR, sessions.

Every dashboard page, every CSV export and the partner stats API read their figures from
`metric_rows()` / `iter_metric_rows()` here, and derive CTR and conversion rate with
`ratio()`, so no two screens can disagree. The figures are read from the aggregates that
`events.rollup` maintains, never from raw events (bar at most two partial quarter-hours at
the ends of a range that does not start or end on one); see docs/aggregates.md.

Definitions:
- displays and clicks count stored events; test-key events only when asked for;
- a session is a partner's `session_id` (two partners' identical ids are two sessions);
  it is *reached* on a day when it has at least one display that day, and *converted*
  when, that day, it clicked a helpline it was shown that day;
- sessions are counted per calendar day in the chosen time zone and summed over a range,
  so a session active on three days counts three times in a monthly figure;
- a session is one kind of traffic's: a session id sent with a live and a test key is two
  sessions (test traffic is counted apart, never added to live);
- hours are clock hours of UTC, labelled in the chosen time zone: on the night a clock
  goes back the repeated local hour stays two buckets instead of merging into one;
- session figures exist for whole calendar days of the zones the aggregates keep days for
  (`SessionZone`: the METRICS_TIME_ZONES setting and every billing zone). Elsewhere (an
  hour, a range cut mid-day, another zone, a topic, several helplines or countries at once)
  they are None, shown as "not available", never an approximation.
"""

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils.dateparse import parse_date

from api.utc import as_utc, floor_hour
from events.days import (
    QUARTER,
    UTC_ZONE,
    ceil_quarter,
    day_bounds,
    days_between,
    floor_quarter,
    local_days,
)
from events.models import (
    COUNT_COLUMNS,
    LIVE_CLICKED,
    ContactMethod,
    DayCount,
    DaySessionCount,
    Event,
    EventType,
    HourClicks,
    PairedDisplayDay,
    QuarterHourCount,
    SessionZone,
)
from events.pg import server_bound_cursor

CONTACT_METHODS: tuple[str, ...] = tuple(ContactMethod.values)


class Dimension(StrEnum):
    """What rows can be grouped by; combine several, e.g. day x partner x helpline."""

    DAY = "day"
    HOUR = "hour"
    PARTNER = "partner"
    HELPLINE = "helpline"
    COUNTRY = "country"
    TOPIC = "topic"
    CONTACT_METHOD = "contact_method"
    TRAFFIC = "traffic"  # live or test key


def ratio(numerator: int | None, denominator: int | None) -> Decimal | None:
    """numerator / denominator, or None when the denominator is 0 (docs/product.md §4: empty)."""
    if not denominator or numerator is None:
        return None
    return Decimal(numerator) / Decimal(denominator)


def format_ratio(value: Decimal | None) -> str:
    """A ratio as written in every CSV: 4 decimals, empty when undefined."""
    if value is None:
        return ""
    return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


# The figures' columns in every CSV (report.csv, billing.csv), in `figure_cells`' order.
FIGURE_COLUMNS = (
    "displays",
    "clicks",
    "ctr",
    "sessions_reached",
    "sessions_converted",
    "conversion_rate",
)


def figure_cells(metrics: "Metrics") -> list[object]:
    """The figures of FIGURE_COLUMNS as every CSV writes them (report.csv, billing.csv and
    its checksum)."""
    return [
        metrics.displays,
        metrics.clicks,
        format_ratio(metrics.ctr),
        metrics.sessions_reached,
        metrics.sessions_converted,
        format_ratio(metrics.conversion_rate),
    ]


@dataclass(frozen=True, kw_only=True)
class EventFilter:
    """Which events count: a time range [start, end) and optional narrowing."""

    start: datetime
    end: datetime
    partner_ids: frozenset[int] = frozenset()
    helpline_ids: frozenset[int] = frozenset()  # primary keys
    countries: frozenset[str] = frozenset()
    priority_only: bool = False
    include_test: bool = False
    test_only: bool = False  # test traffic alone (include_test is then moot)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("EventFilter needs aware datetimes.")

    @classmethod
    def for_days(
        cls, first_day: date, last_day: date, tz: ZoneInfo, **narrowing: Any
    ) -> "EventFilter":
        """Calendar days first_day..last_day, both inclusive, in `tz`."""
        start, end = day_bounds(first_day, last_day, tz)
        return cls(start=start, end=end, **narrowing)

    def events(self) -> QuerySet[Event]:
        """The raw events (events.csv, GET /v1/events; figures read the aggregates)."""
        return self.narrow(Event.objects.filter(timestamp__gte=self.start, timestamp__lt=self.end))

    def traffic_lookup(self) -> dict[str, bool]:
        """Which traffic counts, as a lookup on `is_test`: live only (the default), test
        only, or both."""
        if self.test_only:
            return {"is_test": True}
        return {} if self.include_test else {"is_test": False}

    def narrow(self, rows: QuerySet) -> QuerySet:
        """Everything but the time range, on raw events or any aggregate table (all have
        partner, is_test and helpline, bar DaySessionCount, which has no helpline)."""
        rows = rows.filter(**self.traffic_lookup())
        if self.partner_ids:
            rows = rows.filter(partner_id__in=self.partner_ids)
        if self.helpline_ids:
            rows = rows.filter(helpline_id__in=self.helpline_ids)
        if self.countries:
            rows = rows.filter(helpline__country_code__in=self.countries)
        if self.priority_only:
            rows = rows.filter(helpline__is_priority=True)
        return rows


@dataclass(frozen=True, slots=True)
class Metrics:
    """The figures of one group. Sessions are None on contact-method rows (undefined)."""

    displays: int = 0
    clicks: int = 0
    clicks_by_method: Mapping[str, int] = field(
        default_factory=lambda: dict.fromkeys(CONTACT_METHODS, 0)
    )
    sessions_reached: int | None = 0
    sessions_converted: int | None = 0

    @property
    def ctr(self) -> Decimal | None:
        return ratio(self.clicks, self.displays)

    @property
    def conversion_rate(self) -> Decimal | None:
        return ratio(self.sessions_converted, self.sessions_reached)

    def __add__(self, other: "Metrics") -> "Metrics":
        return Metrics(
            displays=self.displays + other.displays,
            clicks=self.clicks + other.clicks,
            clicks_by_method={
                method: self.clicks_by_method[method] + other.clicks_by_method[method]
                for method in CONTACT_METHODS
            },
            sessions_reached=_add_optional(self.sessions_reached, other.sessions_reached),
            sessions_converted=_add_optional(self.sessions_converted, other.sessions_converted),
        )


def _add_optional(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


@dataclass(frozen=True, slots=True)
class PartnerRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class HelplineRef:
    id: int
    public_id: str
    name: str
    country_code: str


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One group: the dimensions asked for are set, the others stay None."""

    metrics: Metrics
    day: date | None = None
    hour: datetime | None = None  # aware, in the time zone asked for
    partner: PartnerRef | None = None
    helpline: HelplineRef | None = None
    country: str | None = None
    topic: str | None = None  # topic slug; "" for helplines without a topic
    contact_method: str | None = None
    is_test: bool | None = None

    @property
    def group(self) -> tuple:
        """The row's identity without its figures (used to merge days)."""
        return (
            self.day,
            # In UTC: two local 01:00s of the night the clocks go back are equal in Python
            # (same tzinfo, fold ignored) but are two hours.
            self.hour.astimezone(UTC) if self.hour else None,
            self.partner,
            self.helpline,
            self.country,
            self.topic,
            self.contact_method,
            self.is_test,
        )


def metric_rows(
    event_filter: EventFilter, group_by: Sequence[Dimension] = (), tz: ZoneInfo = UTC_ZONE
) -> list[MetricRow]:
    """The figures of `event_filter` grouped by `group_by`, days summed unless grouped.

    Rows exist only for groups with events; see `fill_days` / `fill_hours` for charts.
    """
    return list(_iter_rows(event_filter, set(group_by), tz, chunked=False))


def iter_metric_rows(
    event_filter: EventFilter, group_by: Sequence[Dimension], tz: ZoneInfo = UTC_ZONE
) -> Iterator[MetricRow]:
    """Like `metric_rows` but streamed from a server-side cursor, for exports of any size.

    DAY must be in `group_by`: rows then come out of the database final, in order.
    """
    if Dimension.DAY not in group_by:
        raise ValueError("Streaming needs rows per day.")
    return _iter_rows(event_filter, set(group_by), tz, chunked=True)


def totals(event_filter: EventFilter, tz: ZoneInfo = UTC_ZONE) -> Metrics:
    """All of `event_filter` in one figure set (sessions summed over the days of `tz`)."""
    rows = metric_rows(event_filter, (), tz)
    return rows[0].metrics if rows else Metrics()


def fill_days(rows: Sequence[MetricRow], first_day: date, last_day: date) -> list[MetricRow]:
    """One row per day first_day..last_day, zeros where `rows` (grouped by day) have none."""
    by_day = {row.day: row for row in rows}
    return [
        by_day.get(day) or MetricRow(metrics=Metrics(), day=day)
        for day in days_between(first_day, last_day)
    ]


def fill_hours(
    rows: Sequence[MetricRow], start: datetime, end: datetime, tz: ZoneInfo
) -> list[MetricRow]:
    """One row per UTC clock hour in [start, end), zeros where `rows` (by hour) have none."""
    by_hour = {row.hour.astimezone(UTC): row for row in rows if row.hour}  # see group
    return [
        by_hour.get(hour) or MetricRow(metrics=Metrics(), hour=hour.astimezone(tz))
        for hour in clock_hours(start, end)
    ]


def clock_hours(start: datetime, end: datetime) -> list[datetime]:
    """The UTC clock hours in [start, end), from the one holding `start`, in UTC."""
    hour = floor_hour(start)
    hours = []
    while hour < end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


@dataclass(frozen=True, slots=True)
class TrafficHour:
    """One clock hour of a partner's events, live and test keys apart."""

    hour: datetime  # aware, in the time zone asked for
    live: Metrics
    test: Metrics

    @property
    def live_events(self) -> int:
        return self.live.displays + self.live.clicks

    @property
    def test_events(self) -> int:
        return self.test.displays + self.test.clicks


def traffic_by_hour(
    partner_id: int, start: datetime, end: datetime, tz: ZoneInfo = UTC_ZONE
) -> list[TrafficHour]:
    """Every UTC clock hour in [start, end) of one partner's events, live and test apart,
    zeros included: integration health for staff and for the partner (1 query)."""
    recent = EventFilter(
        start=floor_hour(start), end=end, partner_ids=frozenset({partner_id}), include_test=True
    )
    by_hour: dict[datetime, dict[bool, Metrics]] = {}
    for row in metric_rows(recent, [Dimension.HOUR, Dimension.TRAFFIC], tz):
        assert row.hour is not None
        by_hour.setdefault(row.hour.astimezone(UTC), {})[bool(row.is_test)] = row.metrics
    hours = []
    for hour in clock_hours(start, end):
        traffic = by_hour.get(hour, {})
        hours.append(
            TrafficHour(
                hour=hour.astimezone(tz),
                live=traffic.get(False, Metrics()),
                test=traffic.get(True, Metrics()),
            )
        )
    return hours


# Zone name -> covered_from of the zones kept. A zone once kept stays kept from the same
# instant, so a process remembers it and asks the database only about other zones.
_kept_zones: dict[str, datetime] = {}


def session_days(tz: ZoneInfo, first_day: date, last_day: date) -> bool:
    """Whether the days first_day..last_day of `tz` have session figures."""
    start, _ = day_bounds(first_day, first_day, tz)
    name = str(tz)
    if name not in _kept_zones:
        zone = SessionZone.objects.filter(name=name).first()
        if zone is None:
            return False
        _kept_zones[name] = zone.covered_from
    return _kept_zones[name] <= start


def session_zone_names() -> list[str]:
    """The time zones whose calendar days have session figures, by name."""
    return list(SessionZone.objects.order_by("name").values_list("name", flat=True))


def forget_kept_zones() -> None:
    """For tests, which empty the tables between them."""
    _kept_zones.clear()


# ------------------------------------------------------------------ reading the aggregates


class _Grain(StrEnum):
    """Where a group's session figures come from."""

    HELPLINE = "helpline"  # DayCount: one helpline's sessions
    COUNTRY = "country"  # DaySessionCount rows of one country
    ALL = "all"  # DaySessionCount rows over all helplines


def _session_grain(event_filter: EventFilter, dims: set[Dimension]) -> _Grain | None:
    """Which stored distinct count answers the sessions of each group, if one does.

    Distinct sessions do not add up across helplines (a session shown two helplines is one
    session), so a group's figure must be stored for exactly that group.
    """
    if dims & {Dimension.CONTACT_METHOD, Dimension.HOUR}:
        return None
    if Dimension.HELPLINE in dims or len(event_filter.helpline_ids) == 1:
        return _Grain.HELPLINE
    if event_filter.helpline_ids or event_filter.priority_only or Dimension.TOPIC in dims:
        return None
    if Dimension.COUNTRY in dims or len(event_filter.countries) == 1:
        return _Grain.COUNTRY
    return None if event_filter.countries else _Grain.ALL


def _whole_days(event_filter: EventFilter, tz: ZoneInfo) -> list[date] | None:
    """The calendar days of `tz` that the filter's range is made of, or None if it cuts a day."""
    days = list(local_days(event_filter.start, event_filter.end, tz))
    if not days or day_bounds(days[0], days[-1], tz) != (event_filter.start, event_filter.end):
        return None
    return days


def _inner_days(event_filter: EventFilter, tz: ZoneInfo) -> list[date]:
    """The calendar days of `tz` that lie whole inside the filter's range."""
    inside = []
    for day in local_days(event_filter.start, event_filter.end, tz):
        start, end = day_bounds(day, day, tz)
        if event_filter.start <= start and end <= event_filter.end:
            inside.append(day)
    return inside


def _without_sessions(row: MetricRow) -> MetricRow:
    return replace(
        row, metrics=replace(row.metrics, sessions_reached=None, sessions_converted=None)
    )


def _days_and_cut_ends(
    event_filter: EventFilter, dims: set[Dimension], tz: ZoneInfo, inner: list[date]
) -> Iterator[MetricRow]:
    """A range that cuts a day at one end or both (a period compared "so far", say): its
    whole days from DayCount, the cut ends from QuarterHourCount (and the raw events of a
    partial quarter-hour), so a month of all partners' traffic costs a month of day rows
    and at most two days of quarter rows. Counts add up; sessions do not exist for part of
    a day, so no row has them, as when the whole range is read by quarter-hours."""
    start, end = day_bounds(inner[0], inner[-1], tz)
    whole = replace(event_filter, start=start, end=end)
    parts = [_day_rows(whole, dims, tz, inner, chunked=False, with_sessions=False)]
    parts += [
        _quarter_rows(replace(event_filter, start=cut_start, end=cut_end), dims, tz)
        for cut_start, cut_end in ((event_filter.start, start), (end, event_filter.end))
        if cut_start < cut_end
    ]
    merged: dict[tuple, MetricRow] = {}
    for part in parts:
        for row in part:
            if (previous := merged.get(row.group)) is not None:
                row = replace(row, metrics=previous.metrics + row.metrics)
            merged[row.group] = row
    yield from sorted((_without_sessions(row) for row in merged.values()), key=_sort_key)


def _iter_rows(
    event_filter: EventFilter, dims: set[Dimension], tz: ZoneInfo, *, chunked: bool
) -> Iterator[MetricRow]:
    days = None if Dimension.HOUR in dims else _whole_days(event_filter, tz)
    inner = None if Dimension.HOUR in dims else _inner_days(event_filter, tz)
    if days is not None and session_days(tz, days[0], days[-1]):
        rows = _day_rows(event_filter, dims, tz, days, chunked=chunked)
    elif inner and session_days(tz, inner[0], inner[-1]):
        rows = _days_and_cut_ends(event_filter, dims, tz, inner)
    else:
        rows = _quarter_rows(event_filter, dims, tz)
    for row in rows:
        yield from _split_by_method(row, dims)


# The group columns of each dimension, in the order rows are sorted. `time` names the
# table's time column: a day window's start (DayCount), a quarter-hour or a raw timestamp.
def _group_columns(dims: set[Dimension], tz: ZoneInfo, *, time: str) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if Dimension.DAY in dims:
        columns["k_day"] = F(time) if time == "day_start" else TruncDate(time, tzinfo=tz)
    if Dimension.HOUR in dims:
        columns["k_hour"] = TruncHour(time, tzinfo=UTC)
    if Dimension.PARTNER in dims:
        columns |= {
            "k_partner_slug": F("partner__slug"),
            "k_partner_id": F("partner_id"),
            "k_partner_name": F("partner__name"),
        }
    if Dimension.HELPLINE in dims:
        columns |= {
            "k_helpline_public_id": F("helpline__public_id"),
            "k_helpline_id": F("helpline_id"),
            "k_helpline_name": F("helpline__name"),
            "k_helpline_country": F("helpline__country_code"),
        }
    if Dimension.COUNTRY in dims:
        columns["k_country"] = F("helpline__country_code")
    if Dimension.TOPIC in dims:
        columns["k_topic"] = F("helpline__topics__slug")
    if Dimension.TRAFFIC in dims:
        columns["k_is_test"] = F("is_test")
    return columns


def _counted(rows: QuerySet, columns: dict[str, Any], *extra: str) -> Any:
    """The sums of the count columns (and `extra`) per group of `columns`."""
    sums = {f"n_{column}": Sum(column) for column in (*COUNT_COLUMNS, *extra)}
    return _summed(rows, columns, sums)


def _summed(rows: QuerySet, columns: dict[str, Any], sums: dict[str, Any]) -> Any:
    if not columns:  # one figure set: no group, and no row at all when nothing matched
        total = rows.aggregate(**sums)
        return [total] if any(value is not None for value in total.values()) else []
    return rows.annotate(**columns).values(*columns).annotate(**sums).order_by(*columns)


def _day_rows(
    event_filter: EventFilter,
    dims: set[Dimension],
    tz: ZoneInfo,
    days: list[date],
    *,
    chunked: bool,
    with_sessions: bool = True,
) -> Iterator[MetricRow]:
    """From DayCount (and DaySessionCount): one or two queries, whatever the table sizes.
    Without `with_sessions`, counts only (one query), session figures None."""
    day_of = {day_bounds(day, day, tz)[0]: day for day in days}
    # A zone's day windows pair their starts and ends one way only: IN x IN is exact.
    windows = {
        # The range lets the day index (or the primary key after the partner) find the
        # period's rows; IN x IN then keeps exactly this zone's windows.
        "day_start__gte": min(day_of),
        "day_start__lte": max(day_of),
        "day_start__in": list(day_of),
        "day_end__in": [day_bounds(day, day, tz)[1] for day in days],
    }
    grain = _session_grain(event_filter, dims) if with_sessions else None
    columns = _group_columns(dims, tz, time="day_start")
    sessions = ("sessions_reached", "sessions_converted") if grain == _Grain.HELPLINE else ()
    counts = _counted(event_filter.narrow(DayCount.objects.filter(**windows)), columns, *sessions)
    by_group: dict[tuple, tuple[int, int]] = {}
    session_keys: list[str] = []
    if grain in (_Grain.COUNTRY, _Grain.ALL):
        stored = DaySessionCount.objects.filter(**windows)
        stored = _narrow_sessions(stored, event_filter)
        stored = stored.filter(country="") if grain == _Grain.ALL else stored.exclude(country="")
        if event_filter.countries:
            stored = stored.filter(country__in=event_filter.countries)
        session_columns = {
            key: (F("country") if key == "k_country" else value)
            for key, value in columns.items()
            if key in ("k_day", "k_partner_id", "k_country", "k_is_test")
        }
        session_keys = list(session_columns)
        session_sums = {"reached": Sum("sessions_reached"), "converted": Sum("sessions_converted")}
        for record in _summed(stored, session_columns, session_sums):
            key = tuple(record[name] for name in session_keys)
            by_group[key] = (record["reached"], record["converted"])
    records = counts.iterator(chunk_size=2000) if chunked and columns else counts
    for record in records:
        if grain == _Grain.HELPLINE:
            reached, converted = record["n_sessions_reached"], record["n_sessions_converted"]
        elif grain is None:
            reached = converted = None
        else:
            reached, converted = by_group.get(tuple(record[name] for name in session_keys), (0, 0))
        if "k_day" in record:
            record["k_day"] = day_of[as_utc(record["k_day"])]
        yield _row(record, dims, tz, reached, converted)


def _narrow_sessions(rows: QuerySet, event_filter: EventFilter) -> QuerySet:
    rows = rows.filter(**event_filter.traffic_lookup())
    if event_filter.partner_ids:
        rows = rows.filter(partner_id__in=event_filter.partner_ids)
    return rows


def _quarter_rows(
    event_filter: EventFilter, dims: set[Dimension], tz: ZoneInfo
) -> Iterator[MetricRow]:
    """From QuarterHourCount, plus the raw events of a partial quarter-hour at either end:
    hours, and days of zones without session figures (which are then None)."""
    start, end = event_filter.start, event_filter.end
    whole_start, whole_end = ceil_quarter(start), floor_quarter(end)
    merged: dict[tuple, MetricRow] = {}

    def add(row: MetricRow) -> None:
        if (previous := merged.get(row.group)) is not None:
            row = replace(row, metrics=previous.metrics + row.metrics)
        merged[row.group] = row

    if whole_start < whole_end:
        quarters = QuarterHourCount.objects.filter(quarter__gte=whole_start, quarter__lt=whole_end)
        columns = _group_columns(dims, tz, time="quarter")
        for record in _counted(event_filter.narrow(quarters), columns):
            add(_row(record, dims, tz, None, None))
        slivers = [(start, whole_start), (whole_end, end)]
    else:
        slivers = [(start, end)]
    for sliver_start, sliver_end in slivers:
        if sliver_start < sliver_end:
            sliver = replace(event_filter, start=sliver_start, end=sliver_end)
            for row in _raw_rows(sliver, dims, tz):
                add(
                    replace(
                        row,
                        metrics=replace(
                            row.metrics, sessions_reached=None, sessions_converted=None
                        ),
                    )
                )
    yield from sorted(merged.values(), key=_sort_key)


def _sort_key(row: MetricRow) -> tuple:
    return (
        row.day or date.min,
        row.hour or datetime.min.replace(tzinfo=UTC),
        row.partner.slug if row.partner else "",
        row.helpline.public_id if row.helpline else "",
        row.country or "",
        row.topic or "",
        bool(row.is_test),
    )


def _row(
    record: dict[str, Any],
    dims: set[Dimension],
    tz: ZoneInfo,
    reached: int | None,
    converted: int | None,
) -> MetricRow:
    by_method = {method: int(record[f"n_clicks_{method}"] or 0) for method in CONTACT_METHODS}
    metrics = Metrics(
        displays=int(record["n_displays"] or 0),
        clicks=sum(by_method.values()),
        clicks_by_method=by_method,
        sessions_reached=None if reached is None else int(reached),
        sessions_converted=None if converted is None else int(converted),
    )
    return _row_of(record, metrics, dims, tz)


def _row_of(
    keys: dict[str, Any], metrics: Metrics, dims: set[Dimension], tz: ZoneInfo
) -> MetricRow:
    return MetricRow(
        metrics=metrics,
        day=_as_date(keys["k_day"]) if Dimension.DAY in dims else None,
        hour=as_utc(keys["k_hour"]).astimezone(tz) if Dimension.HOUR in dims else None,
        partner=(
            PartnerRef(keys["k_partner_id"], keys["k_partner_slug"], keys["k_partner_name"])
            if Dimension.PARTNER in dims
            else None
        ),
        helpline=(
            HelplineRef(
                keys["k_helpline_id"],
                keys["k_helpline_public_id"],
                keys["k_helpline_name"],
                keys["k_helpline_country"],
            )
            if Dimension.HELPLINE in dims
            else None
        ),
        country=keys.get("k_country"),
        topic=(keys.get("k_topic") or "") if Dimension.TOPIC in dims else None,
        is_test=bool(keys["k_is_test"]) if Dimension.TRAFFIC in dims else None,
    )


def _split_by_method(row: MetricRow, dims: set[Dimension]) -> Iterator[MetricRow]:
    if Dimension.CONTACT_METHOD not in dims:
        yield row
        return
    # Displays carry no contact method: a contact-method row keeps its group's displays
    # (its CTR is "clicks by this method per display") and has no session figures.
    metrics = row.metrics
    for method in CONTACT_METHODS:
        yield replace(
            row,
            contact_method=method,
            metrics=Metrics(
                displays=metrics.displays,
                clicks=metrics.clicks_by_method[method],
                clicks_by_method={
                    m: metrics.clicks_by_method[m] if m == method else 0 for m in CONTACT_METHODS
                },
                sessions_reached=None,
                sessions_converted=None,
            ),
        )


# ------------------------------------------------------------------ raw events


def _raw_rows(event_filter: EventFilter, dims: set[Dimension], tz: ZoneInfo) -> Iterator[MetricRow]:
    """Displays and clicks of raw events: only for a partial quarter-hour at an end of a
    range, so at most half an hour of events is ever read for a figure."""
    columns = _group_columns(dims, tz, time="timestamp")
    counts = {"n_displays": Count("id", filter=Q(type=EventType.DISPLAY))} | {
        f"n_clicks_{method}": Count("id", filter=Q(type=EventType.CLICK, contact_method=method))
        for method in CONTACT_METHODS
    }
    if not columns:
        # One figure set: an aggregate, not .values() of every column (which PostgreSQL
        # refuses to group by the counts alone); no row when no event matched, as grouped.
        total = event_filter.events().aggregate(**counts)
        if any(total.values()):
            yield _row(total, dims, tz, None, None)
        return
    for record in (
        event_filter.events().annotate(**columns).values(*columns).annotate(**counts).order_by()
    ):
        yield _row(record, dims, tz, None, None)


def _as_date(value: date | str) -> date:
    # SQLite hands raw SQL results back as text.
    if isinstance(value, str):
        parsed = parse_date(value)
        assert parsed is not None, value
        return parsed
    return value


# ------------------------------------------------------------------ load (rolling hours)

HOUR = timedelta(hours=1)
# A QuarterHourCount row's clicks, every contact method together.
_CLICKS = sum((F(f"clicks_{method}") for method in CONTACT_METHODS[1:]), F("clicks_phone"))


def _live_quarters(helpline_ids: Collection[int], start: datetime, end: datetime) -> QuerySet:
    """The quarter-hours of live traffic on `helpline_ids` that hold a click (the rows of
    the index quarter_count_live_clicks: the others add nothing to a sum of clicks)."""
    return QuarterHourCount.objects.filter(
        LIVE_CLICKED, helpline_id__in=list(helpline_ids), quarter__gte=start, quarter__lt=end
    )


def hourly_clicks(
    helpline_ids: Collection[int], start: datetime, end: datetime
) -> dict[tuple[int, datetime], int]:
    """Clicks of live traffic, all partners together, per (helpline, UTC clock hour) in
    [start, end), both whole hours; hours without clicks are left out (one query).

    The load page's figure: what `metric_rows(..., [HOUR, HELPLINE])` gives as clicks,
    read from HourClicks, a row per helpline and hour, rather than summed from a row per
    partner and quarter-hour.
    """
    if start != floor_hour(start) or end != floor_hour(end):
        raise ValueError("Hourly clicks are read for whole UTC hours.")
    if not helpline_ids:
        return {}
    hours_of = HourClicks.objects.filter(
        helpline_id__in=list(helpline_ids), hour__gte=start, hour__lt=end
    ).values_list("helpline_id", "hour", "clicks")
    # The rows are read as the database gives them: Django's converters would make each
    # row's hour aware one by one, where the same few hundred hours repeat for every
    # helpline. On PostgreSQL in binary, through a prepared statement (events.pg).
    sql, params = hours_of.query.get_compiler(using=hours_of.db).as_sql()
    if connections[hours_of.db].vendor == "postgresql":
        with server_bound_cursor(hours_of.db, binary=True) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        with connections[hours_of.db].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    hours: dict[Any, datetime] = {}
    clicks: dict[tuple[int, datetime], int] = {}
    for helpline_id, raw_hour, count in rows:
        hour = hours.get(raw_hour)
        if hour is None:
            hour = hours[raw_hour] = as_utc(raw_hour)
        clicks[helpline_id, hour] = int(count)
    return clicks


def rolling_hour_clicks(
    helpline_ids: Collection[int], first_end: datetime, last_end: datetime
) -> dict[int, list[tuple[datetime, int]]]:
    """Clicks of live traffic, all partners together, in the rolling hour [end - 1 h, end)
    ending at each UTC quarter-hour boundary first_end..last_end, per helpline (one query).

    Whole quarter-hours of QuarterHourCount, so each hour is exact for the events the
    rollup had covered when it was read (docs/aggregates.md) and compares with an hourly
    capacity as it is, without prorating a partial quarter-hour.
    """
    if first_end != floor_quarter(first_end) or last_end != floor_quarter(last_end):
        raise ValueError("Rolling hours end on a UTC quarter-hour.")
    by_quarter: dict[tuple[int, datetime], int] = {
        (record["helpline_id"], as_utc(record["quarter"])): int(record["clicks"] or 0)
        for record in _live_quarters(helpline_ids, first_end - HOUR, last_end)
        .values("helpline_id", "quarter")
        .annotate(clicks=Sum(_CLICKS))
        .order_by()
    }
    ends: list[datetime] = []
    end = first_end.astimezone(UTC)
    while end <= last_end:
        ends.append(end)
        end += QUARTER
    return {
        helpline_id: [
            (
                end,
                sum(by_quarter.get((helpline_id, end - QUARTER * n), 0) for n in range(1, 5)),
            )
            for end in ends
        ]
        for helpline_id in helpline_ids
    }


# ------------------------------------------------------------------ paired services


@dataclass(frozen=True, slots=True)
class PairedDisplays:
    """Sessions that displayed a service of a pair, and those that displayed one service
    of a pair without the other within the window (PAIRED_DISPLAY_WINDOW_MINUTES), over
    UTC days; see `events.rollup` for how each session-day is decided."""

    sessions_paired: int = 0
    sessions_alone: int = 0
    day: date | None = None
    partner: PartnerRef | None = None

    @property
    def alone_rate(self) -> Decimal | None:
        return ratio(self.sessions_alone, self.sessions_paired)


def paired_display_rows(
    first_day: date,
    last_day: date,
    *,
    partner_ids: frozenset[int] = frozenset(),
    include_test: bool = False,
) -> list[PairedDisplays]:
    """Per partner and UTC day first_day..last_day, the days with a paired display only,
    by day then partner slug (one query)."""
    rows = PairedDisplayDay.objects.filter(day__gte=first_day, day__lte=last_day)
    if not include_test:
        rows = rows.filter(is_test=False)
    if partner_ids:
        rows = rows.filter(partner_id__in=partner_ids)
    records = (
        rows.values("day", "partner_id", "partner__slug", "partner__name")
        .annotate(paired=Sum("sessions_paired"), alone=Sum("sessions_alone"))
        .filter(paired__gt=0)
        .order_by("day", "partner__slug")
    )
    return [
        PairedDisplays(
            sessions_paired=int(record["paired"]),
            sessions_alone=int(record["alone"]),
            day=_as_date(record["day"]),
            partner=PartnerRef(
                record["partner_id"], record["partner__slug"], record["partner__name"]
            ),
        )
        for record in records
    ]


def paired_display_totals(rows: Sequence[PairedDisplays]) -> PairedDisplays:
    """The sum of `rows`: session-days, summed over days as docs/product.md §4 sums sessions."""
    return PairedDisplays(
        sessions_paired=sum(row.sessions_paired for row in rows),
        sessions_alone=sum(row.sessions_alone for row in rows),
    )
