"""The query benchmark, in one command: `.venv/bin/python bench/queries.py` (see bench/README.md).

Every dashboard figure, CSV export and partner stats answer comes from `events.metrics`: a
two-level aggregate over the raw events table (inner: per day x partner x session x
helpline counts; outer: sums and COUNT DISTINCT sessions). This measures those queries,
and the dashboard page functions built on them, against ceilings run on the same rows in
the same run:

  (a) `count(*)` over the time range: one index range scan, nothing grouped;
  (b) one-level `GROUP BY` day with a `FILTER` count per event type: a query without sessions;
  (c) the same with `COUNT(DISTINCT session)`: what sessions cost in one level.

On PostgreSQL (DATABASE_URL, default the `throughline_qbench` database on 127.0.0.1) it
creates, migrates and empties the database, makes partners, keys and helplines through the
product's own code, loads N events with binary COPY straight into the events table, then
VACUUM ANALYZE. Each query runs once to warm up, then in rounds (every query once per
round) so that a burst of outside load slows a query and its ceilings alike; the figure is
the median. The product's totals are checked against plain SQL counts. The figures are
appended to bench/RESULTS.md; the exit status is 1 if any check failed.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import itertools
import os
import random
import secrets
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.run import (  # noqa: E402  (the path above makes `bench` importable as a script)
    COPY_COLUMNS,
    EVENTS_TABLE,
    RESULTS,
    _relative,
    append_results,
    ensure_database,
    load_average,
    machine,
    postgres_version,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/throughline_qbench"
DEFAULT_EVENTS = 2_000_000
DAYS_OF_DATA = 90
PERIOD_DAYS = 30
LOAD_DAYS = 7

# Partners and their share of traffic; the first (the largest) is the "one partner" scope.
PARTNERS = (
    ("Bench Search", 0.50),
    ("Bench Social", 0.25),
    ("Bench Forum", 0.15),
    ("Bench Clinic", 0.10),
)
TEST_SESSION_SHARE = 0.03
# Country, helplines in it, its share of sessions, a time zone for its helplines.
COUNTRIES = (
    ("GB", 8, 0.25, "Europe/London"),
    ("US", 10, 0.30, "America/New_York"),
    ("DE", 5, 0.10, "Europe/Berlin"),
    ("FR", 4, 0.08, "Europe/Paris"),
    ("AU", 4, 0.08, "Australia/Sydney"),
    ("CA", 4, 0.09, "America/Toronto"),
    ("IE", 2, 0.04, "Europe/Dublin"),
    ("NZ", 3, 0.06, "Pacific/Auckland"),
)
PRIORITY_PER_COUNTRY = 1
# A display is followed by a click on the same helpline this often: with 2 displays per
# session on average, about 10% of events are clicks.
CLICK_PER_DISPLAY = 0.11
CONTACT_METHOD_WEIGHTS = {
    "phone": 45,
    "sms": 12,
    "online_chat": 15,
    "website": 18,
    "whatsapp": 6,
    "tty": 1,
    "reporting_form": 3,
}
# Traffic by UTC hour of day (night low, evening high), so hours differ as they would.
HOURLY_WEIGHTS = (3, 2, 2, 1, 1, 2, 3, 5, 6, 7, 7, 7, 8, 8, 7, 7, 8, 9, 10, 10, 9, 8, 6, 4)

# /work/shared/FINDINGS.md ("Speed"), on a 10M-row raw table with prototypes of the queries.
FINDINGS_RAW = (
    "10M-row raw table: per-helpline per-day counts, one partner, 30 days 1.2 s (2.3 s with "
    "COUNT DISTINCT session); all partners 4 s; from a daily rollup 9-28 ms"
)
FINDINGS_EVENTS = 10_000_000


class BenchError(RuntimeError):
    """The run cannot go on."""


# --- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """What the product's own code created: partners, their keys, the helplines."""

    partners: list[tuple[int, str, str]]  # (pk, live key prefix, test key prefix)
    helplines: dict[str, list[int]]  # country -> helpline pks
    priority: list[int]


