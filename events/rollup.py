"""Maintenance of the aggregates that every figure is read from (`events.metrics`).

The invariant: the aggregate tables hold exactly the events covered by `RollupState.mark`.

- On PostgreSQL the mark is a snapshot (`pg_current_snapshot()`, "xmin:xmax:in-progress
  ids"), and an event is covered when the transaction that stored it (`Event.txid`) is
  visible in that snapshot, i.e. had committed when the snapshot was taken. Ids are handed
  out when an insert starts but become visible when it commits, in another order, so a
  plain "id below N" would skip an insert still in flight; a snapshot names exactly the
  ones in flight, and they are read by the next run. A long transaction elsewhere in the
  cluster delays nothing: only its own events wait for its commit.
- On SQLite, with one writer at a time, the mark is the first row id not covered: holding
  the write lock, every row below MAX(id) + 1 is committed.
- `roll_up()` (what the scheduler runs) adds the events covered by a new mark and not by
  the stored one, and stores the new mark, in one transaction: a run that dies half-way
  leaves nothing behind, and two runs never overlap (the state row is locked).
- Counts (displays, clicks per method) are added per UTC quarter-hour and per day window.
- Sessions are distinct counts, which cannot be added blindly: for each session that has
  new events, its events of the same day windows are read back through the identity index
  (partner, session_id, ...), and what the new events change is added: a session becomes
  reached on a day when its first display of that day arrives, converted when it first
  has a display and a click of the same helpline that day, whichever came first.
- Paired priority services (`PairedDisplayDay`): for each session with new displays of a
  paired helpline, its paired displays around them are read back the same way, and each
  UTC day they touch is decided twice, without and with the new events; the difference is
  added (a display of one service can stop being "alone" when its pair's display arrives).
- `rebuild()` recomputes a range from the raw events (after a restore or a bulk import).

See docs/aggregates.md for the design and its exactness argument.
"""

import re
import time as clock
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from api.utc import as_utc
from events.days import (
    UTC_ZONE,
    Window,
    day_bounds,
    days_between,
    wanted_zones,
    windows_overlapping,
)
from events.models import (
    COUNT_COLUMNS,
    ContactMethod,
    DayCount,
    DaySessionCount,
    Event,
    EventType,
    HourClicks,
    KeyDay,
    PairedDisplayDay,
    QuarterHourCount,
    RollupState,
    SessionZone,
)
from helplines.models import Helpline

# PostgreSQL's memory for each sort and hash of a rollup run (SET LOCAL: this run only).
ROLLUP_WORK_MEM = "256MB"
# Rebuilds and zone backfills go a month at a time: bounded statements and parameters.
REBUILD_CHUNK_DAYS = 31
# The earliest instant a backfill reaches when nothing was ever purged.
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class RollupReport:
    events: int = 0
    windows: int = 0
    zones_added: list[str] = field(default_factory=list)
    months_closed: int = 0
    seconds: float = 0.0


class RollupBusy(Exception):
    """Another run holds the rollup's lock."""


def roll_up(*, now: datetime | None = None, wait: bool = False) -> RollupReport:
    """Bring the aggregates up to date with every committed event; close billing months.

    Raises RollupBusy when another run is in progress (it will have done the work), or
    with `wait`, waits for it to end.
    """
    from events.statements import close_due_months  # statements read metrics, which read us

    started = clock.monotonic()
    report = RollupReport()
    with transaction.atomic():
        state = _lock_state(wait=wait)
        report.zones_added = _cover_new_zones(state)
        high = _current_mark()
        if high != state.mark:
            report.events, report.windows = _add_events(state.mark, high)
            state.mark = high
        state.last_run_at = now or timezone.now()
        state.save(update_fields=["mark", "last_run_at"])
        report.months_closed = close_due_months(now=state.last_run_at)
    report.seconds = clock.monotonic() - started
    return report


