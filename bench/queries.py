"""The query benchmark, in one command: `make bench` (see bench/README.md).

Every figure staff and partners read comes from the aggregate tables that `events.rollup`
maintains (QuarterHourCount, HourClicks, DayCount, DaySessionCount, KeyDay) and
`events.metrics` reads.
This judges that read side at several data sizes in one run (100,000 and 10,000,000
events by default) against two targets per call:

- flat in data size: the call at the largest size takes at most 2x the same call at the
  smallest size;
- at most 5% of the raw-table query it replaced: the two-level GROUP BY / COUNT DISTINCT
  over events_event that computed the same figures before the aggregates (events/metrics.py
  before 446cf52), run on the same rows in the same run.

The calls are the overview, partner and load pages (Django's test Client, logged in as a
superuser: URL routing, middleware, session, templates) and GET /v1/events/stats (test
Client with a partner's real API key), over the last 30 and the last 90 days. The run also
times building the aggregates (`rebuild()` over the whole table after a bulk load) and
maintaining them (`roll_up()` after one more day of events), measures their storage against
the raw table, and checks the figures against independent SQL on the raw table.

Each size has its own database (DATABASE_URL's name + `_100k`, `_10m`, ...), created if
missing, migrated and emptied: partners, keys and helplines through the product's own code,
N events by binary COPY, then the aggregates through the product's own rollup. Timing
interleaves the sizes: each round runs every call once on each database in turn, so a burst
of outside load slows both terms of a ratio. Medians are reported. A section is appended
to bench/RESULTS.md. Exit status: 0 all checks and targets passed, 1 a correctness check
failed, 2 the run could not go on, 3 a target was missed.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import itertools
import json
import os
import random
import re
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from api.utc import floor_hour  # noqa: E402
from bench import common  # noqa: E402  (the path above makes `bench` importable as a script)
from bench.run import COPY_COLUMNS, EVENTS_TABLE  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/throughline_qbench"
DEFAULT_SIZES = (100_000, 10_000_000)
DAYS_OF_DATA = 90
PERIODS = (30, 90)
LOAD_DAYS = 7
FLAT_LIMIT = 2.0  # largest size / smallest size
RAW_LIMIT = 0.05  # call / the raw-table query it replaced
AGGREGATE_TABLES = (
    "events_quarterhourcount",
    "events_hourclicks",
    "events_daycount",
    "events_daysessioncount",
    "events_keyday",
    "events_paireddisplayday",
)
# Session ids of the extra day's events start here, far from the bulk load's.
EXTRA_SESSIONS = 1 << 40

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
CONTACT_METHODS = tuple(CONTACT_METHOD_WEIGHTS)
# Traffic by UTC hour of day (night low, evening high), so hours differ as they would.
HOURLY_WEIGHTS = (3, 2, 2, 1, 1, 2, 3, 5, 6, 7, 7, 7, 8, 8, 7, 7, 8, 9, 10, 10, 9, 8, 6, 4)


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# --- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """What the product's own code created: partners, their keys, the helplines."""

    partners: list[tuple[int, str, str]]  # (pk, live key prefix, test key prefix)
    helplines: dict[str, list[int]]  # country -> helpline pks
    priority: list[int]
    slug: str  # the largest partner's
    live_key: str  # the largest partner's live key, raw (GET /v1/events/stats)


