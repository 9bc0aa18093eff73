"""The export benchmark, in one command: `.venv/bin/python bench/export.py` (see bench/README.md).

On PostgreSQL (the database `<DATABASE_URL's name>_export`, created for the run and dropped
at its end) it loads N events (1,000,000) with one INSERT ... SELECT generate_series, serves
the product with gunicorn (DEBUG=false, bench/settings.py) and, logged in as staff over
HTTP, downloads `events.csv` for every live event loaded. Each download is read as a ratio
to `COPY (SELECT the same columns and rows ORDER BY timestamp, id) TO STDOUT WITH CSV` run
by psql just before and just after it; the RSS of the gunicorn worker serving it is sampled
throughout. Then single-event ingest (wrk, bench/load.lua) is measured alone, while the
same downloads run back to back, and, for reference, while psql's COPY runs back to back.
Every file is checked row for row against the database and byte for byte against the
Python rows (`dashboard.exports.event_rows`). The figures are appended to bench/RESULTS.md.
Exit status: 0 every check and target passed, 1 a correctness check failed, 2 the run could
not go on, 3 a target was missed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import itertools
import re
import secrets
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import common  # noqa: E402  (the path above makes `bench` importable as a script)
from bench.run import Load, run_wrk  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/throughline_xbench"
DEFAULT_EVENTS = 1_000_000
# The export's time zone: not UTC, so that every timestamp is converted.
EXPORT_ZONE = "Europe/Paris"
# The events loaded cover these calendar days, ending this many days ago: the ingest load
# stamps its events within the last day, outside the exported range.
DATA_DAYS = 20
DATA_ENDS_DAYS_AGO = 3
PARTNERS = ("Bench Search", "Bench Social", "Bench Forum")
HELPLINES = 20
# One helpline id a spreadsheet could misread: quotes and a comma make its cells quoted,
# so every chunk of the file takes the quoted-cell path of the line-end conversion.
ODD_HELPLINE_ID = 'bench "20", quoted'
TEST_TRAFFIC_EVERY = 50  # one event in 50 is test traffic, which the export leaves out

TARGET_RATIO = 0.5  # events.csv rows/s over psql's COPY rows/s
TARGET_GROWTH_MB = 20.0  # the serving worker's RSS growth over one download
TARGET_INGEST = 0.8  # ingest req/s while exports run, over ingest alone

# Measured on main at 270a202, when events.csv used the ORM iterator + csv.writer
# (bench/README.md, "Prototype figures").
BEFORE_COPY = (
    "638k rows at 15.6k rows/s, worker +3 MB; COPY 196k rows/s: 0.08 of COPY (main at 270a202)"
)


# --- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    """What the product's own code created: the load's key, its helplines, a staff login."""

    raw_key: str
    helplines: list[str]
    username: str
    password: str


@dataclass(frozen=True)
class Period:
    """The exported days, in EXPORT_ZONE, and their [start, end) in UTC."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def params(self) -> dict[str, str]:
        return {
            "start": self.first_day.isoformat(),
            "end": self.last_day.isoformat(),
            "tz": EXPORT_ZONE,
        }


def database_url(base: str) -> str:
    """The run's own database: the base name with `_export`, never the base itself."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_export"))


def prepare_product_data() -> Cast:
    """Migrate, empty every table; partners with a live and a test key, helplines, staff."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from helplines.models import Helpline
    from helplines.services import create_partner, issue_key

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    raw_keys = []
    for name in PARTNERS:
        partner, raw_key = create_partner(name=name)
        issue_key(partner=partner, name="staging", is_test=True)
        raw_keys.append(raw_key)
    public_ids = [f"bench-line-{number:02}" for number in range(1, HELPLINES)]
    for public_id in [*public_ids, ODD_HELPLINE_ID]:
        helpline = Helpline(
            public_id=public_id, name=f"Line {public_id}", country_code="GB", phone_number="116"
        )
        helpline.full_clean()
        helpline.save()
    password = secrets.token_urlsafe(16)
    User.objects.create_superuser("bench-staff", "bench@example.org", password)
    return Cast(
        raw_key=raw_keys[0], helplines=public_ids, username="bench-staff", password=password
    )


def export_period(now: datetime) -> Period:
    from zoneinfo import ZoneInfo

    from events.metrics import EventFilter

    last_day = (now - timedelta(days=DATA_ENDS_DAYS_AGO)).astimezone(ZoneInfo(EXPORT_ZONE)).date()
    first_day = last_day - timedelta(days=DATA_DAYS - 1)
    bounds = EventFilter.for_days(first_day, last_day, ZoneInfo(EXPORT_ZONE))
    return Period(first_day=first_day, last_day=last_day, start=bounds.start, end=bounds.end)