def rebuild(first_day: date, last_day: date) -> RollupReport:
    """Recompute the aggregates of the UTC days first_day..last_day from the raw events.

    Idempotent. The days' windows in every zone are recomputed whole, so the raw events
    up to 14 hours either side are read too. Brings the aggregates up to date first.
    """
    started = clock.monotonic()
    report = RollupReport()
    with transaction.atomic():
        state = _lock_state(wait=True)
        _cover_new_zones(state)
        # Nothing rolled up yet (a bulk load into a new database): the catch-up below
        # computes every aggregate from the raw events, and recomputing them would only
        # do the same work twice.
        from_scratch = not state.mark
        high = _current_mark()
        if high != state.mark:
            _add_events(state.mark, high)
            state.mark = high
            state.save(update_fields=["mark"])
        zones = _covered_zones()
        for chunk_first in list(days_between(first_day, last_day))[::REBUILD_CHUNK_DAYS]:
            chunk_last = min(chunk_first + timedelta(days=REBUILD_CHUNK_DAYS - 1), last_day)
            start, end = day_bounds(chunk_first, chunk_last, UTC_ZONE)
            events, windows = _rebuild_span(
                start, end, zones, state.mark, recompute=not from_scratch
            )
            report.events += events
            report.windows += windows
    report.seconds = clock.monotonic() - started
    return report


def prepare_purge(cutoff: datetime) -> str:
    """Before raw events older than `cutoff` are deleted: bring the aggregates up to date
    and record the purge. Returns the mark whose events may be deleted (no other may)."""
    roll_up(wait=True)
    with transaction.atomic():
        state = _lock_state(wait=True)
        if state.purged_before is None or state.purged_before < cutoff:
            state.purged_before = cutoff
            state.save(update_fields=["purged_before"])
        return state.mark


def refuse_purged(first_day: date) -> datetime | None:
    """When raw events before `first_day` (UTC, with a day's margin for other zones) were
    purged: the instant, so that a rebuild can refuse to wipe figures it cannot recompute."""
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.purged_before is None:
        return None
    start, _ = day_bounds(first_day, first_day, UTC_ZONE)
    return state.purged_before if start - timedelta(days=1) < state.purged_before else None


# ---------------------------------------------------------------------------- the state


def _lock_state(*, wait: bool = False) -> RollupState:
    RollupState.objects.get_or_create(pk=1)
    if connection.vendor == "postgresql":
        state = RollupState.objects.select_for_update(skip_locked=not wait).first()
        if state is None:
            raise RollupBusy("Another rollup run is in progress.")
        # The run's sorts (a work table row per event and day window) fit in memory instead
        # of spilling to disk: 2.5 times faster on a day of 110,000 events (bench/README.md).
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{ROLLUP_WORK_MEM}'")
        return state
    # SQLite: a write first takes the database's one write lock for the whole transaction,
    # so a second run waits here and then sees the first one's position.
    RollupState.objects.filter(pk=1).update(mark=RollupState.objects.get(pk=1).mark)
    return RollupState.objects.get(pk=1)


# ---------------------------------------------------------------------------- the mark

_SNAPSHOT = re.compile(r"^(\d+):(\d+):[\d,]*$")


