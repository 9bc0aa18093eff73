"""The one definition of every number (SPEC §4): displays, clicks, CTR, sessions.

Every dashboard page, every CSV export and the partner stats API read their figures from
`metric_rows()` / `iter_metric_rows()` here, and derive CTR and conversion rate with
`ratio()`, so no two screens can disagree.

Definitions:
- displays and clicks count stored events; test-key events only when asked for;
- a session is a partner's `session_id` (two partners' identical ids are two sessions);
  it is *reached* on a day when it has at least one display that day, and *converted*
  when, that day, it clicked a helpline it was shown that day;
- sessions are counted per calendar day in the chosen time zone and summed over a range,
  so a session active on three days counts three times in a monthly figure;
- hours are clock hours of UTC, labelled in the chosen time zone: on the night a clock
  goes back the repeated local hour stays two buckets instead of merging into one.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import CharField, Count, F, Max, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat, TruncDate, TruncHour
from django.utils.dateparse import parse_date, parse_datetime

from events.models import ContactMethod, Event, EventType
from helplines.models import PartnerAPIKey

CONTACT_METHODS: tuple[str, ...] = tuple(ContactMethod.values)
UTC_ZONE = ZoneInfo("UTC")


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
    """numerator / denominator, or None when the denominator is 0 (SPEC §4: empty)."""
    if not denominator or numerator is None:
        return None
    return Decimal(numerator) / Decimal(denominator)


def format_ratio(value: Decimal | None) -> str:
    """A ratio as written in every CSV: 4 decimals, empty when undefined."""
    if value is None:
        return ""
    return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def day_bounds(first_day: date, last_day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the calendar days first_day..last_day (both inclusive) in `tz`.

    Local midnight is resolved by zoneinfo, so a 23- or 25-hour DST day has its real
    length; `end` is the next day's midnight, so 23:59:59.999999 still belongs to last_day.
    """
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


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
        events = Event.objects.filter(timestamp__gte=self.start, timestamp__lt=self.end)
        if not self.include_test:
            events = events.filter(is_test=False)
        if self.partner_ids:
            events = events.filter(partner_id__in=self.partner_ids)
        if self.helpline_ids:
            events = events.filter(helpline_id__in=self.helpline_ids)
        if self.countries:
            events = events.filter(helpline__country_code__in=self.countries)
        if self.priority_only:
            events = events.filter(helpline__is_priority=True)
        return events


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
            self.hour,
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
    """The figures of `event_filter` grouped by `group_by`, in one query.

    Without DAY (or HOUR) in `group_by`, the days are summed here (sessions are per day).
    Rows exist only for groups with events; see `fill_days` / `fill_hours` for charts.
    """
    dims = set(group_by)
    per_day = list(_iter_rows(event_filter, dims, tz, chunked=False))
    if Dimension.DAY in dims or Dimension.HOUR in dims:
        return per_day
    merged: dict[tuple, MetricRow] = {}
    for row in per_day:
        row = replace(row, day=None)
        if (previous := merged.get(row.group)) is not None:
            row = replace(row, metrics=previous.metrics + row.metrics)
        merged[row.group] = row
    return list(merged.values())


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
    days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
    return [by_day.get(day) or MetricRow(metrics=Metrics(), day=day) for day in days]


def fill_hours(
    rows: Sequence[MetricRow], start: datetime, end: datetime, tz: ZoneInfo
) -> list[MetricRow]:
    """One row per UTC clock hour in [start, end), zeros where `rows` (by hour) have none."""
    by_hour = {row.hour: row for row in rows}
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    filled = []
    while hour < end:
        local = hour.astimezone(tz)
        filled.append(by_hour.get(local) or MetricRow(metrics=Metrics(), hour=local))
        hour += timedelta(hours=1)
    return filled