def prepare_product_data() -> Cast:
    """Migrate, empty every table, then partners with a live and a test key, helplines and
    a superuser for the dashboard."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from helplines.models import Helpline
    from helplines.services import create_partner, issue_key

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    partners, raw_keys, slugs = [], [], []
    for name, _ in PARTNERS:
        partner, raw = create_partner(name=name)
        live = partner.api_keys.get()
        test, _raw = issue_key(partner=partner, name="staging", is_test=True)
        partners.append((partner.pk, live.prefix, test.prefix))
        raw_keys.append(raw)
        slugs.append(partner.slug)
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
    get_user_model().objects.create_superuser("bench", "bench@example.org", secrets.token_hex(16))
    return Cast(partners, helplines, priority, slug=slugs[0], live_key=raw_keys[0])


def _picker(rng: random.Random, items: list[Any], weights: list[float]) -> Callable[[], Any]:
    """A weighted choice; cumulative weights computed once (random.choices redoes it per call)."""
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    return lambda: items[bisect.bisect(cumulative, rng.random() * total)]


def generate_events(
    cast: Cast,
    n: int,
    *,
    origin: datetime,
    since: datetime,
    until: datetime,
    seed: int,
    first_session: int = 0,
) -> Iterator[tuple[Any, ...]]:
    """N events in COPY_COLUMNS order: sessions of 1-3 displays, ~10% clicks.

    Sessions start in [since, until), drawn by day from `origin` (a UTC midnight) and by
    hour of day with HOURLY_WEIGHTS. A session belongs to one partner and one key, sees
    1-3 distinct helplines of one country within a minute, and clicks a helpline it was
    shown, a little later. Times are whole microseconds: the generator, not COPY, is what
    bounds the load's speed.
    """
    rng = random.Random(seed)
    rand = rng.random
    partner = _picker(rng, cast.partners, [share for _, share in PARTNERS])
    country = _picker(rng, [c for c, *_ in COUNTRIES], [share for _, _, share, _ in COUNTRIES])
    method = _picker(rng, list(CONTACT_METHODS), list(CONTACT_METHOD_WEIGHTS.values()))
    hour = _picker(rng, list(range(24)), list(HOURLY_WEIGHTS))
    micro = timedelta(microseconds=1)
    low, high = int((since - origin) / micro), int((until - origin) / micro)
    slots = (until - origin).days + 1
    second, day = 10**6, 86_400 * 10**6
    written = 0
    session = first_session
    while written < n:
        session += 1
        pk, live, test = partner()
        is_test = rand() < TEST_SESSION_SHARE
        prefix = test if is_test else live
        # A bijection on 64-bit integers: distinct, random-looking session ids.
        session_id = format((session * 0x9E3779B97F4A7C15) % (1 << 64), "016x")
        lines = cast.helplines[country()]
        shown = rng.sample(lines, min(1 + int(rand() * 3), len(lines)))
        start = -1
        while not low <= start < high:  # by day and weighted hour, inside [since, until)
            start = int(rand() * slots) * day + hour() * 3600 * second + int(rand() * 3600 * second)
        for offset, helpline in enumerate(shown):
            shown_at = start + offset * int(rand() * 20 * second)
            shown_time = origin + timedelta(microseconds=shown_at)
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


def copy_events(url: str, rows: Iterator[tuple[Any, ...]], *, bulk: bool) -> float:
    """Binary COPY of `rows` into the events table in one transaction; seconds taken.

    `bulk`: the table's secondary indexes and identity constraint are dropped first and
    rebuilt from their own definitions afterwards (several times faster than maintaining
    them row by row), then VACUUM ANALYZE (the steady state the dashboard reads; autovacuum
    waking up mid-measurement would be noise). Otherwise the rows go in with every index in
    place, as later traffic would. Foreign-key triggers are skipped (session_replication_role
    = replica): every row carries pks the product just created, and a check verifies each.
    The rows' `txid` is the COPY's transaction, set by the column's database default, so
    the rollup sees them as events committed after its last run.
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
        constraints: list[tuple[str, str]] = []
        indexes: list[tuple[str, str]] = []
        if bulk:
            constraints = conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [EVENTS_TABLE],
            ).fetchall()
            indexes = conn.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
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
            for number, row in enumerate(rows, start=1):
                copy.write_row(row)
                if number % 1_000_000 == 0:
                    print(f"    {number:,} rows written", flush=True)
        if bulk:
            # Stored in the order of their timestamps, as traffic arrives (late events
            # aside): the generator draws sessions over the whole range, and a table in
            # that order would leave the BRIN index on timestamps nothing to skip.
            print("    ordering the rows by timestamp", flush=True)
            conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE bench_ordered ON COMMIT DROP AS "
                    'SELECT * FROM {} ORDER BY "timestamp"'
                ).format(table)
            )
            conn.execute(sql.SQL("TRUNCATE {}").format(table))
            conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM bench_ordered").format(table))
            print(f"    rebuilding {len(indexes)} indexes and {len(constraints)} constraint(s)")
        for _, definition in indexes:
            # A partitioned table's index reads "ON ONLY <table>": created so, it would
            # stay invalid, on the parent alone, and no partition would have it.
            conn.execute(definition.replace(" ON ONLY ", " ON ", 1))
        for name, definition in constraints:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    table, sql.Identifier(name), sql.SQL(definition)
                )
            )
        conn.commit()
    if bulk:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
    return time.perf_counter() - started


# --- building and maintaining the aggregates ---------------------------------------------


@dataclass
class Build:
    """One timed rollup call, with where its time went, statement by statement."""

    seconds: float
    events: int
    windows: int
    months_closed: int = 0
    statements: list[tuple[str, int, float]] = field(default_factory=list)  # (what, n, s)


_STATEMENT = re.compile(
    r"^(INSERT INTO \S+|DELETE FROM \S+|CREATE TEMP TABLE \S+|DROP TABLE(?: IF EXISTS)? \S+|"
    r"UPDATE \S+|SELECT)"
)


def _statement_kind(sql: str) -> str:
    text = " ".join(sql.replace('"', "").split())
    match = _STATEMENT.match(text)
    kind = match.group(1) if match else " ".join(text.split()[:3])
    if kind == "SELECT":
        tables = re.findall(r" FROM (\w+)", text)
        kind = f"SELECT from {tables[0]}" if tables else "SELECT"
    elif kind == "INSERT INTO events_daysessioncount":
        kind += " (all helplines)" if "ws, we, ''," in text else " (per country)"
    return kind