def _current_mark() -> str:
    """A mark covering every event committed now."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_current_snapshot()::text")
        else:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {_table(Event)}")
        (mark,) = cursor.fetchone()
    return str(mark)


def covered(alias: str, mark: str) -> str:
    """SQL: the event row `alias` is covered by `mark` ("" covers nothing).

    The mark is inlined as a literal, checked to be a snapshot or a number first; the
    range on `txid` lets the `event_txid` index find the rows before the visibility test.
    """
    if not mark:
        return "1 = 0"
    if connection.vendor != "postgresql":
        return f"{alias}.id < {int(mark):d}"
    xmin, xmax = _snapshot_bounds(mark)
    return (
        f"({alias}.txid < {xmax:d} AND ({alias}.txid < {xmin:d} OR "
        f"pg_visible_in_snapshot({alias}.txid::text::xid8, '{mark}'::pg_snapshot)))"
    )


def _snapshot_bounds(mark: str) -> tuple[int, int]:
    """The xmin and xmax of a snapshot's text (pg_current_snapshot()); ValueError when
    `mark` is not one, so nothing but digits reaches the SQL."""
    match = _SNAPSHOT.match(mark)
    if match is None:
        raise ValueError(f"Not a snapshot: {mark!r}")
    return int(match[1]), int(match[2])


def newly_covered(alias: str, low: str, high: str) -> str:
    """SQL: the event row `alias` is covered by `high` and not by `low`."""
    if not low:
        return covered(alias, high)
    # Every row below the old mark's lower bound was covered by it: said apart, a range
    # the index can use (on `id`, or `txid` from the old snapshot's xmin).
    if connection.vendor != "postgresql":
        lower = f"{alias}.id >= {int(low):d}"
    else:
        lower = f"{alias}.txid >= {_snapshot_bounds(low)[0]:d}"
    return f"({lower} AND {covered(alias, high)} AND NOT {covered(alias, low)})"


def _covered_zones() -> list[str]:
    return list(SessionZone.objects.order_by("name").values_list("name", flat=True))


def _cover_new_zones(state: RollupState) -> list[str]:
    """Start keeping session figures for zones wanted but not yet kept, from the raw events
    still stored (the days before a purge have none in that zone)."""
    new = sorted(wanted_zones() - set(_covered_zones()))
    if not new:
        return []
    covered_from = state.purged_before or BEGINNING
    oldest, newest, _ = _span_of(covered("e", state.mark))
    for name in new:
        # Only the new zone's own windows are computed; a window it shares with a zone
        # already kept is recomputed to the same figures (the rebuild is idempotent).
        if oldest is not None and newest is not None:
            start = max(oldest, covered_from) - timedelta(days=1)
            step = timedelta(days=REBUILD_CHUNK_DAYS)
            while start <= newest:
                windows = {
                    window
                    for window in windows_overlapping([name], start, start + step)
                    if window[0] >= covered_from
                }
                _recompute_windows(windows, state.mark)
                start += step
        SessionZone.objects.create(name=name, covered_from=covered_from)
    return new


# ---------------------------------------------------------------------------- SQL


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _timestamp_param() -> str:
    return "%s::timestamptz" if connection.vendor == "postgresql" else "%s"


def _adapt(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _quarter_expression() -> str:
    if connection.vendor == "postgresql":
        return "date_bin('15 minutes', e.\"timestamp\", TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    # Django stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text in UTC.
    return (
        "strftime('%%Y-%%m-%%d %%H:', e.\"timestamp\") || printf('%%02d:00', "
        "(CAST(strftime('%%M', e.\"timestamp\") AS INTEGER) / 15) * 15)"
    )


def _hour_expression() -> str:
    if connection.vendor == "postgresql":
        return "date_bin('1 hour', e.\"timestamp\", TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    return "strftime('%%Y-%%m-%%d %%H:00:00', e.\"timestamp\")"


def _utc_date_expression() -> str:
    if connection.vendor == "postgresql":
        return "(e.\"timestamp\" AT TIME ZONE 'UTC')::date"
    return 'date(e."timestamp")'


def _execute(sql: str, params: Sequence[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _add_to(model: Any, keys: Sequence[str], values: Sequence[str], select: str) -> str:
    """INSERT INTO model (keys + values) <select> ON CONFLICT (keys) DO UPDATE add values."""
    table = _table(model)
    columns = ", ".join([*keys, *values])
    additions = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in values)
    return (
        f"INSERT INTO {table} ({columns}) {select} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {additions}"
    )


def _counts_of_new(where: str) -> str:
    """Per-event count columns (displays, clicks per method) of the events where `where`."""
    displays = f"SUM(CASE WHEN e.type = '{EventType.DISPLAY}' AND {where} THEN 1 ELSE 0 END)"
    clicks = [
        f"SUM(CASE WHEN e.contact_method = '{method}' AND {where} THEN 1 ELSE 0 END)"
        for method in ContactMethod.values
    ]
    return ", ".join([displays, *clicks])


def _add_quarters(where: str, params: Sequence[Any]) -> None:
    """Add the events `where` (a condition on `e`) to QuarterHourCount."""
    quarter = _quarter_expression()
    select = (
        f"SELECT e.partner_id, e.is_test, e.helpline_id, {quarter}, {_counts_of_new('1 = 1')} "
        f"FROM {_table(Event)} e WHERE {where} "
        f"GROUP BY e.partner_id, e.is_test, e.helpline_id, {quarter}"
    )
    keys = ["partner_id", "is_test", "helpline_id", "quarter"]
    _execute(_add_to(QuarterHourCount, keys, COUNT_COLUMNS, select), params)


def _add_hour_clicks(where: str, params: Sequence[Any]) -> None:
    """Add the live clicks of the events `where` (a condition on `e`) to HourClicks."""
    hour = _hour_expression()
    select = (
        f"SELECT e.helpline_id, {hour}, COUNT(*) FROM {_table(Event)} e "
        f"WHERE ({where}) AND NOT e.is_test AND e.type = '{EventType.CLICK}' "
        f"GROUP BY e.helpline_id, {hour}"
    )
    _execute(_add_to(HourClicks, ["helpline_id", "hour"], ["clicks"], select), params)


def _add_key_days(where: str, params: Sequence[Any]) -> None:
    """Add the events `where` (a condition on `e`) to KeyDay."""
    day = _utc_date_expression()
    table = _table(KeyDay)
    latest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    _execute(
        f"INSERT INTO {table} (partner_id, api_key_prefix, day, events, last_received_at) "
        f"SELECT e.partner_id, e.api_key_prefix, {day}, COUNT(*), MAX(e.received_at) "
        f"FROM {_table(Event)} e WHERE {where} "
        f"GROUP BY e.partner_id, e.api_key_prefix, {day} "
        f"ON CONFLICT (partner_id, api_key_prefix, day) DO UPDATE SET "
        f"events = {table}.events + excluded.events, "
        f"last_received_at = {latest}({table}.last_received_at, excluded.last_received_at)",
        params,
    )


def _add_windows(
    windows: Iterable[Window], source: str, source_params: Sequence[Any], new: str
) -> int:
    """Add day-window counts and session changes of the events `source` selects.

    `source` is a FROM ... WHERE fragment over events aliased `e0`; `new` a condition on
    `e0` telling the events being added from those already in the aggregates (which are
    read only to know whether a session was already reached or converted that day).
    A day of windows at a time (`_window_days`): each event is compared with the few
    windows around it, not with every window of a month, and the work table holds about
    one day of events whatever the range.
    """
    windows = sorted(windows)
    for day in _window_days(windows):
        _add_window_day(day, source, source_params, new)
    return len(windows)


def _add_window_day(day: list[Window], source: str, source_params: Sequence[Any], new: str) -> None:
    stamp = _timestamp_param()
    display, click = EventType.DISPLAY, EventType.CLICK
    per_method = ", ".join(
        f"SUM(CASE WHEN e.contact_method = '{method}' THEN e.is_new ELSE 0 END) AS clicks_{method}"
        for method in ContactMethod.values
    )
    _execute("DROP TABLE IF EXISTS rollup_per", [])
    # One row per (window, partner, traffic, session, helpline): whether it has a display
    # and a click (d, c) in all and in the already counted events (d0, c0), and its new
    # events' counts.
    values = ", ".join(f"({stamp}, {stamp})" for _ in day)
    select = (
        f"SELECT win.column1 AS ws, win.column2 AS we, e.partner_id AS partner_id, "
        f"e.is_test AS is_test, e.helpline_id AS helpline_id, h.country_code AS country, "
        f"e.session_id AS session_id, "
        f"MAX(CASE WHEN e.type = '{display}' THEN 1 ELSE 0 END) AS d, "
        f"MAX(CASE WHEN e.type = '{click}' THEN 1 ELSE 0 END) AS c, "
        f"MAX(CASE WHEN e.type = '{display}' AND e.is_new = 0 THEN 1 ELSE 0 END) AS d0, "
        f"MAX(CASE WHEN e.type = '{click}' AND e.is_new = 0 THEN 1 ELSE 0 END) AS c0, "
        f"SUM(CASE WHEN e.type = '{display}' THEN e.is_new ELSE 0 END) AS displays, "
        f"{per_method} "
        f"FROM (SELECT e0.partner_id, e0.is_test, e0.helpline_id, e0.session_id, e0.type, "
        f'e0.contact_method, e0."timestamp", CASE WHEN {new} THEN 1 ELSE 0 END AS is_new '
        f"{source}) e "
        f"JOIN (VALUES {values}) win "
        f'ON e."timestamp" >= win.column1 AND e."timestamp" < win.column2 '
        f"JOIN {_table(Helpline)} h ON h.id = e.helpline_id "
        f'WHERE e."timestamp" >= {stamp} AND e."timestamp" < {stamp} '
        f"GROUP BY win.column1, win.column2, e.partner_id, e.is_test, e.helpline_id, "
        f"h.country_code, e.session_id"
    )
    params = [  # in the order of their placeholders in `select`
        *source_params,
        *(_adapt(moment) for window in day for moment in window),
        _adapt(day[0][0]),
        _adapt(max(window[1] for window in day)),
    ]
    _execute("CREATE TEMP TABLE rollup_per AS " + select, params)
    sums = ", ".join(f"SUM({column})" for column in COUNT_COLUMNS)
    changed = " + ".join(f"SUM({column})" for column in COUNT_COLUMNS)
    _execute(
        _add_to(
            DayCount,
            ["partner_id", "is_test", "helpline_id", "day_start", "day_end"],
            [*COUNT_COLUMNS, "sessions_reached", "sessions_converted"],
            f"SELECT partner_id, is_test, helpline_id, ws, we, {sums}, SUM(d - d0), "
            f"SUM(d * c - d0 * c0) FROM rollup_per WHERE 1 = 1 "
            f"GROUP BY partner_id, is_test, helpline_id, ws, we "
            f"HAVING {changed} + SUM(d - d0) + SUM(d * c - d0 * c0) > 0",
        ),
        [],
    )
    # A session is reached (converted) on a day, over all helplines or over one country's,
    # when one of its helplines there is; it changes when none was before.
    for country in ("''", "country"):
        group = "partner_id, is_test, ws, we" + (", country" if country == "country" else "")
        _execute(
            _add_to(
                DaySessionCount,
                ["partner_id", "is_test", "day_start", "day_end", "country"],
                ["sessions_reached", "sessions_converted"],
                f"SELECT partner_id, is_test, ws, we, {country}, SUM(r - r0), SUM(k - k0) "
                f"FROM (SELECT {group}, session_id, MAX(d) AS r, MAX(d0) AS r0, "
                f"MAX(d * c) AS k, MAX(d0 * c0) AS k0 FROM rollup_per "
                f"GROUP BY {group}, session_id) per_session WHERE 1 = 1 "
                f"GROUP BY {group} HAVING SUM(r - r0) + SUM(k - k0) > 0",
            ),
            [],
        )
    _execute("DROP TABLE rollup_per", [])


def _span_of(
    where: str, params: Sequence[Any] = ()
) -> tuple[datetime | None, datetime | None, int]:
    """The oldest and newest timestamps, and the number, of the events `e` where `where`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT MIN(e."timestamp"), MAX(e."timestamp"), COUNT(*) FROM {_table(Event)} e '
            f"WHERE {where}",
            params,
        )
        first, last, count = cursor.fetchone()
    return (as_utc(first) if first else None), (as_utc(last) if last else None), int(count)