def load_events(url: str, n: int, period: Period) -> float:
    """N events spread evenly over the period, by INSERT ... SELECT generate_series.

    Displays and one click in ten (with a contact method), one event in
    TEST_TRAFFIC_EVERY on a test key; a session id in 20 starts with "-" (a formula
    trigger, written with an apostrophe), four timestamps in five carry microseconds,
    received_at 0.05-3 s later, one helpline in HELPLINES is ODD_HELPLINE_ID. The plain
    indexes are dropped and rebuilt from their definitions around the insert (several
    times faster); the primary key and the identity constraint stay. Foreign-key
    triggers are skipped for the insert (every id comes from rows the product just
    created); `dangling_references` checks them afterwards. Returns the seconds it took,
    VACUUM ANALYZE included.
    """
    import psycopg

    from events.metrics import CONTACT_METHODS

    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        partners = conn.execute(
            "SELECT p.id, live.prefix, test.prefix FROM helplines_partner p "
            "JOIN helplines_partnerapikey live ON live.partner_id = p.id AND NOT live.is_test "
            "JOIN helplines_partnerapikey test ON test.partner_id = p.id AND test.is_test "
            "ORDER BY p.id"
        ).fetchall()
        helplines = [row[0] for row in conn.execute("SELECT id FROM helplines_helpline")]
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events_event' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'events_event'::regclass)"
        ).fetchall()
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        span = period.end - period.start - timedelta(hours=2)
        conn.execute(
            """
            INSERT INTO events_event (type, partner_id, api_key_prefix, is_test, helpline_id,
                session_id, "timestamp", contact_method, received_at)
            SELECT CASE WHEN n %% 10 = 0 THEN 'helpline_click' ELSE 'helpline_display' END,
                (%(partners)s::bigint[])[1 + n %% %(partner_count)s],
                CASE WHEN n %% %(test_every)s = 1
                    THEN (%(test_keys)s::text[])[1 + n %% %(partner_count)s]
                    ELSE (%(live_keys)s::text[])[1 + n %% %(partner_count)s] END,
                n %% %(test_every)s = 1,
                (%(helplines)s::bigint[])[1 + (n / 3) %% %(helpline_count)s],
                CASE WHEN n %% 20 = 7 THEN '-' ELSE 's' END || md5(n::text),
                at,
                CASE WHEN n %% 10 = 0
                    THEN (%(methods)s::text[])[1 + (n / 10) %% %(method_count)s] ELSE '' END,
                at + (50 + n * 37 %% 2950) * interval '1 millisecond'
            FROM generate_series(1, %(n)s::bigint) AS n
            CROSS JOIN LATERAL (
                SELECT %(first)s + (n - 1) * %(step)s
                    + CASE WHEN n %% 5 = 0 THEN interval '0'
                        ELSE n * 7919 %% 1000000 * interval '1 microsecond' END AS at
            ) AS stamp
            """,
            {
                "partners": [row[0] for row in partners],
                "live_keys": [row[1] for row in partners],
                "test_keys": [row[2] for row in partners],
                "partner_count": len(partners),
                "test_every": TEST_TRAFFIC_EVERY,
                "helplines": helplines,
                "helpline_count": len(helplines),
                "methods": list(CONTACT_METHODS),
                "method_count": len(CONTACT_METHODS),
                "n": n,
                "first": period.start + timedelta(hours=1),
                "step": span / n,
            },
        )
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events_event")
    return time.perf_counter() - started


# --- what is measured --------------------------------------------------------------------


def ceiling_sql(period: Period) -> str:
    """The export's columns and rows, as stored, in the export's order."""
    return (
        "SELECT e.id, e.type, p.slug, h.public_id, e.session_id, e.timestamp, "
        "e.contact_method, e.received_at FROM events_event e "
        "JOIN helplines_partner p ON p.id = e.partner_id "
        "JOIN helplines_helpline h ON h.id = e.helpline_id "
        f"WHERE e.timestamp >= '{period.start.isoformat()}' "
        f"AND e.timestamp < '{period.end.isoformat()}' AND NOT e.is_test "
        "ORDER BY e.timestamp, e.id"
    )


@dataclass
class Ceiling:
    client: str  # "psql" or "psycopg"
    rows: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds


