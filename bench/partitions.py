"""Partitioned raw events against the plain table, in one command:

    .venv/bin/python bench/partitions.py [--events 10000000] [--dsn postgres://...]

Builds, in a database of its own (`throughline_h13_partitions` on the local server unless
--dsn names another; dropped and created again), the raw events table twice with the same
N events spread evenly over 365 days, in the two shapes migration 0007 converts between:

- plain: one heap, primary key (id), the identity unique index, B-trees on
  (partner, timestamp, id), timestamp and txid (the shape before 0007);
- partitioned: by month of timestamp with a default partition, primary key
  (partner, timestamp, id), the identity, BRIN on timestamp, B-tree on txid (0007).

and measures: storage per million events (heap and each index); the scan of one day of
events (count and distinct sessions, and the export's ordered read of every column) on
each shape, plus the plain table through a BRIN instead of its B-tree; and retention of
the oldest month: the purge's row-by-row delete in chunks of 10,000 against DETACH +
DROP of its partition, with single-row inserts running meanwhile on another connection
(their worst latency is what ingest felt) and the time the DETACH held its lock. Appends
a section to bench/RESULTS.md. Figures are medians of three warm runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
START = datetime(2025, 12, 1, tzinfo=UTC)  # 365 days: 2025-12-01 .. 2026-11-30
DAYS = 365

COLUMNS = """
    id bigint NOT NULL, type varchar(16) NOT NULL, is_test boolean NOT NULL,
    session_id varchar(128) NOT NULL, "timestamp" timestamptz NOT NULL,
    contact_method varchar(16) NOT NULL, received_at timestamptz NOT NULL,
    api_key_prefix varchar(8) NOT NULL, helpline_id bigint NOT NULL, partner_id bigint NOT NULL,
    txid bigint DEFAULT (pg_current_xact_id()::text::bigint)