def _window_days(windows: list[Window]) -> Iterator[list[Window]]:
    """`windows` (sorted) in groups whose starts lie within one day of each other."""
    group: list[Window] = []
    for window in windows:
        if group and window[0] >= group[0][0] + timedelta(days=1):
            yield group
            group = []
        group.append(window)
    if group:
        yield group


def _add_events(low: str, high: str) -> tuple[int, int]:
    """Add the events covered by `high` and not by `low`; returns (events, day windows)."""
    where = newly_covered("e", low, high)
    first, last, count = _span_of(where)
    if first is None or last is None:
        return 0, 0
    _add_quarters(where, [])
    _add_hour_clicks(where, [])
    _add_key_days(where, [])
    _add_paired_displays(low, high)
    windows = windows_overlapping(_covered_zones(), first, last + timedelta(microseconds=1))
    if not low:
        # The first run: the day tables are empty and every event is new, so there is no
        # session to look back at; the windows are computed straight from the events.
        _recompute_windows(windows, high, deleted=True)
        return count, len(windows)
    start, end = min(w[0] for w in windows), max(w[1] for w in windows)
    stamp = _timestamp_param()
    # Every event of the sessions that have new events, in the windows those touch: found
    # through the identity index, whose first columns are (partner, session_id).
    source = (
        f"FROM (SELECT DISTINCT e.partner_id, e.is_test, e.session_id FROM {_table(Event)} e "
        f"WHERE {where}) a "
        f"JOIN {_table(Event)} e0 ON e0.partner_id = a.partner_id "
        f"AND e0.session_id = a.session_id AND e0.is_test = a.is_test "
        f'WHERE {covered("e0", high)} AND e0."timestamp" >= {stamp} AND e0."timestamp" < {stamp}'
    )
    touched = _add_windows(
        windows, source, [_adapt(start), _adapt(end)], newly_covered("e0", low, high)
    )
    return count, touched