def psql_copy(url: str, period: Period, rows: int) -> Ceiling:
    """`COPY (...) TO STDOUT WITH CSV` by psql, its output thrown away."""
    started = time.perf_counter()
    subprocess.run(
        ["psql", url, "-X", "-q", "-c", f"COPY ({ceiling_sql(period)}) TO STDOUT WITH CSV"],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return Ceiling("psql", rows, time.perf_counter() - started)


def psycopg_copy(url: str, period: Period) -> Ceiling:
    """The same COPY read row by row through psycopg, the product's driver."""
    import psycopg

    rows = 0
    started = time.perf_counter()
    with (
        psycopg.connect(url, autocommit=True) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY ({ceiling_sql(period)}) TO STDOUT WITH CSV") as copy,
    ):
        for _ in copy:
            rows += 1
    return Ceiling("psycopg", rows, time.perf_counter() - started)


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{master}$", status, re.M):
            pids.append(int(entry.name))
    return sorted(pids)


def rss_kb(pid: int) -> int | None:
    try:
        match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


class WorkerWatch:
    """Samples every gunicorn worker's VmRSS while a download runs; the worker that used
    the most CPU meanwhile is the one that served it."""

    INTERVAL = 0.01

    def __init__(self, master: int) -> None:
        self.pids = worker_pids(master)
        self.baseline: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self.ticks: dict[int, int] = {}
        self.alive = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> WorkerWatch:
        for pid in self.pids:
            self.baseline[pid] = self.peak[pid] = rss_kb(pid) or 0
            self.ticks[pid] = cpu_ticks(pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid in self.pids:
            self.ticks[pid] = cpu_ticks(pid) - self.ticks[pid]
        # A worker killed by gunicorn's timeout would be replaced under a new pid.
        self.alive = rss_kb(self.serving) is not None

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kb(pid) or 0)

    @property
    def serving(self) -> int:
        return max(self.pids, key=lambda pid: self.ticks[pid])

    @property
    def growth_mb(self) -> float:
        return (self.peak[self.serving] - self.baseline[self.serving]) / 1024


class CsvBody:
    """Reads a CSV export as it streams in: its `#` lines, header, rows and line ends, and
    a SHA-256 of the header row and every row after it (the `#` lines hold the generation
    time, which differs from one file to the next)."""

    def __init__(self) -> None:
        self.size = 0
        self.lines = 0
        self.crlf = 0
        self.metadata: list[str] = []
        self.header = ""
        self._digest = hashlib.sha256()
        self._pending: bytes | None = b""  # until the `#` lines are past
        self._last = b""

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        self.lines += data.count(b"\n")
        self.crlf += data.count(b"\r\n") + (self._last == b"\r" and data[:1] == b"\n")
        self._last = data[-1:]
        if self._pending is None:
            self._digest.update(data)
            return
        self._pending += data
        position = 0
        while self._pending[position : position + 1] == b"#":
            end = self._pending.find(b"\n", position)
            if end < 0:
                return
            position = end + 1
        if position == len(self._pending):
            return  # the first line after the `#` lines has not arrived yet
        self.metadata = self._pending[:position].decode().splitlines()
        self.header = self._pending[position:].split(b"\r\n", 1)[0].decode()
        self._digest.update(self._pending[position:])
        self._pending = None

    @property
    def rows(self) -> int:
        return self.lines - len(self.metadata) - 1

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()

    @property
    def crlf_only(self) -> bool:
        return self.crlf == self.lines and self._last == b"\n"


@dataclass
class Download:
    status: int
    seconds: float
    file: Path
    body: CsvBody = field(default_factory=CsvBody)
    memory: WorkerWatch | None = None
    error: str = ""

    @property
    def rows(self) -> int:
        return self.body.rows

    @property
    def per_second(self) -> float:
        return self.body.rows / self.seconds


def login(server: common.Server, cast: Cast) -> str:
    """Log in by posting the admin's login form, as staff would; returns the Cookie header.

    The login page itself is not fetched: under DEBUG=false it needs collectstatic's
    manifest, which the run does not build. The form carries a CSRF token of the run's
    own making, sent as the cookie too: the double-submit pair Django's CSRF check wants.
    """
    token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    form = {
        "username": cast.username,
        "password": cast.password,
        "csrfmiddlewaretoken": token,
        "next": "/admin/",
    }
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/admin/login/",
            urllib.parse.urlencode(form),
            {"Cookie": f"csrftoken={token}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie") or "")
    if response.status != 302 or session is None:
        raise common.BenchError(f"the staff login failed ({response.status}, no session cookie)")
    return f"sessionid={session.group(1)}"