def profiled(
    call: Callable[[], Any], *, phases: tuple[str, str] | None = None
) -> tuple[Any, float, list[tuple[str, int, float]]]:
    """call(), its wall time, and its statements' time grouped by kind (slowest first).

    `phases` names what runs before and from the first DELETE on: `rebuild()` first adds
    the events its mark does not cover yet (no DELETE), then deletes and recomputes.
    """
    from django.db import connection

    spent: dict[str, list[float]] = {}
    phase = [phases[0] if phases else ""]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if phases and sql.lstrip().upper().startswith("DELETE"):
            phase[0] = phases[1]
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = f"{phase[0]}: {_statement_kind(sql)}" if phase[0] else _statement_kind(sql)
            entry = spent.setdefault(kind, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - began

    began = time.perf_counter()
    with connection.execute_wrapper(timed):
        result = call()
    seconds = time.perf_counter() - began
    statements = sorted(
        ((kind, int(n), s) for kind, (n, s) in spent.items()), key=lambda item: -item[2]
    )
    return result, seconds, statements


def vacuum_aggregates(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {', '.join(AGGREGATE_TABLES)}")


def storage(url: str) -> list[tuple[str, int, int]]:
    """(table, rows, pg_total_relation_size) of the raw table and each aggregate."""
    import psycopg

    sizes = []
    with psycopg.connect(url) as conn:
        for table in (EVENTS_TABLE, *AGGREGATE_TABLES):
            (rows,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
            # Every partition of a partitioned table (the parent itself holds no rows).
            (total,) = conn.execute(
                "SELECT COALESCE((SELECT SUM(pg_total_relation_size(relid)) "
                "FROM pg_partition_tree(%s::regclass)), pg_total_relation_size(%s::regclass))",
                [table, table],
            ).fetchone() or (0,)
            sizes.append((table, int(rows), int(total)))
    return sizes


# --- what is measured --------------------------------------------------------------------


@dataclass
class Call:
    """One timed call. `ceiling` names the raw-table query a product call is judged against."""

    key: str
    label: str
    run: Callable[[], Any]
    kind: str  # "call" or "raw"
    ceiling: str = ""
    times: list[float] = field(default_factory=list)
    sql_times: list[float] = field(default_factory=list)  # of which in the database
    queries: int = 0
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Size:
    """One data size: its database, what was built there, and its calls."""

    n: int
    database: str
    url: str
    cast: Cast | None = None
    now: datetime | None = None
    extra: int = 0
    written: int = 0  # rows the events table should hold, when not n + extra (--reuse)
    load_seconds: float = 0.0
    counted: int = 0
    builds: dict[str, Build] = field(default_factory=dict)
    tables: list[tuple[str, int, int]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    results: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return size_label(self.n)

    def call(self, key: str) -> Call:
        return next(one for one in self.calls if one.key == key)


def use_database(size: Size) -> None:
    """Point Django's connection at this size's database (it reconnects on first use)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = size.database
    with connection.cursor() as cursor:  # connect now, not inside the first timed call
        cursor.execute("SELECT 1")


def old_query(
    start: datetime, end: datetime, *, partner_id: int | None = None, load: bool = False
) -> tuple[str, list[Any]]:
    """The raw-table query the aggregates replaced, as events/metrics.py built it before
    446cf52: an inner GROUP BY (day, [hour, helpline,] session, helpline) of counts per
    type and contact method, and an outer one summing them per group with COUNT DISTINCT
    sessions reached (a display) and converted (a display and a click, same helpline).

    Per UTC day over one scope (all partners or one), or with `load` the load page's per
    UTC hour x priority helpline.
    """
    keys = ["(e.timestamp AT TIME ZONE 'UTC')::date AS k_day"]
    join = ""
    if load:
        keys += [
            "date_trunc('hour', e.timestamp AT TIME ZONE 'UTC') AS k_hour",
            "h.public_id AS k_helpline_public_id",
            "e.helpline_id AS k_helpline_id",
            "h.name AS k_helpline_name",
            "h.country_code AS k_helpline_country",
        ]
        join = "JOIN helplines_helpline h ON h.id = e.helpline_id "
    where = ["e.timestamp >= %s", "e.timestamp < %s", "e.is_test = false"]
    params: list[Any] = [start, end]
    if partner_id is not None:
        where.append("e.partner_id = %s")
        params.append(partner_id)
    if load:
        where.append("h.is_priority")
    aliases = [key.rsplit(" AS ", 1)[1] for key in keys]
    counts = [
        "count(*) FILTER (WHERE e.type = 'helpline_display') AS n_display",
        "count(*) FILTER (WHERE e.type = 'helpline_click') AS n_click",
        *(
            f"count(*) FILTER (WHERE e.type = 'helpline_click' "
            f"AND e.contact_method = '{method}') AS n_click_{method}"
            for method in CONTACT_METHODS
        ),
    ]
    inner = (
        f"SELECT {', '.join(keys)}, e.partner_id::text || ':' || e.session_id AS k_session, "
        f"e.helpline_id AS k_line, {', '.join(counts)} FROM {EVENTS_TABLE} e {join}"
        f"WHERE {' AND '.join(where)} "
        f"GROUP BY {', '.join(aliases)}, k_session, k_line"
    )
    sums = ", ".join(
        f"SUM({alias})"
        for alias in ("n_display", *(f"n_click_{method}" for method in CONTACT_METHODS))
    )
    group = ", ".join(aliases)
    return (
        f"SELECT {group}, {sums}, "
        "COUNT(DISTINCT CASE WHEN n_display > 0 THEN k_session END), "
        "COUNT(DISTINCT CASE WHEN n_display > 0 AND n_click > 0 THEN k_session END) "
        f"FROM ({inner}) per_session GROUP BY {group} ORDER BY {group}",
        params,
    )


def run_sql(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def period_days(now: datetime, period: int) -> tuple[date, date]:
    from dashboard.query import Preset, preset_days

    return preset_days(Preset.LAST_30 if period == 30 else Preset.LAST_90, now.date())


def load_window(now: datetime) -> tuple[datetime, datetime]:
    """The load page's 7 days, as dashboard.pages.load computes them."""
    end = floor_hour(now) + timedelta(hours=1)
    return end - timedelta(days=LOAD_DAYS), end


def build_calls(size: Size) -> list[Call]:
    """The product calls of every period, then the raw-table queries they are judged against."""
    from django.test import Client

    assert size.cast is not None and size.now is not None
    cast, now = size.cast, size.now
    from django.contrib.auth import get_user_model

    staff = Client()
    staff.force_login(get_user_model().objects.get(username="bench"))
    partner = Client(HTTP_AUTHORIZATION=f"Bearer {cast.live_key}")

    def page(client: Any, path: str, params: dict[str, str]) -> Callable[[], Any]:
        def run() -> Any:
            response = client.get(path, params)
            if response.status_code != 200:
                raise common.BenchError(f"GET {path} {params} answered {response.status_code}")
            return response.content

        return run

    calls: list[Call] = []
    raws: list[Call] = []
    for period in PERIODS:
        first_day, last_day = period_days(now, period)
        start, end = (
            datetime.combine(first_day, datetime.min.time(), tzinfo=UTC),
            datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
        )
        span = {"range": f"{period}d"}
        stats = {
            "start_time": start.isoformat().replace("+00:00", "Z"),
            "end_time": end.isoformat().replace("+00:00", "Z"),
            "group_by": "day",
        }
        calls += [
            Call(
                f"overview:{period}",
                "overview page",
                page(staff, "/dashboard/", span),
                "call",
                f"raw:all:{period}",
            ),
            Call(
                f"partner:{period}",
                "partner page",
                page(staff, f"/dashboard/partners/{cast.slug}/", span),
                "call",
                f"raw:one:{period}",
            ),
            Call(
                f"load:{period}",
                "load page",
                page(staff, "/dashboard/load/", span),
                "call",
                "raw:load",
            ),
            Call(
                f"stats:{period}",
                "GET /v1/events/stats",
                page(partner, "/v1/events/stats", stats),
                "call",
                f"raw:one:{period}",
            ),
        ]
        for scope, partner_id in (("all", None), ("one", cast.partners[0][0])):
            sql, params = old_query(start, end, partner_id=partner_id)
            raws.append(
                Call(
                    f"raw:{scope}:{period}",
                    f"per day, {'all partners' if partner_id is None else 'one partner'}",
                    functools.partial(run_sql, sql, params),
                    "raw",
                )
            )
    load_start, load_end = load_window(now)
    sql, params = old_query(load_start, load_end, load=True)
    raws.append(
        Call(
            "raw:load",
            f"per UTC hour x priority helpline, {LOAD_DAYS} days",
            functools.partial(run_sql, sql, params),
            "raw",
        )
    )
    return calls + raws


def measure_all(sizes: list[Size], repeat: int) -> None:
    """A warm-up round of the product calls (also counting their queries), then `repeat`
    rounds in which every call of every size runs once, the sizes one after another."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    in_database = [0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_database[0] += time.perf_counter() - began

    for number in range(repeat + 1):
        began = time.perf_counter()
        for size in sizes:
            use_database(size)
            for one in size.calls:
                if number == 0:
                    if one.kind == "raw":  # seconds each at 10M; they need no warming
                        continue
                    with CaptureQueriesContext(connection) as captured:
                        one.result = one.run()
                    one.queries = len(captured.captured_queries)
                    continue
                in_database[0] = 0.0
                with connection.execute_wrapper(timed):
                    started = time.perf_counter()
                    result = one.run()
                    one.times.append(time.perf_counter() - started)
                one.sql_times.append(in_database[0])
                if one.result is None:
                    one.result = result
        what = "warm-up" if number == 0 else f"round {number}/{repeat}"
        print(f"  {what}: {time.perf_counter() - began:.1f} s", flush=True)


# --- correctness -------------------------------------------------------------------------


def checks(size: Size) -> list[tuple[str, bool]]:
    """The product's figures against independent SQL on the raw events of the same rows.

    The raw-table queries timed as ceilings are themselves such SQL: each product figure
    behind a timed call is compared with their rows.
    """
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.db.models import Sum

    from events.metrics import Dimension, EventFilter, hourly_clicks, metric_rows
    from events.models import KeyDay

    assert size.cast is not None and size.now is not None
    cast, now = size.cast, size.now
    utc = ZoneInfo("UTC")
    results: list[tuple[str, bool]] = []
    expected = size.written or size.n + size.extra
    results.append(
        (f"rows stored = rows written ({size.counted:,} = {expected:,})", size.counted == expected)
    )
    (orphans,) = run_sql(
        "SELECT count(*) FROM events_event e "
        "LEFT JOIN helplines_partnerapikey k ON k.prefix = e.api_key_prefix "
        "AND k.partner_id = e.partner_id AND k.is_test = e.is_test "
        "LEFT JOIN helplines_helpline h ON h.id = e.helpline_id "
        "WHERE k.prefix IS NULL OR h.id IS NULL",
        [],
    )[0]
    results.append(
        (
            f"every event's key (its partner's, same test flag) and helpline exist ({orphans} not)",
            orphans == 0,
        )
    )

    def figures(row: Any) -> tuple[int, ...]:
        m = row.metrics
        return (
            m.displays,
            *(m.clicks_by_method[method] for method in CONTACT_METHODS),
            m.sessions_reached,
            m.sessions_converted,
        )

    for period in PERIODS:
        first_day, last_day = period_days(now, period)
        for scope, partner_ids in (("all", frozenset()), ("one", frozenset({cast.partners[0][0]}))):
            raw = {
                row[0]: tuple(int(v) for v in row[1:])
                for row in size.call(f"raw:{scope}:{period}").result
            }
            product = {
                row.day: figures(row)
                for row in metric_rows(
                    EventFilter.for_days(first_day, last_day, utc, partner_ids=partner_ids),
                    [Dimension.DAY],
                    utc,
                )
            }
            who = "all partners" if scope == "all" else "one partner"
            results.append(
                (
                    f"{period} days, {who}: metric_rows(DAY) = the raw two-level query, every "
                    f"day's displays, clicks per method, sessions reached and converted "
                    f"({len(raw)} days, {sum(r[0] for r in raw.values()):,} displays)",
                    product == raw,
                )
            )
        # The stats API's answer (kept from the timed calls) against the same raw rows.
        answer = json.loads(size.call(f"stats:{period}").result)
        raw_one = size.call(f"raw:one:{period}").result
        api_days = {
            date.fromisoformat(row["day"]): (
                row["displays"],
                row["clicks"],
                row["sessions_reached"],
                row["sessions_converted"],
            )
            for row in answer["rows"]
            if row["displays"] or row["clicks"]
        }
        raw_days = {
            row[0]: (int(row[1]), sum(int(v) for v in row[2:-2]), int(row[-2]), int(row[-1]))
            for row in raw_one
        }
        totals = answer["totals"]
        sums = [sum(day[i] for day in raw_days.values()) for i in range(4)]
        results.append(
            (
                f"GET /v1/events/stats, {period} days: every day's displays, clicks, sessions "
                f"reached and converted, and the totals ({totals['displays']:,} displays, "
                f"{totals['sessions_reached']:,} sessions) = the raw two-level query",
                api_days == raw_days
                and [
                    totals["displays"],
                    totals["clicks"],
                    totals["sessions_reached"],
                    totals["sessions_converted"],
                ]
                == sums,
            )
        )
    # The load page's figures: displays and clicks per UTC hour and priority helpline.
    load_start, load_end = load_window(now)
    raw_load = {
        (row[1].replace(tzinfo=UTC), row[3]): (int(row[6]), sum(int(v) for v in row[7:-2]))
        for row in size.call("raw:load").result
    }
    product_load = {
        (row.hour.astimezone(UTC), row.helpline.id): (row.metrics.displays, row.metrics.clicks)
        for row in metric_rows(
            EventFilter(start=load_start, end=load_end, priority_only=True),
            [Dimension.HOUR, Dimension.HELPLINE],
            utc,
        )
        if row.hour is not None and row.helpline is not None
    }
    results.append(
        (
            f"load page's {LOAD_DAYS} days: displays and clicks per UTC hour and priority "
            f"helpline ({len(raw_load):,} groups) = the raw two-level query",
            product_load == raw_load,
        )
    )
    # What the load page draws: its clicks per hour and helpline, from HourClicks.
    drawn = hourly_clicks({helpline for _, helpline in raw_load}, load_start, load_end)
    results.append(
        (
            f"load page's {LOAD_DAYS} days: hourly_clicks (HourClicks) = the raw query's clicks "
            f"per UTC hour and priority helpline ({len(drawn):,} hours with clicks)",
            drawn
            == {
                (helpline, hour): clicks
                for (hour, helpline), (_, clicks) in raw_load.items()
                if clicks
            },
        )
    )
    # Days of another zone (New York) and sessions per country: other aggregate rows.
    day = now.date() - timedelta(days=20)
    new_york = ZoneInfo("America/New_York")
    ny_filter = EventFilter.for_days(day, day, new_york)
    (ny_row,) = metric_rows(ny_filter, [Dimension.DAY], new_york)
    reached, converted = run_sql(
        "WITH per AS (SELECT partner_id, session_id, helpline_id, "
        "bool_or(type = 'helpline_display') AS d, bool_or(type = 'helpline_click') AS c "
        "FROM events_event WHERE NOT is_test AND timestamp >= %s AND timestamp < %s "
        "GROUP BY 1, 2, 3) SELECT count(DISTINCT (partner_id, session_id)) FILTER (WHERE d), "
        "count(DISTINCT (partner_id, session_id)) FILTER (WHERE d AND c) FROM per",
        [ny_filter.start, ny_filter.end],
    )[0]
    results.append(
        (
            f"{day} in America/New_York: sessions reached {ny_row.metrics.sessions_reached:,} "
            f"and converted {ny_row.metrics.sessions_converted:,} = raw COUNT(DISTINCT) "
            f"({reached:,}, {converted:,})",
            (ny_row.metrics.sessions_reached, ny_row.metrics.sessions_converted)
            == (reached, converted),
        )
    )
    utc_filter = EventFilter.for_days(day, day, utc)
    by_country = {
        row.country: row.metrics.sessions_reached
        for row in metric_rows(utc_filter, [Dimension.COUNTRY], utc)
    }
    raw_country = dict(
        run_sql(
            "SELECT h.country_code, count(DISTINCT (e.partner_id, e.session_id)) "
            "FROM events_event e JOIN helplines_helpline h ON h.id = e.helpline_id "
            "WHERE NOT e.is_test AND e.type = 'helpline_display' "
            "AND e.timestamp >= %s AND e.timestamp < %s GROUP BY 1",
            [utc_filter.start, utc_filter.end],
        )
    )
    results.append(
        (
            f"{day} (UTC): sessions reached per country = raw COUNT(DISTINCT) per country "
            f"({len(raw_country)} countries)",
            by_country == raw_country,
        )
    )
    # KeyDay (key usage, last event received) holds every stored event.
    key_days = dict(
        KeyDay.objects.values_list("api_key_prefix").annotate(n=Sum("events")).order_by()
    )
    raw_keys = dict(run_sql("SELECT api_key_prefix, count(*) FROM events_event GROUP BY 1", []))
    results.append(
        (
            f"events per API key in KeyDay = raw count per key ({sum(raw_keys.values()):,})",
            key_days == raw_keys,
        )
    )
    connection.close()
    return results


# --- the report --------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _spread(one: Call) -> str:
    return f"{_ms(one.median)} ({_ms(min(one.times))}-{_ms(max(one.times))})"


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 1024 / 1024:,.1f} MB"


def verdicts(sizes: list[Size]) -> list[tuple[str, str, float, bool]]:
    """(call, target, ratio, passed) for every product call."""
    small, large = sizes[0], sizes[-1]
    out = []
    for one in large.calls:
        if one.kind != "call":
            continue
        name = f"{one.label}, {one.key.split(':')[1]} days"
        if len(sizes) > 1:
            flat = one.median / small.call(one.key).median
            out.append(
                (name, f"{large.label} / {small.label} <= {FLAT_LIMIT:g}", flat, flat <= FLAT_LIMIT)
            )
        raw = one.median / large.call(one.ceiling).median
        out.append(
            (name, f"/ raw query <= {RAW_LIMIT:.0%} at {large.label}", raw, raw <= RAW_LIMIT)
        )
    return out


def report(
    *,
    header: common.Header,
    repeat: int,
    sizes: list[Size],
    settings_note: str,
    tree_note: str,
) -> str:
    all_ok = all(passed for size in sizes for _, passed in size.results)
    judged = verdicts(sizes)
    missed = sum(1 for *_, passed in judged if not passed)
    small, large = sizes[0], sizes[-1]
    labels = " and ".join(f"{size.n:,}" for size in sizes)
    status = ("all checks passed" if all_ok else "CHECK FAILED") + (
        f", all {len(judged)} targets met"
        if not missed
        else f", {missed} of {len(judged)} targets MISSED"
    )
    lines = [
        *header.lines(
            f"query benchmark (aggregates), {labels} events — {status}", commit_note=tree_note
        ),
        f"- Data per size: N events over {DAYS_OF_DATA} days, {len(PARTNERS)} partners "
        f"({', '.join(f'{share:.0%}' for _, share in PARTNERS)} of traffic), "
        f"{sum(c for _, c, _, _ in COUNTRIES)} helplines in {len(COUNTRIES)} countries; "
        f"sessions of 1-3 displays, ~10% clicks, {TEST_SESSION_SHARE:.0%} test-key sessions; "
        f"binary COPY, then the aggregates built by `events.rollup.rebuild()` over the whole "
        f"range, then one more day of events (N/{DAYS_OF_DATA}) rolled up by `roll_up()`. "
        f"Session figures kept for the product's default METRICS_TIME_ZONES.",
        f"- Timing: Django's test Client in-process (pages logged in as a superuser; the "
        f"stats API with the largest partner's live key, `group_by=day`, whole UTC days). "
        f"One warm-up round, then {repeat} timed round(s) in which every call runs once on each "
        f"size's database in turn; medians (min-max). {settings_note}",
        *(
            [
                f"- The targets are set for 10,000,000 events; this run's largest size is "
                f"{large.n:,}. The raw-table queries grow with the rows they read and the "
                f"aggregates much less, so '/ raw' at a smaller size overstates it at 10M.",
            ]
            if large.n < 10_000_000
            else []
        ),
        "",
        "### Targets",
        "",
        f"Per call: at {large.label} at most {FLAT_LIMIT:g}x the same call at {small.label} "
        f"(flat in data size), and at most {RAW_LIMIT:.0%} of the raw-table query it replaced "
        f"at {large.label}, measured in the same rounds.",
        "",
        "| Call | Period | Queries | "
        + " | ".join(f"{size.label} ms" for size in sizes)
        + f" | {large.label} / {small.label} | Raw query at {large.label} ms | / raw "
        f"| Verdict | of which SQL at {large.label} ms | SQL / raw |",
        "|---|---:|---:|" + "---:|" * len(sizes) + "---:|---:|---:|---|---:|---:|",
    ]
    for one in large.calls:
        if one.kind != "call":
            continue
        period = one.key.split(":")[1]
        flat = one.median / small.call(one.key).median if len(sizes) > 1 else None
        raw_call = large.call(one.ceiling)
        raw = one.median / raw_call.median
        flat_ok = flat is None or flat <= FLAT_LIMIT
        raw_ok = raw <= RAW_LIMIT
        verdict = []
        if flat is not None:
            verdict.append("flat PASS" if flat_ok else "flat FAIL")
        verdict.append("raw PASS" if raw_ok else "raw FAIL")
        lines.append(
            f"| {one.label} | {period} d | {one.queries} | "
            + " | ".join(_spread(size.call(one.key)) for size in sizes)
            + f" | {'—' if flat is None else f'{flat:.2f}'} | {_ms(raw_call.median)} "
            f"({raw_call.key.split(':', 1)[1]}) | {raw:.4f} | **{', '.join(verdict)}** | "
            f"{_ms(statistics.median(one.sql_times))} | "
            f"{statistics.median(one.sql_times) / raw_call.median:.4f} |"
        )
    lines += [
        "",
        "Raw-table queries (the ceilings; the two-level GROUP BY / COUNT DISTINCT on "
        "events_event that events/metrics.py ran before the aggregates; live traffic):",
        "",
        "| Query | Period | " + " | ".join(f"{size.label} ms" for size in sizes) + " | Rows out |",
        "|---|---:|" + "---:|" * len(sizes) + "---:|",
    ]
    for one in large.calls:
        if one.kind != "raw":
            continue
        period = one.key.split(":")[2] if one.key.count(":") == 2 else str(LOAD_DAYS)
        lines.append(
            f"| {one.key.split(':')[1]}: {one.label} | {period} d | "
            + " | ".join(_spread(size.call(one.key)) for size in sizes)
            + f" | {len(one.result):,} |"
        )
    lines += [
        "",
        "Each call is judged against one raw query of its scope: the overview against the "
        "all-partner per-day query, the partner page and the stats API against the "
        "one-partner per-day query, the load page against the per-hour priority-helpline "
        "query (the load page always covers the last 7 days: its `range` does not change "
        "it). The pages ran 3-4 such queries before the aggregates and the stats API 2, so "
        'one is the strict end of the comparison. "Of which SQL" is the time spent inside '
        "the call's database statements (the rest is Python: forms, metrics rows, templates "
        "and charts); SQL / raw is for reading only, the verdicts judge the whole call.",
        "",
        "### Building and maintaining the aggregates",
        "",
        "| Size | COPY load (+ indexes, VACUUM ANALYZE) | rebuild() whole range | "
        "first roll_up() after it | extra day: events | roll_up() of the extra day |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        if "rebuild" not in size.builds:  # --reuse: built by an earlier run
            extra = size.builds["extra"]
            lines.append(
                f"| {size.label} | built by an earlier run (`--reuse`) | — | — | "
                f"{size.extra:,} | {extra.seconds:,.2f} s ({extra.events:,} events, "
                f"{extra.windows:,} windows) |"
            )
            continue
        rebuild, first, extra = (size.builds[k] for k in ("rebuild", "first", "extra"))
        lines.append(
            f"| {size.label} | {size.load_seconds:,.1f} s | {rebuild.seconds:,.1f} s "
            f"({rebuild.events:,} events, {rebuild.windows:,} day windows; "
            f"{size.n / rebuild.seconds:,.0f} events/s) | {first.seconds:,.2f} s "
            f"({first.months_closed} billing months closed) | {size.extra:,} | "
            f"{extra.seconds:,.2f} s ({extra.events:,} events, {extra.windows:,} windows) |"
        )
    lines += [
        "",
        "Where the time went (SQL statements by kind, total seconds and count; in rebuild(), "
        "catch-up is the incremental path adding the events its mark did not cover yet, "
        "recompute is the deletion and recomputation of the range):",
        "",
    ]
    for size in sizes:
        for key, title in (("rebuild", "rebuild()"), ("extra", "roll_up() of the extra day")):
            if key not in size.builds:
                continue
            build = size.builds[key]
            top = "; ".join(f"{what} {s:,.1f} s x{n}" for what, n, s in build.statements[:8])
            phases = ""
            if key == "rebuild":
                totals: dict[str, float] = {}
                for what, _, spent in build.statements:
                    totals[what.split(":")[0]] = totals.get(what.split(":")[0], 0.0) + spent
                phases = " [" + ", ".join(f"{k} {v:,.1f} s" for k, v in totals.items()) + "]"
            lines.append(f"- {size.label}, {title} ({build.seconds:,.1f} s{phases}): {top}")
    lines += [
        "",
        "### Storage (pg_total_relation_size: heap, indexes, TOAST)",
        "",
        "| Size | events_event | "
        + " | ".join(table.removeprefix("events_") for table in AGGREGATE_TABLES)
        + " | aggregates / raw |",
        "|---|---:|" + "---:|" * len(AGGREGATE_TABLES) + "---:|",
    ]
    for size in sizes:
        raw_table = size.tables[0]
        aggregate = sum(total for _, _, total in size.tables[1:])
        lines.append(
            f"| {size.label} | {_mb(raw_table[2])} ({raw_table[1]:,} rows) | "
            + " | ".join(f"{_mb(total)} ({rows:,} rows)" for _, rows, total in size.tables[1:])
            + f" | {_mb(aggregate)} = **{aggregate / raw_table[2]:.3f}** |"
        )
    lines += ["", "### Checks", ""]
    for size in sizes:
        lines += [
            f"- {'ok' if ok else 'FAILED'} ({size.label}): {label}" for label, ok in size.results
        ]
    lines += ["", "### Verdicts", ""]
    lines += [
        f"- {'PASS' if passed else 'FAIL'}: {name}: {target} ({ratio:.3f})"
        for name, target, ratio, passed in judged
    ]
    lines.append("")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 10_000:
        raise argparse.ArgumentTypeError("sizes are event counts of at least 10,000")
    return sizes


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = common.argument_parser(__doc__)
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="comma-separated event counts, one database each (100000,10000000); the "
        "smallest and the largest are compared",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the databases an earlier --keep run built, when they hold the size's "
        "events (no rebuild; the schema is migrated)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds after warm-up (3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated events (1)")
    common.add_no_record_option(parser)
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases (dropped at the end otherwise)"
    )
    return parser.parse_args(argv)


def working_tree_note() -> str:
    """Uncommitted changes to the product's files, which the commit alone would not show."""
    status = common.git("status", "--porcelain", "--untracked-files=no").split("\n")
    # RESULTS.md grows with every run; it is not what was measured.
    changed = [line[3:] for line in status if line.strip() and line[3:] != "bench/RESULTS.md"]
    if not changed:
        return ""
    return f" (working tree differs in: {', '.join(changed)})"


def add_a_day(size: Size, *, seed: int, first_session: int) -> None:
    """One more day of traffic: new sessions over the 24 hours before `size.now`, committed
    after the aggregates were built, then one roll_up() as the scheduler would run it; then
    the storage, the events counted and the calls to time."""
    from events.rollup import roll_up

    assert size.cast is not None and size.now is not None
    now = size.now
    size.extra = size.n // DAYS_OF_DATA
    yesterday = now - timedelta(days=1)
    extra = generate_events(
        size.cast,
        size.extra,
        origin=yesterday.replace(hour=0, minute=0, second=0, microsecond=0),
        since=yesterday - timedelta(minutes=5),
        until=now - timedelta(minutes=5),
        seed=seed,
        first_session=first_session,
    )
    copy_events(size.url, extra, bulk=False)
    report, seconds, statements = profiled(roll_up)
    size.builds["extra"] = Build(
        seconds, report.events, report.windows, report.months_closed, statements
    )
    print(f"[{size.label}]   extra day of {size.extra:,} events rolled up in {seconds:.2f} s")
    vacuum_aggregates(size.url)
    size.tables = storage(size.url)
    size.counted = size.tables[0][1]
    use_database(size)
    size.calls = build_calls(size)


def adopt(size: Size, seed: int) -> bool:
    """`--reuse`: time a database that an earlier run built and kept (`--keep`) as it is,
    when it holds this size's events; False when it does not (it is then built anew).

    The schema is migrated (a new index applies), the partners, keys and helplines are read
    back, a new live key is issued for the stats API (a raw key is shown only once), and one
    more day of traffic is rolled up as in a full run. The whole-range `rebuild()` is not
    run again: the section of the run that built the database has it.
    """
    import psycopg
    from django.core.management import call_command

    from helplines.models import Helpline, Partner, PartnerAPIKey
    from helplines.services import issue_key

    try:
        with psycopg.connect(size.url, autocommit=True) as conn:
            row = conn.execute("SELECT COUNT(*) FROM events_event").fetchone()
    except psycopg.Error:
        return False
    if row is None or not size.n <= row[0] < size.n * 1.2:
        return False
    print(f"[{size.label}] reusing {size.database} ({row[0]:,} events)", flush=True)
    size.written = row[0] + size.n // DAYS_OF_DATA
    use_database(size)
    call_command("migrate", interactive=False, verbosity=0)
    # In the order they were created: the largest partner first.
    partners = list(Partner.objects.filter(name__in=[name for name, _ in PARTNERS]).order_by("pk"))
    keys: dict[tuple[int, bool], str] = {}
    for key in PartnerAPIKey.objects.order_by("pk"):
        keys.setdefault((key.partner_id, key.is_test), key.prefix)
    helplines: dict[str, list[int]] = {}
    for helpline in Helpline.objects.filter(public_id__startswith="bench-").order_by("pk"):
        helplines.setdefault(helpline.country_code, []).append(helpline.pk)
    priority = list(
        Helpline.objects.filter(public_id__startswith="bench-", is_priority=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _key, raw = issue_key(partner=partners[0], name=f"bench reuse {seed}", is_test=False)
    size.cast = Cast(
        [(p.pk, keys[(p.pk, False)], keys[(p.pk, True)]) for p in partners],
        helplines,
        priority,
        slug=partners[0].slug,
        live_key=raw,
    )
    now = size.now = datetime.now(UTC)
    add_a_day(
        size,
        seed=seed + int(now.timestamp()),
        first_session=EXTRA_SESSIONS * 2 + int(now.timestamp()) * 1_000_000,
    )
    return True


def prepare(size: Size, seed: int) -> None:
    """Data, aggregates, extra day, storage and checks of one size, in its own database."""
    from events.partitions import ensure_partitions
    from events.rollup import rebuild, roll_up

    print(f"[{size.label}] preparing {size.database} (create, migrate, seed)", flush=True)
    common.drop_database(size.url)  # a fresh schema: a database kept from an older run may lag it
    common.ensure_database(size.url)
    use_database(size)
    size.cast = prepare_product_data()
    now = size.now = datetime.now(UTC)
    origin = (now - timedelta(days=DAYS_OF_DATA)).replace(hour=0, minute=0, second=0, microsecond=0)
    # Every month of the data has its partition, as in a database that has been running
    # since (create_event_partitions creates them ahead of time); without them the older
    # months would all land in the default partition, where nothing is pruned.
    ensure_partitions(first=origin, last=now)
    print(f"[{size.label}] loading {size.n:,} events by binary COPY", flush=True)
    rows = generate_events(
        size.cast, size.n, origin=origin, since=origin, until=now - timedelta(minutes=5), seed=seed
    )
    size.load_seconds = copy_events(size.url, rows, bulk=True)
    print(f"[{size.label}]   loaded in {size.load_seconds:.1f} s; rebuild()...", flush=True)
    use_database(size)
    report, seconds, statements = profiled(
        lambda: rebuild(origin.date(), now.date()), phases=("catch-up", "recompute")
    )
    size.builds["rebuild"] = Build(seconds, report.events, report.windows, 0, statements)
    print(f"[{size.label}]   rebuild() took {seconds:.1f} s; first roll_up()...", flush=True)
    report, seconds, statements = profiled(roll_up)
    size.builds["first"] = Build(
        seconds, report.events, report.windows, report.months_closed, statements
    )
    add_a_day(size, seed=seed + 1, first_session=EXTRA_SESSIONS)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    loads_start = common.load_average()
    url = common.postgres_url(DEFAULT_DATABASE_URL)
    parts = urlsplit(url)
    base = parts.path.lstrip("/")
    sizes = [
        Size(
            n=n,
            database=f"{base}_{size_label(n).lower()}",
            url=urlunsplit(parts._replace(path=f"/{base}_{size_label(n).lower()}")),
        )
        for n in args.sizes
    ]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": sizes[0].url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "LOG_LEVEL": "WARNING",
            # Django's test Client calls itself "testserver", over plain HTTP.
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "EVENTS_RATE_LIMIT": "100000000/s",
            # The pages are timed, not the sign-in: the bench's staff user has no second
            # factor (production requires one; docs/decisions.md).
            "STAFF_REQUIRE_2FA": "false",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    # DEBUG=false serves static URLs from collectstatic's manifest, which a checkout does
    # not have: the pages name their static files the DEBUG way instead (same cost).
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }

    try:
        for size in sizes:
            if not (args.reuse and adopt(size, args.seed)):
                prepare(size, args.seed)
        use_database(sizes[0])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('jit'), "
                "current_setting('max_parallel_workers_per_gather'), "
                "current_setting('work_mem'), current_setting('shared_buffers')"
            )
            jit, parallel, work_mem, shared = cursor.fetchone()
        settings_note = (
            f"PostgreSQL as installed: jit={jit}, max_parallel_workers_per_gather={parallel}, "
            f"work_mem={work_mem}, shared_buffers={shared}."
        )
        print("Timing (sizes interleaved in every round)", flush=True)
        measure_all(sizes, args.repeat)
        for size in sizes:
            print(f"[{size.label}] checks", flush=True)
            use_database(size)
            size.results = checks(size)
        section = report(
            header=common.Header.at_end(
                started=started,
                command=common.command_line(argv),
                url=sizes[0].url,
                load_at_start=loads_start,
            ),
            repeat=args.repeat,
            sizes=sizes,
            settings_note=settings_note,
            tree_note=working_tree_note(),
        )
    finally:
        connection.close()
        if not args.keep:
            for size in sizes:
                common.drop_database(size.url)
    common.publish(section, record=not args.no_record)
    if not all(passed for size in sizes for _, passed in size.results):
        return 1
    return 0 if all(passed for *_, passed in verdicts(sizes)) else 3


if __name__ == "__main__":
    common.run_script(main)