def prepare_product_data() -> Cast:
    """Migrate, empty every table, then partners with a live and a test key, and helplines."""
    from django.core.management import call_command

    from helplines.models import Helpline
    from helplines.services import create_partner, issue_key

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    partners = []
    for name, _ in PARTNERS:
        partner, _raw = create_partner(name=name)
        live = partner.api_keys.get()
        test, _raw = issue_key(partner=partner, name="staging", is_test=True)
        partners.append((partner.pk, live.prefix, test.prefix))
    helplines: dict[str, list[int]] = {}
    priority = []
    for country, count, _, tz in COUNTRIES:
        for number in range(1, count + 1):
            is_priority = number <= PRIORITY_PER_COUNTRY
            helpline = Helpline(
                public_id=f"bench-{country.lower()}-{number}",
                name=f"{country} Line {number}",
                country_code=country,
                timezone=tz,
                phone_number="116 123",
                website="https://example.org/",
                is_priority=is_priority,
                hourly_capacity=40 if is_priority else None,
            )
            helpline.full_clean()
            helpline.save()
            helplines.setdefault(country, []).append(helpline.pk)
            if is_priority:
                priority.append(helpline.pk)
    return Cast(partners=partners, helplines=helplines, priority=priority)


def _picker(rng: random.Random, items: list[Any], weights: list[float]) -> Callable[[], Any]:
    """A weighted choice; cumulative weights computed once (random.choices redoes it per call)."""
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    return lambda: items[bisect.bisect(cumulative, rng.random() * total)]


def generate_events(cast: Cast, n: int, now: datetime, seed: int) -> Iterator[tuple[Any, ...]]:
    """N events in COPY_COLUMNS order: sessions of 1-3 displays, ~10% clicks, 90 days.

    A session belongs to one partner and one key, sees 1-3 distinct helplines of one
    country within a minute, and clicks a helpline it was shown, a little later. Times
    are drawn as whole microseconds, one datetime per event: the generator, not COPY, is
    what bounds the load's speed.
    """
    rng = random.Random(seed)
    rand = rng.random
    partner = _picker(rng, cast.partners, [share for _, share in PARTNERS])
    country = _picker(rng, [c for c, *_ in COUNTRIES], [share for _, _, share, _ in COUNTRIES])
    method = _picker(rng, list(CONTACT_METHOD_WEIGHTS), list(CONTACT_METHOD_WEIGHTS.values()))
    hour = _picker(rng, list(range(24)), list(HOURLY_WEIGHTS))
    first_day = (now - timedelta(days=DAYS_OF_DATA)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    latest = int((now - timedelta(minutes=5) - first_day) / timedelta(microseconds=1))
    second, day = 10**6, 86_400 * 10**6
    written = 0
    session = 0
    while written < n:
        session += 1
        pk, live, test = partner()
        is_test = rand() < TEST_SESSION_SHARE
        prefix = test if is_test else live
        # A bijection on 64-bit integers: distinct, random-looking session ids.
        session_id = format((session * 0x9E3779B97F4A7C15) % (1 << 64), "016x")
        lines = cast.helplines[country()]
        shown = rng.sample(lines, min(1 + int(rand() * 3), len(lines)))
        start = latest + 1
        while start > latest:  # uniform over the days, by hour of day; none in the future
            start = (
                int(rand() * (DAYS_OF_DATA + 1)) * day
                + hour() * 3600 * second
                + int(rand() * 3600 * second)
            )
        for offset, helpline in enumerate(shown):
            shown_at = start + offset * int(rand() * 20 * second)
            shown_time = first_day + timedelta(microseconds=shown_at)
            yield (
                "helpline_display",
                pk,
                prefix,
                is_test,
                helpline,
                session_id,
                shown_time,
                "",
                shown_time + timedelta(microseconds=50_000 + int(rand() * 3 * second)),
            )
            written += 1
            if written >= n:
                return
            if rand() < CLICK_PER_DISPLAY:
                clicked_time = shown_time + timedelta(
                    microseconds=2 * second + int(rand() * 118 * second)
                )
                yield (
                    "helpline_click",
                    pk,
                    prefix,
                    is_test,
                    helpline,
                    session_id,
                    clicked_time,
                    method(),
                    clicked_time + timedelta(microseconds=50_000 + int(rand() * 3 * second)),
                )
                written += 1
                if written >= n:
                    return


def load_events(url: str, cast: Cast, n: int, now: datetime, seed: int) -> tuple[int, float]:
    """Binary COPY of N generated events, then VACUUM ANALYZE; (rows counted, seconds).

    One transaction: the table's secondary indexes and its identity constraint are
    dropped, the rows copied, then the same indexes and constraint rebuilt from their own
    definitions (pg_get_indexdef, pg_get_constraintdef), which is several times faster
    than maintaining them row by row. Foreign-key triggers are skipped for this session
    (session_replication_role = replica): every row carries pks the product just created,
    and `checks()` verifies that each one exists. DDL is transactional, so a failure
    leaves the schema as it was.

    VACUUM as well as ANALYZE: a table that autovacuum has visited (visibility map set,
    hint bits written) is the steady state the dashboard reads, and autovacuum waking up
    on a fresh table in the middle of the measurements would be noise.
    """
    import psycopg
    from psycopg import sql

    table = sql.Identifier(EVENTS_TABLE)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
    )
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'",
            [EVENTS_TABLE],
        ).fetchall()
        indexes = conn.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS ("
            "SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [EVENTS_TABLE],
        ).fetchall()
        for name, _ in constraints:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, sql.Identifier(name))
            )
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            copy.set_types(list(COPY_COLUMNS.values()))
            for number, row in enumerate(generate_events(cast, n, now, seed), start=1):
                copy.write_row(row)
                if number % 500_000 == 0:
                    print(f"  {number:,} rows written", flush=True)
        print(
            f"  rebuilding {len(indexes)} indexes and {len(constraints)} constraint(s)", flush=True
        )
        for _, definition in indexes:
            conn.execute(definition)
        for name, definition in constraints:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    table, sql.Identifier(name), sql.SQL(definition)
                )
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
        result = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
        assert result is not None
        counted = int(result[0])
    return counted, time.perf_counter() - started