def download(
    server: common.Server, cookie: str, period: Period, target: Path, *, watch: bool = True
) -> Download:
    """GET /dashboard/export/events.csv with curl into `target`; with `watch`, the gunicorn
    workers' memory is sampled meanwhile. `check_download` reads the file afterwards."""
    url = f"{server.base_url}/dashboard/export/events.csv?{urllib.parse.urlencode(period.params)}"
    command = ["curl", "--silent", "--show-error", "--cookie", cookie, "--output", str(target)]
    memory = WorkerWatch(server.process.pid) if watch and server.process else None
    if memory:
        memory.__enter__()
    started = time.perf_counter()
    try:
        finished = subprocess.run(
            [*command, "--write-out", "%{http_code}", url],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        seconds = time.perf_counter() - started
        if memory:
            memory.__exit__()
    return Download(
        status=int(finished.stdout.strip() or 0),
        seconds=seconds,
        file=target,
        memory=memory,
        error=finished.stderr.strip()
        or (f"curl exit {finished.returncode}" if finished.returncode else ""),
    )


def read_download(one: Download) -> None:
    """Read the downloaded file into `one.body` (its rows, line ends, digest), then delete it."""
    with one.file.open("rb") as downloaded:
        while data := downloaded.read(1 << 20):
            one.body.feed(data)
    one.file.unlink()


def python_rows(period: Period) -> tuple[CsvBody, float]:
    """The file as the Python rows write it (`event_rows`, csv.writer: what SQLite serves),
    in this process, and the seconds it took."""
    from zoneinfo import ZoneInfo

    from dashboard import exports
    from dashboard.query import DashboardQuery

    query = DashboardQuery(
        first_day=period.first_day, last_day=period.last_day, tz=ZoneInfo(EXPORT_ZONE)
    )
    body = CsvBody()
    started = time.perf_counter()
    for chunk in exports.stream_csv(
        title="reference",
        metadata=[],
        header=exports.EVENT_COLUMNS,
        rows=exports.event_rows(query),
        generated_at=datetime.now(UTC),
    ):
        body.feed(chunk.encode())
    return body, time.perf_counter() - started


def live_rows(url: str, period: Period) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events_event WHERE timestamp >= %s AND timestamp < %s "
            "AND NOT is_test",
            [period.start, period.end],
        ).fetchone()
    assert row is not None
    return int(row[0])