"""
IDENTITY = '(partner_id, session_id, type, helpline_id, "timestamp", contact_method)'


def fill(table: str, events: int) -> str:
    """N events in timestamp order (as they arrive), 40 partners, 300 helplines, one click
    for every ten displays, sessions of about three events."""
    step = DAYS * 86400.0 / events
    return f"""
        INSERT INTO {table} (id, type, is_test, session_id, "timestamp", contact_method,
            received_at, api_key_prefix, helpline_id, partner_id)
        SELECT n, CASE WHEN n % 10 = 0 THEN 'helpline_click' ELSE 'helpline_display' END,
            n % 50 = 0, 'sess_' || (n / 3), ts,
            CASE WHEN n % 10 = 0 THEN 'phone' ELSE '' END, ts, 'abcdefgh',
            1 + (n * 7919) % 300, 1 + n % 40
        FROM (SELECT n, timestamptz '{START.isoformat()}' + (n * {step}) * interval '1 second'
              AS ts FROM generate_series(0::bigint, {events - 1}) n) s
    """


def months() -> list[datetime]:
    out, month = [], START
    while month < START + timedelta(days=DAYS):
        out.append(month)
        month = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return out


def build(conn: psycopg.Connection, events: int) -> dict[str, float]:
    took = {}
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE plain ({COLUMNS}, PRIMARY KEY (id), UNIQUE {IDENTITY})")
        cur.execute('CREATE INDEX plain_partner_time ON plain (partner_id, "timestamp", id)')
        cur.execute('CREATE INDEX plain_time ON plain ("timestamp")')
        cur.execute("CREATE INDEX plain_txid ON plain (txid)")
        cur.execute(
            f'CREATE TABLE parted ({COLUMNS}, PRIMARY KEY (partner_id, "timestamp", id), '
            f'UNIQUE {IDENTITY}) PARTITION BY RANGE ("timestamp")'
        )
        cur.execute('CREATE INDEX parted_time ON parted USING brin ("timestamp")')
        cur.execute("CREATE INDEX parted_txid ON parted (txid)")
        cur.execute("CREATE TABLE parted_default PARTITION OF parted DEFAULT")
        for month in months():
            end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
            cur.execute(
                f"CREATE TABLE parted_p{month:%Y_%m} PARTITION OF parted "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')"
            )
        for table in ("plain", "parted"):
            started = time.monotonic()
            cur.execute(fill(table, events))
            took[table] = time.monotonic() - started
            cur.execute(f"VACUUM ANALYZE {table}")
    return took


def sizes(conn: psycopg.Connection) -> dict[str, int]:
    """Bytes of each table (all its partitions) and index (all its partitions' copies)."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT CASE WHEN COALESCE(p.relname, c.relname) LIKE 'parted%'
                        THEN 'parted' ELSE 'plain' END,
                   c.relkind, regexp_replace(pg_get_indexdef(c.oid), '^.* USING ', ''),
                   pg_relation_size(c.oid)
            FROM pg_class c LEFT JOIN pg_index x ON x.indexrelid = c.oid
            LEFT JOIN pg_class p ON p.oid = x.indrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')
            """
        )
        out: dict[str, int] = {}
        for shape, kind, definition, size in cur.fetchall():
            key = f"{shape} heap" if kind == "r" else f"{shape} index {definition}"
            out[key] = out.get(key, 0) + size
    return out


def median_time(conn: psycopg.Connection, sql: str, params: list, runs: int = 3) -> float:
    times = []
    with conn.cursor() as cur:
        for _ in range(runs):
            started = time.monotonic()
            cur.execute(sql, params)
            cur.fetchall()
            times.append(time.monotonic() - started)
    return statistics.median(times)


def scans(conn: psycopg.Connection) -> dict[str, float]:
    day = START + timedelta(days=200)
    bounds = [day, day + timedelta(days=1)]
    out = {}
    for table in ("plain", "parted"):
        out[f"{table} count"] = median_time(
            conn,
            f"SELECT count(*), count(DISTINCT session_id) FROM {table} "
            'WHERE "timestamp" >= %s AND "timestamp" < %s',
            bounds,
        )
        out[f"{table} export"] = median_time(
            conn,
            f'SELECT * FROM {table} WHERE "timestamp" >= %s AND "timestamp" < %s '
            'ORDER BY "timestamp", id',
            bounds,
        )
    with conn.cursor() as cur:
        cur.execute("DROP INDEX plain_time")
        cur.execute('CREATE INDEX plain_time_brin ON plain USING brin ("timestamp")')
        cur.execute("ANALYZE plain")
    out["plain+BRIN count"] = median_time(
        conn,
        'SELECT count(*), count(DISTINCT session_id) FROM plain WHERE "timestamp" >= %s '
        'AND "timestamp" < %s',
        bounds,
    )
    out["plain+BRIN export"] = median_time(
        conn,
        'SELECT * FROM plain WHERE "timestamp" >= %s AND "timestamp" < %s ORDER BY "timestamp", id',
        bounds,
    )
    with conn.cursor() as cur:
        cur.execute("DROP INDEX plain_time_brin")
        cur.execute('CREATE INDEX plain_time ON plain ("timestamp")')
    return out


def while_inserting(dsn: str, table: str, work: Callable[[], float]) -> tuple[float, float, int]:
    """Run `work` while another connection inserts one event at a time into `table`;
    returns (work's seconds, the worst insert latency in seconds, inserts done)."""
    stop = threading.Event()
    latencies: list[float] = []

    def insert() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
            n = 10**12
            while not stop.is_set():
                n += 1
                started = time.monotonic()
                cur.execute(
                    f'INSERT INTO {table} (id, type, is_test, session_id, "timestamp", '
                    "contact_method, received_at, api_key_prefix, helpline_id, partner_id) "
                    "VALUES (%s, 'helpline_display', false, %s, now(), '', now(), 'abcdefgh', "
                    "1, 1)",
                    [n, f"live_{n}"],
                )
                latencies.append(time.monotonic() - started)

    thread = threading.Thread(target=insert)
    thread.start()
    time.sleep(1.0)
    took = work()
    time.sleep(0.5)
    stop.set()
    thread.join()
    return took, max(latencies), len(latencies)


def retention(dsn: str) -> dict[str, float]:
    oldest = months()[0]
    end = months()[1]
    out: dict[str, float] = {}

    def delete_rows() -> float:
        started = time.monotonic()
        with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
            while True:
                cur.execute(
                    "DELETE FROM plain WHERE id IN (SELECT id FROM plain "
                    'WHERE "timestamp" < %s LIMIT 10000)',
                    [end],
                )
                if cur.rowcount == 0:
                    break
        return time.monotonic() - started

    detach_lock: list[float] = []

    def drop_partition() -> float:
        started = time.monotonic()
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SET lock_timeout = '2s'")
            locked = time.monotonic()
            cur.execute(f"ALTER TABLE parted DETACH PARTITION parted_p{oldest:%Y_%m}")
            conn.commit()
            detach_lock.append(time.monotonic() - locked)
            cur.execute(f"DROP TABLE parted_p{oldest:%Y_%m}")
            conn.commit()
        return time.monotonic() - started

    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute('SELECT count(*) FROM plain WHERE "timestamp" < %s', [end])
        row = cur.fetchone()
    assert row is not None
    out["rows"] = row[0]
    out["delete s"], out["delete worst insert s"], out["delete inserts"] = while_inserting(
        dsn, "plain", delete_rows
    )
    out["drop s"], out["drop worst insert s"], out["drop inserts"] = while_inserting(
        dsn, "parted", drop_partition
    )
    out["detach lock s"] = detach_lock[0]
    return out


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument(
        "--dsn", default="postgres://postgres@127.0.0.1:5432/throughline_h13_partitions"
    )
    args = parser.parse_args()
    admin_dsn, _, name = args.dsn.rpartition("/")
    with psycopg.connect(f"{admin_dsn}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    started_at = datetime.now(UTC)
    load_before = machine()
    try:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            (version,) = conn.execute("SHOW server_version").fetchall()[0]
            loads = build(conn, args.events)
            size = sizes(conn)
            scan = scans(conn)
        kept = retention(args.dsn)
    finally:
        with psycopg.connect(f"{admin_dsn}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    report(args.events, started_at, commit, version, load_before, loads, size, scan, kept)


def report(
    events: int,
    started_at: datetime,
    commit: str,
    version: str,
    machine_before: str,
    loads: dict[str, float],
    size: dict[str, int],
    scan: dict[str, float],
    kept: dict[str, float],
) -> None:
    millions = events / 1e6
    mb = 1024 * 1024

    def per_million(key: str) -> str:
        return f"{size.get(key, 0) / mb / millions:,.1f}"

    index_keys = sorted(key for key in size if " index " in key)
    plain_total = sum(v for k, v in size.items() if k.startswith("plain"))
    parted_total = sum(v for k, v in size.items() if k.startswith("parted"))
    lines = [
        f"## {started_at:%Y-%m-%d %H:%M} UTC — partitioned events against the plain table, "
        f"{events:,} events",
        "",
        f"- Command: `.venv/bin/python bench/partitions.py --events {events}`",
        f"- Machine: {machine_before}; PostgreSQL {version}",
        f"- Product commit: {commit}",
        f"- Data: {events:,} events evenly over {DAYS} days ({events // DAYS:,} a day), "
        "40 partners, 300 helplines; 12 monthly partitions + default. Medians of 3 warm runs.",
        f"- Load by INSERT ... SELECT: plain {events / loads['plain']:,.0f} rows/s, "
        f"partitioned {events / loads['parted']:,.0f} rows/s "
        f"(**{loads['plain'] / loads['parted']:.2f}x** the plain table's rate)",
        "",
        "| Storage (MiB per million events) | Plain | Partitioned |",
        "|---|---:|---:|",
        f"| Heap | {per_million('plain heap')} | {per_million('parted heap')} |",
    ]
    for key in index_keys:
        shape, name = key.split(" index ")
        cells = (per_million(key), "") if shape == "plain" else ("", per_million(key))
        lines.append(f"| Index `{name}` | {cells[0]} | {cells[1]} |")
    lines += [
        f"| **Total** | **{plain_total / mb / millions:,.1f}** | "
        f"**{parted_total / mb / millions:,.1f}** |",
        "",
        f"| Scan of one day ({events // DAYS:,} events) | Seconds | Ratio to plain + B-tree |",
        "|---|---:|---:|",
    ]
    for what in ("count", "export"):
        base = scan[f"plain {what}"]
        for shape, label in (
            ("plain", "plain, B-tree on timestamp"),
            ("plain+BRIN", "plain, BRIN on timestamp"),
            ("parted", "partitioned by month, BRIN"),
        ):
            value = scan[f"{shape} {what}"]
            lines.append(f"| {what}: {label} | {value:.3f} | {value / base:.2f} |")
    lines += [
        "",
        f"| Retention of the oldest month ({int(kept['rows']):,} events) | Plain: DELETE in "
        "chunks of 10,000 | Partitioned: DETACH + DROP |",
        "|---|---:|---:|",
        f"| Time (s) | {kept['delete s']:.2f} | {kept['drop s']:.3f} |",
        f"| Worst single insert meanwhile (ms) | {kept['delete worst insert s'] * 1000:.1f} | "
        f"{kept['drop worst insert s'] * 1000:.1f} |",
        f"| Inserts done meanwhile | {int(kept['delete inserts']):,} | "
        f"{int(kept['drop inserts']):,} |",
        f"| DETACH's transaction (lock held on the parent, ms) | — | "
        f"{kept['detach lock s'] * 1000:.1f} |",
        "",
        f"Retention by partition drop took **{kept['drop s'] / kept['delete s']:.4f}x** the "
        "row-by-row delete's time. The deleted rows also leave dead tuples for VACUUM and "
        "bloat in every index; the dropped partition leaves nothing.",
        "",
    ]
    with RESULTS.open("a") as out:
        out.write("\n" + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