# --- what is measured --------------------------------------------------------------------


@dataclass
class Scope:
    """The rows a group of queries reads, and the SQL WHERE of its ceilings."""

    key: str
    label: str
    start: datetime
    end: datetime
    partner_ids: list[int] = field(default_factory=list)
    helpline_ids: list[int] = field(default_factory=list)

    def where(self, *, live_only: bool) -> tuple[str, list[Any]]:
        clauses = ["timestamp >= %s", "timestamp < %s"]
        params: list[Any] = [self.start, self.end]
        if self.partner_ids:
            clauses.append("partner_id = ANY(%s)")
            params.append(self.partner_ids)
        if self.helpline_ids:
            clauses.append("helpline_id = ANY(%s)")
            params.append(self.helpline_ids)
        if live_only:
            clauses.append("NOT is_test")
        return " AND ".join(clauses), params


@dataclass
class Measure:
    """One timed call; `run` returns how many rows (or figures) it produced."""

    name: str
    kind: str  # "ceiling", "query" or "page"
    scope: Scope
    run: Callable[[], int]
    ceiling: str = ""  # "a", "b" or "c" for ceilings
    note: str = ""
    times: list[float] = field(default_factory=list)
    rows: int = 0
    queries: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def ceiling_sql(scope: Scope, which: str) -> tuple[str, list[Any]]:
    if which == "a":
        where, params = scope.where(live_only=False)
        return f"SELECT count(*) FROM {EVENTS_TABLE} WHERE {where}", params
    where, params = scope.where(live_only=True)
    sessions = (
        ", COUNT(DISTINCT partner_id::text || ':' || session_id) "
        "FILTER (WHERE type = 'helpline_display')"
        if which == "c"
        else ""
    )
    return (
        "SELECT date_trunc('day', timestamp AT TIME ZONE 'UTC') AS day, "
        "count(*) FILTER (WHERE type = 'helpline_display'), "
        f"count(*) FILTER (WHERE type = 'helpline_click'){sessions} "
        f"FROM {EVENTS_TABLE} WHERE {where} GROUP BY 1 ORDER BY 1",
        params,
    )