def dangling_references(url: str) -> int:
    """Events whose partner, key or helpline does not exist (the load skipped the checks)."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events_event e "
            "LEFT JOIN helplines_partner p ON p.id = e.partner_id "
            "LEFT JOIN helplines_partnerapikey k ON k.prefix = e.api_key_prefix "
            "AND k.partner_id = e.partner_id AND k.is_test = e.is_test "
            "LEFT JOIN helplines_helpline h ON h.id = e.helpline_id "
            "WHERE p.id IS NULL OR k.prefix IS NULL OR h.id IS NULL"
        ).fetchone()
    assert row is not None
    return int(row[0])


# --- the phases --------------------------------------------------------------------------


@dataclass
class ExportRound:
    """One download bracketed by psql's COPY just before and just after it, then the same
    COPY read through psycopg."""

    before: Ceiling
    download: Download
    after: Ceiling
    psycopg: Ceiling

    @property
    def ceiling(self) -> float:
        return (self.before.per_second + self.after.per_second) / 2

    @property
    def ratio(self) -> float:
        return self.download.per_second / self.ceiling

    @property
    def psycopg_ratio(self) -> float:
        return self.download.per_second / self.psycopg.per_second


@dataclass
class IngestPhase:
    name: str
    alongside: str  # "", "exports" or "COPY"
    wrk: dict[str, Any]
    downloads: list[Download] = field(default_factory=list)
    copies: list[Ceiling] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return float(self.wrk["requests"]) / (float(self.wrk["duration_us"]) / 1e6)

    @property
    def all_created(self) -> bool:
        errors = self.wrk["errors"]
        socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
        statuses = self.wrk["statuses"]
        return socket_errors == 0 and set(statuses) <= {"201"} and bool(statuses)


def ingest(
    server: common.Server,
    load: Load,
    name: str,
    tag: str,
    alongside: str = "",
    background: Callable[[], Download | Ceiling] | None = None,
) -> IngestPhase:
    """wrk's single displays for `load.seconds`; with `background`, it runs back to back in
    a thread from just before wrk starts until wrk stops (the last run is let finish)."""
    done: list[Download | Ceiling] = []
    stop = threading.Event()

    def loop() -> None:
        while background is not None and not stop.is_set():
            done.append(background())

    thread = threading.Thread(target=loop, daemon=True)
    if background:
        thread.start()
        time.sleep(0.5)  # the first run under way: its query started, rows flowing
    try:
        figures = run_wrk(server, load, "display", load.seconds, tag)
    finally:
        stop.set()
        if background:
            thread.join()
    phase = IngestPhase(
        name=name,
        alongside=alongside,
        wrk=figures,
        downloads=[one for one in done if isinstance(one, Download)],
        copies=[one for one in done if isinstance(one, Ceiling)],
    )
    # Read only now: checking a file during the phase would take CPU from the ingest.
    for one in phase.downloads:
        read_download(one)
    extra = ", ".join(f"{one.rows:,} rows at {one.per_second:,.0f} rows/s" for one in done)
    print(
        f"  {name}: {phase.per_second:,.0f} req/s, statuses {figures['statuses']}"
        + (f"; alongside: {extra}" if extra else ""),
        flush=True,
    )
    return phase


# --- the report --------------------------------------------------------------------------


def expected_metadata(period: Period) -> list[str]:
    return [
        "# Throughline raw events",
        f"# start: {period.first_day.isoformat()}",
        f"# end: {period.last_day.isoformat()}",
        "# partner: all",
        "# country: all",
        "# helpline: all",
        f"# time zone: {EXPORT_ZONE}",
        "# test traffic: excluded",
    ]


def download_check(
    label: str, one: Download, period: Period, expected_rows: int, digest: str
) -> tuple[str, bool]:
    """One line per download: what was checked, or what failed."""
    from dashboard.exports import EVENT_COLUMNS

    body = one.body
    parts = [
        (
            f"answered 200 (not {one.status}), read to the end {one.error}".strip()
            if one.status != 200
            else f"answered 200, read to the end {one.error}".strip(),
            one.status == 200 and not one.error,
        ),
        (
            f"the `#` lines (filters, {EXPORT_ZONE}, generated at) then the header",
            body.metadata[:-1] == expected_metadata(period)
            and body.metadata[-1:] != []
            and body.metadata[-1].startswith("# generated at: ")
            and body.header == ",".join(EVENT_COLUMNS),
        ),
        (f"{body.rows:,} rows = the live events in the range", body.rows == expected_rows),
        ("every line ends with \\r\\n", body.crlf_only),
        ("header and rows byte for byte those of the first download", body.digest == digest),
    ]
    if one.memory is not None:
        parts.append(("its worker still alive (no timeout kill)", one.memory.alive))
    failed = [name for name, passed in parts if not passed]
    if failed:
        return f"{label}: " + "; ".join(failed), False
    return f"{label}: " + "; ".join(name for name, _ in parts), True


def _around(phases: list[IngestPhase], index: int) -> float:
    """The mean ingest rate of the alone phases just before and after phase `index`."""
    return (phases[index - 1].per_second + phases[index + 1].per_second) / 2


def ingest_ratios_with(phases: list[IngestPhase], alongside: str) -> list[float]:
    return [
        phase.per_second / _around(phases, index)
        for index, phase in enumerate(phases)
        if phase.alongside == alongside
    ]


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _verdict(passed: bool) -> str:
    return "**PASS**" if passed else "**FAIL**"


def report(
    *,
    header: common.Header,
    workers: int,
    n: int,
    expected_rows: int,
    load_seconds: float,
    period: Period,
    rounds: list[ExportRound],
    phases: list[IngestPhase],
    ingest_ratios: list[float],
    reference: tuple[CsvBody, float] | None,
    checks: list[tuple[str, bool]],
    targets: list[tuple[str, bool]],
    connections: int,
    seconds: float,
) -> str:
    all_ok = all(passed for _, passed in checks)
    all_met = all(passed for _, passed in targets)
    size_mb = rounds[0].download.body.size / 1e6
    growths = [one.download.memory.growth_mb for one in rounds if one.download.memory]
    baselines = [
        one.download.memory.baseline[one.download.memory.serving] / 1024
        for one in rounds
        if one.download.memory
    ]
    ratios = [one.ratio for one in rounds]
    lines = [
        *header.lines(
            f"export benchmark, {n:,} events — "
            f"{'all checks passed' if all_ok else 'CHECK FAILED'}, "
            f"{'all targets met' if all_met else 'TARGET MISSED'}",
            commit_note=" (plus the working tree's uncommitted changes, if any)",
        ),
        f"- Server: gunicorn, **{workers} sync workers** (on {header.info['nproc']} CPUs), "
        "DEBUG=false, gunicorn's default 30 s worker timeout. Client: curl into a file in "
        "tmpfs (read and checked after the timing), with the session of a staff login "
        "through the admin's login form.",
        f"- Data: {n:,} events loaded by INSERT ... SELECT generate_series in "
        f"{load_seconds:.0f} s (with index rebuild and VACUUM ANALYZE): 3 partners, "
        f"{HELPLINES} helplines (one id with quotes and a comma), a click in ten, a session id "
        f'in 20 starting with "-", four timestamps in five with microseconds, one event in '
        f"{TEST_TRAFFIC_EVERY} test traffic. Exported: "
        f"{period.first_day}..{period.last_day} in {EXPORT_ZONE}, the {expected_rows:,} live "
        f"events, {size_mb:,.1f} MB.",
        "",
        *common.rounds_table_head(len(rounds), median="Median", last="Target"),
        "| Ceiling: psql `COPY (SELECT same columns and rows ORDER BY timestamp, id) TO STDOUT "
        "WITH CSV` > /dev/null (rows/s; before / after) | "
        + " | ".join(
            f"{one.before.per_second:,.0f} / {one.after.per_second:,.0f}" for one in rounds
        )
        + f" | {_median([one.ceiling for one in rounds]):,.0f} | |",
        "| The same COPY read row by row through psycopg (rows/s) | "
        + " | ".join(f"{one.psycopg.per_second:,.0f}" for one in rounds)
        + f" | {_median([one.psycopg.per_second for one in rounds]):,.0f} | |",
        "| events.csv over HTTP (rows/s; s) | "
        + " | ".join(
            f"{one.download.per_second:,.0f}; {one.download.seconds:.1f}" for one in rounds
        )
        + f" | {_median([one.download.per_second for one in rounds]):,.0f} | |",
        "| **events.csv / psql COPY** | "
        + " | ".join(f"{ratio:.2f}" for ratio in ratios)
        + f" | **{_median(ratios):.2f}** | >= {TARGET_RATIO} {_verdict(targets[0][1])} |",
        "| events.csv / psycopg COPY | "
        + " | ".join(f"{one.psycopg_ratio:.2f}" for one in rounds)
        + f" | {_median([one.psycopg_ratio for one in rounds]):.2f} | |",
        "| **Serving worker's RSS growth during the download (MB)** (RSS before, MB) | "
        + " | ".join(
            f"{growth:+.1f} ({baseline:.0f})"
            for growth, baseline in zip(growths, baselines, strict=True)
        )
        + f" | **max {max(growths):+.1f}** | < {TARGET_GROWTH_MB:g} {_verdict(targets[1][1])} |",
        "",
        f"Before this change: {BEFORE_COPY}.",
    ]
    if reference is not None:
        body, reference_seconds = reference
        lines.append(
            f"The Python rows (`event_rows` + csv.writer, what SQLite serves), in-process "
            f"for the byte comparison: {body.rows / reference_seconds:,.0f} rows/s."
        )
    lines += [
        "",
        f"Single-event ingest (wrk, `POST /v1/events/helpline_display`, {connections} "
        f"connections, {seconds:g} s per phase): alone, while {expected_rows:,}-row "
        "downloads of the same file run back to back (one at a time, from just before wrk "
        "starts until it stops), "
        "and, for reference, while psql's COPY of the same rows runs back to back instead. "
        "Each phase with something alongside is read against the mean of the alone phases "
        "just before and after it:",
        "",
        "| Phase | Ingest req/s | / alone around it | Alongside (rows/s each) |",
        "|---|---:|---:|---|",
    ]
    for index, phase in enumerate(phases):
        done: list[Download | Ceiling] = [*phase.downloads, *phase.copies]
        alongside = ", ".join(f"{one.per_second:,.0f}" for one in done) or "—"
        ratio = f"{phase.per_second / _around(phases, index):.2f}" if phase.alongside else ""
        lines.append(f"| {phase.name} | {phase.per_second:,.0f} | {ratio} | {alongside} |")
    copy_ratios = ingest_ratios_with(phases, "COPY")
    lines += [
        "",
        "**Ingest with exports / alone**: "
        + ", ".join(f"{ratio:.2f}" for ratio in ingest_ratios)
        + f"; median **{_median(ingest_ratios):.2f}** (target >= {TARGET_INGEST}) "
        + _verdict(targets[2][1])
        + ". With psql's COPY of the same rows alongside instead (the database's share "
        "of any export of them, a floor for the product's): "
        + ", ".join(f"{ratio:.2f}" for ratio in copy_ratios)
        + ".",
        "",
        "Targets:",
        "",
    ]
    lines += [f"- {_verdict(passed)}: {label}" for label, passed in targets]
    lines += ["", "Checks:", ""]
    lines += [f"- {'ok' if passed else 'FAILED'}: {label}" for label, passed in checks]
    lines.append("")
    return common.report_section(lines, compare="its ceiling measured just before and after")


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = common.argument_parser(__doc__)
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help=f"events to load ({DEFAULT_EVENTS:,})"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed downloads (3)")
    common.add_workers_option(parser, note=", as bench/run.py")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per ingest phase (10)")
    common.add_connections_option(parser, note=", as bench/run.py")
    common.add_port_option(parser)
    parser.add_argument(
        "--skip-python-check",
        action="store_true",
        help="skip the byte comparison with the Python rows (about a minute per million)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    common.add_no_record_option(parser)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.command = common.command_line(argv)
    for tool in ("wrk", "psql", "curl"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: apt-get install -y {tool}", file=sys.stderr)
            return 2
    started = datetime.now(UTC)
    loads_start = common.load_average()
    url = database_url(common.postgres_url(DEFAULT_DATABASE_URL))
    # Cookies over plain HTTP for the staff login. The download is timed, not the sign-in:
    # the bench's staff user has no second factor (production requires one, and without
    # it every page answers 302 to the second factor's setup).
    run_id, env = common.adopt_server_environment(
        url, SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false", STAFF_REQUIRE_2FA="false"
    )

    name = urlsplit(url).path.lstrip("/")
    print(f"Preparing {name} (dropped if it exists, created, migrated, seeded)...", flush=True)
    common.drop_database(url)
    common.ensure_database(url)
    try:
        return run(args, url, env, started=started, loads_start=loads_start, run_id=run_id)
    finally:
        if not args.keep:
            common.drop_database(url)


def run(
    args: argparse.Namespace,
    url: str,
    env: dict[str, str],
    *,
    started: datetime,
    loads_start: str,
    run_id: str,
) -> int:
    """Seed, load, serve, measure, check and report; the exit status."""
    import django

    django.setup()
    from django.db import connection

    cast = prepare_product_data()
    connection.close()
    period = export_period(started)
    print(f"Loading {args.events:,} events ({period.first_day}..{period.last_day})...", flush=True)
    load_seconds = load_events(url, args.events, period)
    expected_rows = live_rows(url, period)
    dangling = dangling_references(url)
    print(f"  {load_seconds:.0f} s; {expected_rows:,} live events in the range", flush=True)

    load = Load(
        key=cast.raw_key,
        helplines=cast.helplines,
        epoch=int((started - timedelta(minutes=1)).timestamp()),
        threads=1,
        connections=args.connections,
        batch_connections=args.connections,
        batch=500,
        seconds=args.seconds,
    )
    # Downloads land in memory (tmpfs) when there is one: writing 100+ MB files back to
    # disk would compete with the ingest's commits, which psql's COPY to /dev/null does not.
    memory_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
    rounds: list[ExportRound] = []
    phases: list[IngestPhase] = []
    with (
        tempfile.TemporaryDirectory(
            prefix="throughline-export-files-", dir=memory_dir, ignore_cleanup_errors=True
        ) as scratch,
        common.serving(
            args.port, env, args.workers, log_prefix="throughline-export-bench-"
        ) as server,
    ):
        files = Path(scratch)
        cookie = login(server, cast)
        # Warm-up: every worker serves a small export (code paths loaded, connection
        # open), and one COPY of the range brings the rows into memory for all that follows.
        first_day = Period(
            first_day=period.first_day,
            last_day=period.first_day,
            start=period.start,
            end=period.start + timedelta(days=1),
        )
        warmers = [
            threading.Thread(
                target=download,
                args=(server, cookie, first_day, files / f"warm-up-{number}.csv"),
                kwargs={"watch": False},
            )
            for number in range(2 * args.workers)
        ]
        for thread in warmers:
            thread.start()
        for thread in warmers:
            thread.join()
        psql_copy(url, period, expected_rows)
        for number in range(1, args.rounds + 1):
            before = psql_copy(url, period, expected_rows)
            one = download(server, cookie, period, files / "timed.csv")
            after = psql_copy(url, period, expected_rows)
            through_psycopg = psycopg_copy(url, period)
            read_download(one)
            rounds.append(ExportRound(before, one, after, through_psycopg))
            memory = one.memory
            print(
                f"Round {number}: COPY {before.per_second:,.0f} / {after.per_second:,.0f} rows/s "
                f"(psycopg {through_psycopg.per_second:,.0f}); events.csv {one.rows:,} rows in "
                f"{one.seconds:.1f} s = {one.per_second:,.0f} rows/s, "
                f"ratio {rounds[-1].ratio:.2f}; "
                f"worker {memory.serving if memory else '?'} "
                f"{memory.growth_mb if memory else 0:+.1f} MB",
                flush=True,
            )
        print("Ingest alone, with exports running, with psql's COPY running:", flush=True)
        numbers = itertools.count(1)

        def export_once() -> Download:
            return download(server, cookie, period, files / f"{next(numbers)}.csv", watch=False)

        def copy_once() -> Ceiling:
            return psql_copy(url, period, expected_rows)

        plan: list[tuple[str, Callable[[], Download | Ceiling] | None]] = [
            ("", None),
            ("exports", export_once),
            ("", None),
            ("COPY", copy_once),
            ("", None),
            ("exports", export_once),
            ("", None),
        ]
        for index, (alongside, background) in enumerate(plan):
            count = sum(1 for kind, _ in plan[: index + 1] if kind == alongside)
            label = f"with {alongside} {count}" if alongside else f"alone {count}"
            tag = f"x{run_id}p{index}"
            phases.append(ingest(server, load, label, tag, alongside, background))

    reference = None
    if not args.skip_python_check:
        print("The Python rows, in-process, for the byte comparison...", flush=True)
        reference = python_rows(period)
        connection.close()

    first = rounds[0].download.body.digest
    checks = [
        (f"every stored event's partner, key and helpline exist ({dangling} not)", dangling == 0),
        *(
            download_check(f"download {number}", one.download, period, expected_rows, first)
            for number, one in enumerate(rounds, start=1)
        ),
        *(
            download_check(f"{phase.name}, download {number}", one, period, expected_rows, first)
            for phase in phases
            for number, one in enumerate(phase.downloads, start=1)
        ),
        (
            "psycopg's COPY: "
            + ", ".join(f"{one.psycopg.rows:,}" for one in rounds)
            + " rows, every round",
            all(one.psycopg.rows == expected_rows for one in rounds),
        ),
        (
            "ingest: every answer 201, no socket error, in every phase",
            all(phase.all_created for phase in phases),
        ),
    ]
    if reference is not None:
        checks.append(
            (
                "header and rows byte for byte those of the Python rows (event_rows + csv.writer)",
                reference[0].digest == first and reference[0].rows == expected_rows,
            )
        )
    ingest_ratios = ingest_ratios_with(phases, "exports")
    ratio = _median([one.ratio for one in rounds])
    growth = max(one.download.memory.growth_mb for one in rounds if one.download.memory)
    targets = [
        (f"events.csv at {ratio:.2f} of psql's COPY (>= {TARGET_RATIO})", ratio >= TARGET_RATIO),
        (
            f"worker RSS growth at most {growth:+.1f} MB over a {expected_rows:,}-row download "
            f"(< {TARGET_GROWTH_MB:g} MB)",
            growth < TARGET_GROWTH_MB,
        ),
        (
            f"ingest with exports running at {_median(ingest_ratios):.2f} of ingest alone "
            f"(>= {TARGET_INGEST})",
            _median(ingest_ratios) >= TARGET_INGEST,
        ),
    ]
    section = report(
        header=common.Header.at_end(
            started=started, command=args.command, url=url, load_at_start=loads_start
        ),
        workers=args.workers,
        n=args.events,
        expected_rows=expected_rows,
        load_seconds=load_seconds,
        period=period,
        rounds=rounds,
        phases=phases,
        ingest_ratios=ingest_ratios,
        reference=reference,
        checks=checks,
        targets=targets,
        connections=args.connections,
        seconds=args.seconds,
    )
    common.publish(section, record=not args.no_record)
    if not all(passed for _, passed in checks):
        return 1
    return 0 if all(passed for _, passed in targets) else 3


if __name__ == "__main__":
    common.run_script(main)