# The dimension -> (column alias, expression) pairs of the inner query.
def _dimension_columns(dims: set[Dimension], tz: ZoneInfo) -> dict[str, Any]:
    columns: dict[str, Any] = {"k_day": TruncDate("timestamp", tzinfo=tz)}
    if Dimension.HOUR in dims:
        columns["k_hour"] = TruncHour("timestamp", tzinfo=UTC)
    if Dimension.PARTNER in dims:
        columns |= {
            # Slug first: rows come out ordered by the partner's slug.
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


def _iter_rows(
    event_filter: EventFilter, dims: set[Dimension], tz: ZoneInfo, *, chunked: bool
) -> Iterator[MetricRow]:
    """Two-level aggregate, one statement.

    The inner query counts each (day, partner, session, helpline) group's displays and
    clicks; the outer one sums those counts per requested group and counts the distinct
    sessions with a display (reached) and with a display and a click on the same helpline
    (converted). Django cannot select FROM a subquery, so the outer level is SQL around the
    ORM-built inner query (same SQL on PostgreSQL and SQLite).
    """
    columns = _dimension_columns(dims, tz)
    session = Concat(Cast("partner_id", CharField()), Value(":"), "session_id")
    counts = {
        "n_display": Count("id", filter=Q(type=EventType.DISPLAY)),
        "n_click": Count("id", filter=Q(type=EventType.CLICK)),
    } | {
        f"n_click_{method}": Count("id", filter=Q(type=EventType.CLICK, contact_method=method))
        for method in CONTACT_METHODS
    }
    inner = (
        event_filter.events()
        .annotate(**columns, k_session=session, k_line=F("helpline_id"))
        .values(*columns, "k_session", "k_line")
        .annotate(**counts)
        .order_by()
    )
    inner_sql, params = inner.query.sql_with_params()
    quote = connection.ops.quote_name
    keys = ", ".join(quote(alias) for alias in columns)
    sums = ", ".join(f"SUM({quote(alias)})" for alias in counts)
    reached = f"CASE WHEN {quote('n_display')} > 0 THEN {quote('k_session')} END"
    converted = (
        f"CASE WHEN {quote('n_display')} > 0 AND {quote('n_click')} > 0 "
        f"THEN {quote('k_session')} END"
    )
    sql = (
        f"SELECT {keys}, {sums}, COUNT(DISTINCT {reached}), COUNT(DISTINCT {converted}) "
        f"FROM ({inner_sql}) per_session GROUP BY {keys} ORDER BY {keys}"
    )
    aliases = list(columns)
    for record in _execute(sql, params, chunked=chunked):
        yield from _rows_from_record(dict(zip(aliases, record, strict=False)), record, dims, tz)


def _execute(sql: str, params: Sequence[Any], *, chunked: bool) -> Iterator[tuple]:
    # chunked_cursor() is a named (server-side) cursor on PostgreSQL, the one QuerySet.iterator()
    # uses: an export of millions of rows holds one batch in memory at a time.
    with connection.chunked_cursor() if chunked else connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            yield from batch


def _rows_from_record(
    keys: dict[str, Any], record: tuple, dims: set[Dimension], tz: ZoneInfo
) -> Iterator[MetricRow]:
    figures = [int(value or 0) for value in record[len(keys) :]]
    displays, clicks, *by_method, reached, converted = figures
    metrics = Metrics(
        displays=displays,
        clicks=clicks,
        clicks_by_method=dict(zip(CONTACT_METHODS, by_method, strict=True)),
        sessions_reached=reached,
        sessions_converted=converted,
    )
    row = MetricRow(
        metrics=metrics,
        day=_as_date(keys["k_day"]) if Dimension.DAY in dims else None,
        hour=_as_utc(keys["k_hour"]).astimezone(tz) if Dimension.HOUR in dims else None,
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
    if Dimension.CONTACT_METHOD not in dims:
        yield row
        return
    # Displays carry no contact method: a contact-method row keeps its group's displays
    # (its CTR is "clicks by this method per display") and has no session figures.
    for method in CONTACT_METHODS:
        yield replace(
            row,
            contact_method=method,
            metrics=Metrics(
                displays=displays,
                clicks=metrics.clicks_by_method[method],
                clicks_by_method={
                    m: metrics.clicks_by_method[m] if m == method else 0 for m in CONTACT_METHODS
                },
                sessions_reached=None,
                sessions_converted=None,
            ),
        )


def _as_date(value: date | str) -> date:
    # SQLite hands raw SQL results back as text.
    if isinstance(value, str):
        parsed = parse_date(value)
        assert parsed is not None, value
        return parsed
    return value


def _as_utc(value: datetime | str) -> datetime:
    # The hour was truncated in UTC; raw results are naive (PostgreSQL) or text (SQLite).
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None, value
        value = parsed
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class KeyUsage:
    name: str
    prefix: str
    is_test: bool
    revoked: bool
    created: datetime
    expiry_date: datetime | None
    last_used: datetime | None  # when the server last stored an event sent with it
    events: int


def key_usage(partner_id: int) -> list[KeyUsage]:
    """A partner's keys with their last use, newest key first, in one query."""
    keys = (
        PartnerAPIKey.objects.filter(partner_id=partner_id)
        .annotate(last_used=Max("events__received_at"), n_events=Count("events"))
        .order_by("-created")
    )
    return [
        KeyUsage(
            name=key.name,
            prefix=key.prefix,
            is_test=key.is_test,
            revoked=key.revoked,
            created=key.created,
            expiry_date=key.expiry_date,
            last_used=key.last_used,
            events=key.n_events,
        )
        for key in keys
    ]


def last_event_received(partner_id: int) -> datetime | None:
    """When the server last stored an event from the partner, test keys included."""
    return Event.objects.filter(partner_id=partner_id).aggregate(last=Max("received_at"))["last"]