def _recompute_windows(windows: set[Window], mark: str, *, deleted: bool = False) -> None:
    """Recompute `windows` from the raw events covered by `mark` (`deleted`: their rows are
    already gone)."""
    if not windows:
        return
    if not deleted:
        # Windows of one zone: their starts and ends pair up one way only (a start with a
        # later day's end would span two days), so IN x IN names exactly these windows.
        starts, ends = {w[0] for w in windows}, {w[1] for w in windows}
        DayCount.objects.filter(day_start__in=starts, day_end__in=ends).delete()
        DaySessionCount.objects.filter(day_start__in=starts, day_end__in=ends).delete()
    start, end = min(w[0] for w in windows), max(w[1] for w in windows)
    stamp = _timestamp_param()
    source = (
        f"FROM {_table(Event)} e0 WHERE {covered('e0', mark)} "
        f'AND e0."timestamp" >= {stamp} AND e0."timestamp" < {stamp}'
    )
    _add_windows(windows, source, [_adapt(start), _adapt(end)], "1 = 1")


def _rebuild_span(
    start: datetime, end: datetime, zones: Sequence[str], mark: str, *, recompute: bool
) -> tuple[int, int]:
    """Recompute [start, end) (UTC midnights): its quarters and key days, and every day
    window of `zones` that overlaps it (or, without `recompute`, only count them)."""
    windows = windows_overlapping(zones, start, end)
    stamp = _timestamp_param()
    where = f'{covered("e", mark)} AND e."timestamp" >= {stamp} AND e."timestamp" < {stamp}'
    params = [_adapt(start), _adapt(end)]
    if not recompute:
        return _span_of(where, params)[2], len(windows)
    wide_start = min([start, *(w[0] for w in windows)])
    wide_end = max([end, *(w[1] for w in windows)])
    # The windows contained in the widened span are exactly those overlapping [start, end):
    # a window lasts at least 22 hours and the margins are at most 14.
    DayCount.objects.filter(day_start__gte=wide_start, day_end__lte=wide_end).delete()
    DaySessionCount.objects.filter(day_start__gte=wide_start, day_end__lte=wide_end).delete()
    QuarterHourCount.objects.filter(quarter__gte=start, quarter__lt=end).delete()
    HourClicks.objects.filter(hour__gte=start, hour__lt=end).delete()
    KeyDay.objects.filter(day__gte=start.date(), day__lt=end.date()).delete()
    _add_quarters(where, params)
    _add_hour_clicks(where, params)
    _add_key_days(where, params)
    _rebuild_paired_displays(start, end, mark)
    _recompute_windows(windows, mark, deleted=True)
    return _span_of(where, params)[2], len(windows)


