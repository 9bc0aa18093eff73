"""Monthly partitions of the raw events table on PostgreSQL: created ahead, dropped whole.

On PostgreSQL `events_event` is partitioned by range of `timestamp`, one partition per UTC
calendar month (`events_event_p2026_12`), plus a default partition that catches an event
of a month without one (a bulk import of old events, or a scheduler that stopped creating
partitions), so that no insert ever fails for want of a partition. SQLite keeps the plain
table, and every function here does nothing there.

- `ensure_partitions()` (the `create_event_partitions` command, run by the scheduler beside
  `rollup_events`, and by `purge_events`) creates the partitions from the oldest month an
  event may still arrive for up to `months_ahead` months ahead. A partition is created
  apart and attached: ATTACH takes a lock that lets inserts go on (CREATE ... PARTITION
  OF would block them), and rows of that month found in the default partition are moved
  into it first, in the same transaction.
- `drop_partitions_before(cutoff, mark)` is retention: every partition wholly before
  `cutoff` whose events the aggregates hold is detached and dropped, two catalogue changes
  instead of a delete per row. Events of the month the cutoff falls in stay until the
  whole month is past (docs/decisions.md).

The table's shape, and why, is in events/migrations/0007_partitioned_events.py.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

TABLE = "events_event"
DEFAULT_PARTITION = f"{TABLE}_default"
# How long a partition change waits for its lock before giving up (and retrying on the
# next run): a DETACH waits for every query running on the events table, and while it
# waits, new inserts queue behind it. Better to skip a run than to stall ingest.
LOCK_TIMEOUT = "2s"
# Months after the current one that have their partition ready.
MONTHS_AHEAD = 3


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    start: datetime
    end: datetime


def is_partitioned() -> bool:
    """Whether the events table is partitioned here (PostgreSQL after migration 0007)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass)",
            [TABLE],
        )
        (partitioned,) = cursor.fetchone()
    return bool(partitioned)


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime | date) -> str:
    return f"{TABLE}_p{start.year:04d}_{start.month:02d}"


def _catalog(sql: str, params: list[str]) -> list[tuple[Any, ...]]:
    """The rows of a query on the system catalogs; none where events are not partitioned
    (SQLite, or before the migration that partitions them)."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def partitions() -> list[Partition]:
    """The monthly partitions that exist, oldest first (the default partition excluded)."""
    rows = _catalog(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        [TABLE],
    )
    found = []
    for name, bound in rows:
        if bound == "DEFAULT":
            continue
        # "FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')"
        start_text, end_text = bound.split("'")[1], bound.split("'")[3]
        found.append(
            Partition(name, _parse_bound(start_text), _parse_bound(end_text)),
        )
    return sorted(found, key=lambda partition: partition.start)


def _parse_bound(text: str) -> datetime:
    # The bound is printed in the session's time zone, which Django sets to UTC.
    return datetime.fromisoformat(text).astimezone(UTC)


def ensure_partitions(*, first: datetime, last: datetime) -> list[str]:
    """Create the monthly partitions of every month from `first`'s to `last`'s that lack
    one; returns the names created. Idempotent; does nothing on an unpartitioned table."""
    if not is_partitioned():
        return []
    existing = {partition.name for partition in partitions()}
    created = []
    start = month_start(first)
    while start <= last:
        name = partition_name(start)
        if name not in existing:
            _create_partition(name, start, next_month(start))
            created.append(name)
        start = next_month(start)
    return created


def create_ahead(*, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """The partitions from the oldest month a late event may still be for (the late-arrival
    window) to `months_ahead` months after the current one."""
    now = timezone.now()
    last = month_start(now)
    for _ in range(months_ahead):
        last = next_month(last)
    return ensure_partitions(
        first=now - timedelta(days=settings.EVENTS_LATE_ARRIVAL_DAYS), last=last
    )


def kept_to_month_end(cutoff: datetime) -> bool:
    """Whether the month `cutoff` falls in has a partition, or will have one once
    `create_ahead()` runs: its events before the cutoff then stay until the whole month is
    past it (retention drops whole partitions only)."""
    if not is_partitioned():
        return False
    start = month_start(cutoff)
    late = timezone.now() - timedelta(days=settings.EVENTS_LATE_ARRIVAL_DAYS)
    return start >= month_start(late) or any(p.start == start for p in partitions())


def _create_partition(name: str, start: datetime, end: datetime) -> None:
    """Create one partition apart, move that month's rows out of the default partition into
    it, and attach it: one transaction, so a row is in exactly one of the two throughout."""
    bounds = [start, end]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(
            f'CREATE TABLE "{name}" (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'
        )
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE "timestamp" >= %s '
            f'AND "timestamp" < %s RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
            bounds,
        )
        # With this constraint in place ATTACH need not scan the new partition to prove
        # its rows belong to it.
        cursor.execute(
            f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_bounds" '
            f'CHECK ("timestamp" >= %s AND "timestamp" < %s)',
            bounds,
        )
        cursor.execute(
            f'ALTER TABLE {TABLE} ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
            bounds,
        )
        cursor.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{name}_bounds"')


@dataclass(frozen=True, slots=True)
class DroppedPartition:
    name: str
    events: int


def drop_partitions_before(*, cutoff: datetime, covered_sql: str) -> list[DroppedPartition]:
    """Detach and drop every monthly partition that ends at or before `cutoff` and whose
    events are all covered by the aggregates (`covered_sql`, SQL on alias `e`).

    The DETACH is a transaction of its own, the only moment the events table is locked
    against inserts (a catalogue change: bench/RESULTS.md has its time). The check then
    reads the detached table, which no insert can reach any more, without holding that
    lock: a table holding an event the aggregates lack is attached again, untouched, and
    the next run tries again. A table left detached by a run that died half-way is
    finished by the next one.
    """
    detached = _detached_partitions()
    for partition in partitions():
        if partition.end > cutoff:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            cursor.execute(f'ALTER TABLE {TABLE} DETACH PARTITION "{partition.name}"')
        detached.append(partition)
    dropped = []
    for partition in detached:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*), count(*) FILTER (WHERE NOT ({covered_sql})) "
                f'FROM "{partition.name}" e'
            )
            events, uncovered = cursor.fetchone()
            if uncovered:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                cursor.execute(
                    f'ALTER TABLE {TABLE} ATTACH PARTITION "{partition.name}" '
                    "FOR VALUES FROM (%s) TO (%s)",
                    [partition.start, partition.end],
                )
                continue
            cursor.execute(f'DROP TABLE "{partition.name}"')
        dropped.append(DroppedPartition(partition.name, events))
    return dropped


def _detached_partitions() -> list[Partition]:
    """Monthly tables left detached by a run that stopped between DETACH and DROP."""
    rows = _catalog(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
        "AND relnamespace = current_schema()::regnamespace AND relname ~ %s",
        [rf"^{TABLE}_p\d{{4}}_\d{{2}}$"],
    )
    found = []
    for name in sorted(name for (name,) in rows):
        start = datetime(int(name[-7:-3]), int(name[-2:]), 1, tzinfo=UTC)
        found.append(Partition(name, start, next_month(start)))
    return found