def run_sql(sql: str, params: list[Any]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return len(cursor.fetchall())


def build_measures(cast: Cast, now: datetime) -> tuple[list[Measure], dict[str, Any]]:
    """Ceilings and product calls for: 30 days all partners, 30 days one partner, the load page."""
    from zoneinfo import ZoneInfo

    from dashboard import pages
    from dashboard.forms import DashboardQuery, Preset, preset_days
    from events.metrics import Dimension, EventFilter, iter_metric_rows, metric_rows, totals
    from helplines.models import Partner

    tz = ZoneInfo("UTC")
    first_day, last_day = preset_days(Preset.LAST_30, now.astimezone(tz).date())
    partner = Partner.objects.get(pk=cast.partners[0][0])
    query_all = DashboardQuery(first_day=first_day, last_day=last_day, tz=tz)
    query_one = DashboardQuery(first_day=first_day, last_day=last_day, tz=tz, partner=partner)
    filter_all, filter_one = query_all.event_filter(), query_one.event_filter()
    load_end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    filter_load = EventFilter(
        start=load_end - timedelta(days=LOAD_DAYS), end=load_end, priority_only=True
    )
    scope_all = Scope("all", "30 days, all partners", filter_all.start, filter_all.end)
    scope_one = Scope(
        "one",
        f"30 days, one partner ({partner.slug}, {PARTNERS[0][1]:.0%} of traffic)",
        filter_one.start,
        filter_one.end,
        partner_ids=[partner.pk],
    )
    scope_load = Scope(
        "load",
        f"{LOAD_DAYS} days, {len(cast.priority)} priority helplines",
        filter_load.start,
        filter_load.end,
        helpline_ids=list(cast.priority),
    )
    measures: list[Measure] = []
    for scope in (scope_all, scope_one, scope_load):
        for which, label in (
            ("a", "(a) count(*) over the range"),
            ("b", "(b) GROUP BY day, count FILTER per type"),
            ("c", "(c) (b) + COUNT(DISTINCT session)"),
        ):
            sql, params = ceiling_sql(scope, which)
            measures.append(
                Measure(
                    label,
                    "ceiling",
                    scope,
                    functools.partial(run_sql, sql, params),
                    ceiling=which,
                )
            )

    def rows_of(event_filter: Any, dims: list[Any]) -> Callable[[], int]:
        return lambda: len(metric_rows(event_filter, dims, tz))

    def totals_of(event_filter: Any) -> Callable[[], int]:
        def run() -> int:
            totals(event_filter, tz)
            return 1

        return run

    def streamed() -> int:
        dims = [Dimension.DAY, Dimension.PARTNER, Dimension.HELPLINE]
        return sum(1 for _ in iter_metric_rows(filter_all, dims, tz))

    for scope, event_filter in ((scope_all, filter_all), (scope_one, filter_one)):
        measures += [
            Measure("totals()", "query", scope, totals_of(event_filter)),
            Measure("metric_rows(DAY)", "query", scope, rows_of(event_filter, [Dimension.DAY])),
            Measure(
                "metric_rows(HELPLINE)", "query", scope, rows_of(event_filter, [Dimension.HELPLINE])
            ),
        ]
        if scope is scope_all:
            measures += [
                Measure(
                    "metric_rows(PARTNER)",
                    "query",
                    scope,
                    rows_of(event_filter, [Dimension.PARTNER]),
                ),
                Measure(
                    "metric_rows(CONTACT_METHOD)",
                    "query",
                    scope,
                    rows_of(event_filter, [Dimension.CONTACT_METHOD]),
                ),
                Measure(
                    "iter_metric_rows(DAY x PARTNER x HELPLINE), consumed",
                    "query",
                    scope,
                    streamed,
                    note="report.csv",
                ),
            ]
    measures += [
        Measure(
            "metric_rows(HOUR x HELPLINE, priority_only)",
            "query",
            scope_load,
            rows_of(filter_load, [Dimension.HOUR, Dimension.HELPLINE]),
            note="load page",
        ),
        Measure(
            "pages.overview(query)",
            "page",
            scope_all,
            lambda: len(pages.overview(query_all)["days"]),
            note="previous 30 days too",
        ),
        Measure(
            "pages.partner_page(query, partner)",
            "page",
            scope_one,
            lambda: len(pages.partner_page(query_one, partner, now=now)["days"]),
            note="+ 48 h traffic, keys",
        ),
        Measure(
            "pages.load(now)",
            "page",
            scope_load,
            lambda: len(pages.load(now=now, tz=tz)["loads"]),
            note="+ helpline list",
        ),
    ]
    context = {
        "tz": tz,
        "filter_all": filter_all,
        "filter_one": filter_one,
        "first_day": first_day,
        "last_day": last_day,
        "partner": partner,
    }
    return measures, context


def measure_all(measures: list[Measure], repeat: int) -> None:
    """A warm-up round, then `repeat` rounds of every call once, in a fixed order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print("Warm-up round (also counts each call's queries)...", flush=True)
    for one in measures:
        with CaptureQueriesContext(connection) as captured:
            one.rows = one.run()
        one.queries = len(captured.captured_queries)
    for number in range(1, repeat + 1):
        started = time.perf_counter()
        for one in measures:
            began = time.perf_counter()
            rows = one.run()
            one.times.append(time.perf_counter() - began)
            if rows != one.rows:
                raise BenchError(f"{one.name} gave {rows} rows, {one.rows} in the warm-up")
        print(f"  round {number}/{repeat}: {time.perf_counter() - started:.1f} s", flush=True)


# --- correctness -------------------------------------------------------------------------


def checks(context: dict[str, Any], cast: Cast, n: int, counted: int) -> list[tuple[str, bool]]:
    """The product's figures against plain SQL over the same rows."""
    from django.db import connection

    from events.metrics import Dimension, EventFilter, metric_rows, totals

    tz = context["tz"]
    results: list[tuple[str, bool]] = [(f"rows stored = rows written ({n:,})", counted == n)]
    with connection.cursor() as cursor:
        # The load skipped the foreign-key triggers: every reference must exist, and each
        # event's key must be its partner's, with the key's test flag.
        cursor.execute(
            "SELECT count(*) FROM events_event e "
            "LEFT JOIN helplines_partnerapikey k ON k.prefix = e.api_key_prefix "
            "AND k.partner_id = e.partner_id AND k.is_test = e.is_test "
            "LEFT JOIN helplines_helpline h ON h.id = e.helpline_id "
            "WHERE k.prefix IS NULL OR h.id IS NULL"
        )
        orphans = int(cursor.fetchone()[0])
    results.append(
        (
            f"every event's key (its partner's, same test flag) and helpline exist ({orphans} not)",
            orphans == 0,
        )
    )

    def plain(scope_filter: Any) -> tuple[int, int, dict[str, int]]:
        where = "timestamp >= %s AND timestamp < %s AND is_test = false"
        params: list[Any] = [scope_filter.start, scope_filter.end]
        if scope_filter.partner_ids:
            where += " AND partner_id = ANY(%s)"
            params.append(list(scope_filter.partner_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT type, contact_method, count(*) FROM events_event "
                f"WHERE {where} GROUP BY 1, 2",
                params,
            )
            rows = cursor.fetchall()
        displays = sum(c for t, _, c in rows if t == "helpline_display")
        clicks = sum(c for t, _, c in rows if t == "helpline_click")
        methods = {m: c for t, m, c in rows if t == "helpline_click"}
        return displays, clicks, methods

    for label, key in (("all partners", "filter_all"), ("one partner", "filter_one")):
        event_filter = context[key]
        figures = totals(event_filter, tz)
        displays, clicks, methods = plain(event_filter)
        results.append(
            (
                f"totals() {label}, 30 days: displays {figures.displays:,} and clicks "
                f"{figures.clicks:,} = plain SQL counts with is_test = false "
                f"({displays:,}, {clicks:,})",
                figures.displays == displays and figures.clicks == clicks,
            )
        )
        results.append(
            (
                f"totals() {label}: clicks per contact method = plain SQL",
                all(figures.clicks_by_method[m] == methods.get(m, 0) for m in methods)
                and sum(figures.clicks_by_method.values()) == clicks,
            )
        )
    days = metric_rows(context["filter_all"], [Dimension.DAY], tz)
    whole = totals(context["filter_all"], tz)
    results.append(
        (
            "metric_rows(DAY) summed over the 30 days = totals() (displays, clicks, sessions)",
            sum(r.metrics.displays for r in days) == whole.displays
            and sum(r.metrics.clicks for r in days) == whole.clicks
            and sum(r.metrics.sessions_reached or 0 for r in days) == whole.sessions_reached,
        )
    )
    # One day in the middle of the period, checked against a plain count of sessions.
    day: date = context["first_day"] + timedelta(days=PERIOD_DAYS // 2)
    day_filter = EventFilter.for_days(day, day, tz)
    (row,) = metric_rows(day_filter, [Dimension.DAY], tz)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(DISTINCT partner_id::text || ':' || session_id) FROM events_event "
            "WHERE type = 'helpline_display' AND NOT is_test "
            "AND timestamp >= %s AND timestamp < %s",
            [day_filter.start, day_filter.end],
        )
        reached = int(cursor.fetchone()[0])
        # Converted: a display and a click on the same helpline, same session, same day.
        cursor.execute(
            "SELECT COUNT(DISTINCT d.partner_id::text || ':' || d.session_id) "
            "FROM events_event d WHERE d.type = 'helpline_display' AND NOT d.is_test "
            "AND d.timestamp >= %s AND d.timestamp < %s AND EXISTS (SELECT 1 FROM "
            "events_event c WHERE c.type = 'helpline_click' AND NOT c.is_test "
            "AND c.partner_id = d.partner_id AND c.session_id = d.session_id "
            "AND c.helpline_id = d.helpline_id AND c.timestamp >= %s AND c.timestamp < %s)",
            [day_filter.start, day_filter.end, day_filter.start, day_filter.end],
        )
        converted = int(cursor.fetchone()[0])
    results.append(
        (
            f"sessions reached on {day} ({row.metrics.sessions_reached:,}) = plain "
            f"COUNT(DISTINCT partner_id || ':' || session_id) of displays ({reached:,})",
            row.metrics.sessions_reached == reached,
        )
    )
    results.append(
        (
            f"sessions converted on {day} ({row.metrics.sessions_converted:,}) = plain count "
            f"of sessions with a display and a click on the same helpline ({converted:,})",
            row.metrics.sessions_converted == converted,
        )
    )
    return results


# --- EXPLAIN -----------------------------------------------------------------------------


def explain(one: Measure) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the call's SQL, as an indented tree of plan nodes."""
    import json

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        one.run()
    sql = max(captured.captured_queries, key=lambda q: len(q["sql"]))["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        (document,) = cursor.fetchone()
    plan = (json.loads(document) if isinstance(document, str) else document)[0]
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        name = node["Node Type"]
        if node.get("Strategy") and node["Node Type"] == "Aggregate":
            name = f"{node['Strategy']} Aggregate"
        on = node.get("Index Name") or node.get("Relation Name")
        if on:
            name += f" on {on}"
        loops = node.get("Actual Loops", 1)
        hit, read = node.get("Shared Hit Blocks", 0), node.get("Shared Read Blocks", 0)
        extra = []
        if node.get("Workers Launched") is not None:
            extra.append(f"workers {node['Workers Launched']}")
        if node.get("Sort Method"):
            extra.append(f"{node['Sort Method']} {node.get('Sort Space Used', '?')} kB")
        if node.get("Peak Memory Usage"):
            extra.append(f"memory {node['Peak Memory Usage']} kB")
        if node.get("Rows Removed by Filter"):
            extra.append(f"removed by filter {node['Rows Removed by Filter']:,}")
        lines.append(
            f"{'  ' * depth}{name}: rows {node['Actual Rows'] * loops:,} "
            f"(loops {loops}), {node['Actual Total Time']:,.0f} ms, "
            f"buffers hit {hit:,} read {read:,}" + (f"; {', '.join(extra)}" if extra else "")
        )
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(plan["Plan"], 0)
    footer = (
        f"Planning {plan.get('Planning Time', 0):.1f} ms, "
        f"execution {plan['Execution Time']:,.0f} ms"
    )
    if "JIT" in plan:
        jit = plan["JIT"]
        footer += (
            f"; JIT {jit['Functions']} functions, "
            f"{jit['Timing']['Total']:,.0f} ms of it spent compiling"
        )
    lines.append(footer)
    return lines


# --- the report --------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def report(
    *,
    started: datetime,
    command: str,
    info: dict[str, str],
    pg_version: str,
    loads: tuple[str, str],
    n: int,
    load_seconds: float,
    repeat: int,
    measures: list[Measure],
    scope_rows: dict[str, int],
    results: list[tuple[str, bool]],
    plans: list[tuple[Measure, list[str]]],
    settings_note: str,
) -> str:
    all_ok = all(passed for _, passed in results)
    ceilings = {(m.scope.key, m.ceiling): m for m in measures if m.kind == "ceiling"}
    scopes = list(dict.fromkeys(m.scope.key for m in measures))
    labels = {m.scope.key: m.scope.label for m in measures}
    lines = [
        f"## {started:%Y-%m-%d %H:%M} UTC — query benchmark, "
        f"{n:,} events — {'all checks passed' if all_ok else 'CHECK FAILED'}",
        "",
        f"- Command: `{command}`",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, "
        f"PostgreSQL {pg_version}, Python {info['python']}, {info['os']}",
        f"- Product commit: {info['commit']}",
        f"- Load average (1/5/15 min) at start: {loads[0]}; at end: {loads[1]}",
        f"- Data: {n:,} events over {DAYS_OF_DATA} days ({n / DAYS_OF_DATA:,.0f}/day), "
        f"{len(PARTNERS)} partners, {sum(c for _, c, _, _ in COUNTRIES)} helplines in "
        f"{len(COUNTRIES)} countries; sessions of 1-3 displays, ~10% clicks, "
        f"{TEST_SESSION_SHARE:.0%} test-key sessions. Loaded by binary COPY + VACUUM ANALYZE "
        f"in {load_seconds:.0f} s.",
        f"- Timing: in-process calls through Django's connection, one warm-up round then "
        f"{repeat} rounds of every call; the median is shown (min-max in brackets). "
        f"{settings_note}",
        "",
        "Rows each scope reads (live and test): "
        + "; ".join(f"{labels[key]}: {scope_rows[key]:,}" for key in scopes)
        + ".",
        "",
        "| Scope | Call | Queries | Rows out | Median ms (min-max) | / (a) | / (b) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key in scopes:
        a, b = ceilings[(key, "a")].median, ceilings[(key, "b")].median
        for one in (m for m in measures if m.scope.key == key):
            name = f"**{one.name}**" if one.kind == "ceiling" else one.name
            if one.note:
                name += f" ({one.note})"
            if one.kind == "page":
                name = "page: " + name
            spread = f"{_ms(one.median)} ({_ms(min(one.times))}-{_ms(max(one.times))})"
            ratio_a = f"{one.median / a:.1f}" if one.ceiling != "a" else "1"
            ratio_b = f"{one.median / b:.1f}" if one.ceiling != "b" else "1"
            rows = "—" if one.kind == "page" else f"{one.rows:,}"
            lines.append(
                f"| {labels[key]} | {name} | {one.queries} | {rows} | {spread} | "
                f"{ratio_a} | {ratio_b} |"
            )
    lines += [
        "",
        "Ratios are the call's median over the median of the ceiling of the same scope: how "
        "many times the cost of (a) reading the range, (b) a one-level per-day count. "
        "Ceilings (b) and (c) count live events only, as the product does; (a) counts all.",
        "",
    ]
    # What the figures imply for a rollup, read linearly from this run.
    overview = next(m for m in measures if m.name == "pages.overview(query)")
    per_day = n / DAYS_OF_DATA
    at_one_second = per_day / overview.median
    biggest_query = max((m for m in measures if m.kind == "query"), key=lambda m: m.median)
    scale = FINDINGS_EVENTS / n
    by_name = {(m.scope.key, m.name): m for m in measures}
    one_helpline_day = by_name[("one", "metric_rows(HELPLINE)")].median
    all_helpline = by_name[("all", "metric_rows(HELPLINE)")].median
    lines += [
        "What it implies (linear in the rows read, which the ratios to (a) stand for):",
        "",
        f"- The overview page ({overview.queries} queries) takes {_ms(overview.median)} ms at "
        f"{per_day:,.0f} events/day; it would pass 1 s at about **{at_one_second:,.0f} "
        f"events/day** ({at_one_second * 30:,.0f} per 30 days).",
        f"- Scaled to FINDINGS.md's 10M-row table (x{scale:.1f}): one partner by helpline "
        f"{one_helpline_day * scale:.1f} s, all partners by helpline "
        f"{all_helpline * scale:.1f} s, the slowest single call ({biggest_query.name}, "
        f"{labels[biggest_query.scope.key]}) {biggest_query.median * scale:.1f} s, the "
        f"overview page {overview.median * scale:.1f} s. FINDINGS.md: {FINDINGS_RAW}.",
        "",
        f"EXPLAIN (ANALYZE, BUFFERS) of the {len(plans)} most expensive single calls "
        "(actual rows summed over loops):",
        "",
    ]
    for one, plan in plans:
        lines += [f"{one.name}, {labels[one.scope.key]}:", "", "```", *plan, "```", ""]
    lines += ["Checks:", ""]
    lines += [f"- {'ok' if passed else 'FAILED'}: {label}" for label, passed in results]
    lines.append("")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help=f"events to load ({DEFAULT_EVENTS:,})"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds after warm-up (3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events (1)")
    parser.add_argument(
        "--no-record", action="store_true", help="print the figures, do not append RESULTS.md"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    loads_start = load_average()
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        print(f"DATABASE_URL must point at PostgreSQL, not {url}", file=sys.stderr)
        return 2
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    print(f"Preparing {urlsplit(url).path.lstrip('/')} (create, migrate, empty, seed)...")
    ensure_database(url)
    django.setup()
    from django.db import connection

    cast = prepare_product_data()
    print(f"Loading {args.events:,} events by binary COPY...", flush=True)
    counted, load_seconds = load_events(url, cast, args.events, started, args.seed)
    print(f"  {counted:,} rows in {load_seconds:.1f} s (with VACUUM ANALYZE)", flush=True)

    measures, context = build_measures(cast, started)
    scope_rows = {}
    for one in measures:
        if one.ceiling == "a" and one.scope.key not in scope_rows:
            sql, params = ceiling_sql(one.scope, "a")
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                scope_rows[one.scope.key] = int(cursor.fetchone()[0])
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
        cursor.execute("SHOW max_parallel_workers_per_gather")
        parallel = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    settings_note = (
        f"PostgreSQL settings as installed: jit={jit}, "
        f"max_parallel_workers_per_gather={parallel}, work_mem={work_mem}."
    )
    measure_all(measures, args.repeat)
    results = checks(context, cast, args.events, counted)
    expensive = sorted(
        (m for m in measures if m.kind == "query"), key=lambda m: m.median, reverse=True
    )[:2]
    plans = [(one, explain(one)) for one in expensive]

    section = report(
        started=started,
        command=shlex.join([_relative(sys.executable), _relative(sys.argv[0]), *argv]),
        info=machine(),
        pg_version=postgres_version(url),
        loads=(loads_start, load_average()),
        n=args.events,
        load_seconds=load_seconds,
        repeat=args.repeat,
        measures=measures,
        scope_rows=scope_rows,
        results=results,
        plans=plans,
        settings_note=settings_note,
    )
    connection.close()
    print()
    print(section)
    if not args.no_record:
        append_results(section)
        print(f"Appended to {RESULTS.relative_to(BASE_DIR)}")
    return 0 if all(passed for _, passed in results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)