# ---------------------------------------------------------------------------- paired services

# A paired display read back: (helpline, timestamp, whether it is being added now).
_PairedDisplay = tuple[int, datetime, bool]
_DayKey = tuple[int, bool, date]  # partner, is_test, UTC day


def _pairs() -> dict[int, int]:
    """Helpline -> the helpline it is paired with, both ways (the pairs as they are now)."""
    return dict(
        Helpline.objects.filter(paired_with__isnull=False).values_list("pk", "paired_with_id")
    )


def _paired_window() -> timedelta:
    return timedelta(minutes=settings.PAIRED_DISPLAY_WINDOW_MINUTES)


def _add_paired_displays(low: str, high: str) -> None:
    """Add to PairedDisplayDay what the events covered by `high` and not by `low` change."""
    pairs = _pairs()
    if not pairs:
        return
    paired = ", ".join(str(int(pk)) for pk in pairs)
    new = (
        f"{newly_covered('e', low, high)} AND e.type = '{EventType.DISPLAY}' "
        f"AND e.helpline_id IN ({paired})"
    )
    first, last, _ = _span_of(new)
    if first is None or last is None:
        return
    window = _paired_window()
    # Whole UTC days around the new displays, and the window either side of them: every
    # display whose day or whose "alone" the new ones can change, and what decides it.
    first_day, last_day = (first - window).astimezone(UTC), (last + window).astimezone(UTC)
    start = datetime.combine(first_day.date(), datetime.min.time(), tzinfo=UTC) - window
    end = datetime.combine(last_day.date(), datetime.min.time(), tzinfo=UTC)
    end += timedelta(days=1) + window
    stamp = _timestamp_param()
    source = (
        f"FROM (SELECT DISTINCT e.partner_id, e.is_test, e.session_id FROM {_table(Event)} e "
        f"WHERE {new}) a "
        f"JOIN {_table(Event)} e0 ON e0.partner_id = a.partner_id "
        f"AND e0.session_id = a.session_id AND e0.is_test = a.is_test "
        f"WHERE {covered('e0', high)} AND e0.type = '{EventType.DISPLAY}' "
        f"AND e0.helpline_id IN ({paired}) "
        f'AND e0."timestamp" >= {stamp} AND e0."timestamp" < {stamp}'
    )
    is_new = f"CASE WHEN {newly_covered('e0', low, high)} THEN 1 ELSE 0 END"
    deltas = _paired_deltas(
        _paired_sessions(source, [_adapt(start), _adapt(end)], is_new), pairs, window
    )
    _store_paired_deltas(deltas)


def _rebuild_paired_displays(start: datetime, end: datetime, mark: str) -> None:
    """Recompute the UTC days of [start, end) (midnights) from the events covered by `mark`."""
    PairedDisplayDay.objects.filter(day__gte=start.date(), day__lt=end.date()).delete()
    pairs = _pairs()
    if not pairs:
        return
    window = _paired_window()
    stamp = _timestamp_param()
    paired = ", ".join(str(int(pk)) for pk in pairs)
    source = (
        f"FROM {_table(Event)} e0 WHERE {covered('e0', mark)} "
        f"AND e0.type = '{EventType.DISPLAY}' AND e0.helpline_id IN ({paired}) "
        f'AND e0."timestamp" >= {stamp} AND e0."timestamp" < {stamp}'
    )
    sessions = _paired_sessions(source, [_adapt(start - window), _adapt(end + window)], "1")
    deltas = _paired_deltas(sessions, pairs, window)
    _store_paired_deltas(
        {key: delta for key, delta in deltas.items() if start.date() <= key[2] < end.date()}
    )


def _paired_sessions(
    source: str, params: Sequence[Any], is_new: str
) -> Iterator[tuple[tuple[int, bool], list[_PairedDisplay]]]:
    """((partner, is_test), its displays) per session of `source` (over events `e0`), in
    timestamp order, streamed: one session's displays in memory at a time."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT e0.partner_id, e0.is_test, e0.session_id, e0.helpline_id, e0."timestamp", '
            f"{is_new} {source} "
            f'ORDER BY e0.partner_id, e0.is_test, e0.session_id, e0."timestamp"',
            params,
        )
        current: tuple[int, bool, str] | None = None
        displays: list[_PairedDisplay] = []
        for partner_id, is_test, session_id, helpline_id, moment, added in cursor:
            key = (int(partner_id), bool(is_test), str(session_id))
            if key != current:
                if current is not None:
                    yield (current[0], current[1]), displays
                current, displays = key, []
            displays.append((int(helpline_id), as_utc(moment), bool(added)))
        if current is not None:
            yield (current[0], current[1]), displays


def _session_days(
    displays: Sequence[_PairedDisplay], pairs: dict[int, int], window: timedelta
) -> dict[date, tuple[int, int]]:
    """Per UTC day of `displays`: (1, alone) where alone is 1 when one of that day's
    displays has no display of its pair within `window` either side (the session's pair
    displays of neighbouring days count: a pair shown at 23:58 and 00:03 is shown together).
    """
    days: dict[date, tuple[int, int]] = {}
    for helpline_id, moment, _ in displays:
        partner_line = pairs.get(helpline_id)
        together = any(
            other == partner_line and abs(when - moment) <= window for other, when, _ in displays
        )
        day = moment.date()
        days[day] = (1, max(days.get(day, (0, 0))[1], 0 if together else 1))
    return days


def _paired_deltas(
    sessions: Iterable[tuple[tuple[int, bool], list[_PairedDisplay]]],
    pairs: dict[int, int],
    window: timedelta,
) -> dict[_DayKey, tuple[int, int]]:
    """What each partner, traffic and day gains (or loses) in sessions paired and alone,
    comparing each session's days without and with its new displays."""
    deltas: dict[_DayKey, tuple[int, int]] = {}
    for (partner_id, is_test), displays in sessions:
        before = _session_days([d for d in displays if not d[2]], pairs, window)
        after = _session_days(displays, pairs, window)
        for day in before.keys() | after.keys():
            old, now = before.get(day, (0, 0)), after.get(day, (0, 0))
            if old != now:
                key = (partner_id, is_test, day)
                paired, alone = deltas.get(key, (0, 0))
                deltas[key] = (paired + now[0] - old[0], alone + now[1] - old[1])
    return deltas


def _store_paired_deltas(deltas: dict[_DayKey, tuple[int, int]]) -> None:
    """Add `deltas` to PairedDisplayDay. A day can lose an "alone" session, so rows are
    updated in place (a negative count never exists, not even in a proposed insert)."""
    for (partner_id, is_test, day), (paired, alone) in sorted(deltas.items()):
        if (paired, alone) == (0, 0):
            continue
        updated = PairedDisplayDay.objects.filter(
            partner_id=partner_id, is_test=is_test, day=day
        ).update(
            sessions_paired=F("sessions_paired") + paired,
            sessions_alone=F("sessions_alone") + alone,
        )
        if not updated:
            PairedDisplayDay.objects.create(
                partner_id=partner_id,
                is_test=is_test,
                day=day,
                sessions_paired=paired,
                sessions_alone=alone,
            )
