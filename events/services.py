"""The one place events are written (and, for retention, deleted).

Each event is inserted with "insert or ignore" against the identity constraint
(`event_identity_unique`), so a retry, or two identical requests racing, store one row:
the loser of the race finds the winner's row and reports it as a duplicate.
"""

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from api.utc import as_utc, floor_hour
from events.columns import EVENT_COLUMN_TYPES
from events.models import Event, RefusedEventCount
from events.partitions import (
    DEFAULT_PARTITION,
    drop_partitions_before,
    is_partitioned,
    kept_to_month_end,
    month_start,
)
from events.pg import server_bound_cursor
from events.rollup import covered, prepare_purge
from helplines.models import Partner, PartnerAPIKey


# Tuples with names rather than frozen dataclasses: a batch makes one of each per event,
# and a frozen dataclass's __init__ cost several times a tuple's.
class NewEvent(NamedTuple):
    """An event to store; `timestamp` aware (validation gives it in UTC)."""

    type: str
    helpline_pk: int
    helpline_id: str  # the helpline's public id, echoed back to the partner
    session_id: str
    timestamp: datetime
    contact_method: str = ""  # "" on displays

    @property
    def identity(self) -> tuple[str, int, str, datetime, str]:
        return (self.type, self.helpline_pk, self.session_id, self.timestamp, self.contact_method)


class StoredEvent(NamedTuple):
    id: int
    type: str
    helpline_id: str
    session_id: str
    timestamp: datetime
    contact_method: str | None
    received_at: datetime
    created: bool


_COLUMNS = tuple(EVENT_COLUMN_TYPES)
# The identity (event_identity_unique) as columns: rows are inserted in this order so that
# two batches sharing events lock them in the same order and never deadlock.
_IDENTITY = ("partner_id", "session_id", "type", "helpline_id", "timestamp", "contact_method")

# What storing returns for each distinct event: its id, when it was stored, and whether
# this call stored it.
Found = dict[tuple, tuple[int, datetime, bool]]


def record_events(
    *, partner: Partner, api_key: PartnerAPIKey, events: Sequence[NewEvent]
) -> list[StoredEvent]:
    """Store `events` for `partner`, one result per event in order.

    An event identical to one already stored (or to an earlier one in `events`) is not
    stored again: its result carries the stored row and `created=False`. Committed before
    this returns (one statement in autocommit, or one transaction for many events).
    """
    if not events:
        return []
    received_at = timezone.now()
    # Aware datetimes are equal, and hash alike, in any zone: the identity is its own key.
    keys = [event.identity for event in events]
    distinct = dict(zip(keys, events, strict=True))
    repeated = len(distinct) < len(events)
    if repeated:  # the first of identical events is the one stored
        distinct = {}
        for key, event in zip(keys, events, strict=True):
            distinct.setdefault(key, event)
    found = _insert_ignoring_duplicates(partner, api_key, distinct, received_at)

    results = []
    first_seen: set[tuple] = set()
    for key, event in zip(keys, events, strict=True):
        event_id, stored_at, created = found[key]
        if created and repeated:  # a repeat inside the same request is a duplicate
            created = key not in first_seen
            first_seen.add(key)
        results.append(
            StoredEvent(
                id=event_id,
                type=event.type,
                helpline_id=event.helpline_id,
                session_id=event.session_id,
                timestamp=event.timestamp,
                contact_method=event.contact_method or None,
                received_at=stored_at,
                created=created,
            )
        )
    return results


def _insert_ignoring_duplicates(
    partner: Partner, api_key: PartnerAPIKey, events: dict[tuple, NewEvent], received_at: datetime
) -> Found:
    """Insert each of `events` (identity key -> event) unless an identical event is stored.

    "Insert or ignore" against the identity constraint, so a retry, or two identical
    requests racing, store one row: ON CONFLICT waits for a competing insert of the same
    event to commit, and the loser then finds the winner's row.
    """
    rows = {
        key: (
            event.type,
            partner.pk,
            api_key.prefix,
            api_key.is_test,
            event.helpline_pk,
            event.session_id,
            event.timestamp,
            event.contact_method,
            received_at,
        )
        for key, event in events.items()
    }
    if connection.vendor != "postgresql":
        return _store_values(partner, rows)
    if len(rows) == 1:
        [(key, row)] = rows.items()
        return _store_one_postgresql(partner, key, row)
    return _store_many_postgresql(partner, rows)


def _store_one_postgresql(partner: Partner, key: tuple, row: tuple[Any, ...]) -> Found:
    """One event: one INSERT, and a SELECT of the stored one when it was already there.

    A new event, the common case, costs one round trip. A retry costs two, both cheap:
    the INSERT that finds the identity taken writes nothing, so its commit waits for no
    disk. (One statement doing both, a CTE with UNION, cost a new event a third more.)
    The INSERT waits for a competing insert of the same event to commit, so the SELECT,
    a statement of its own, always finds the winner's row.
    """
    with server_bound_cursor() as cursor:
        cursor.execute(_INSERT_ONE, row)
        inserted = cursor.fetchone()
        if inserted is not None:
            event_id, stored_at = inserted
            return {key: (event_id, stored_at, True)}
        values = dict(zip(_COLUMNS, row, strict=True))
        cursor.execute(_FIND_ONE, [values[name] for name in _IDENTITY])
        event_id, stored_at = cursor.fetchone()
    return {key: (event_id, stored_at, False)}


def _store_many_postgresql(partner: Partner, rows: dict[tuple, tuple[Any, ...]]) -> Found:
    """Many events at once, in identity order: straight into the events by binary COPY,
    with ids taken from the table's sequence first, in a transaction of their own (a
    savepoint inside a caller's transaction, none other); if one of them is already
    stored, that is rolled back and they are stored through the connection's temporary
    table instead (`_store_through_incoming`), again all or nothing.

    COPY is the fastest way in (bench/README.md) but cannot skip a duplicate: it fails
    on the identity constraint, which is then the signal to take the slower way. A batch
    of new events, the common case, costs the COPY alone; a batch sent again costs its
    failed COPY too. Two batches sharing events insert them in the same order either way
    (`_identity_order`), so they wait for each other rather than deadlock. In
    autocommit no savepoint is taken at all (two round trips a batch).
    """
    ordered = sorted(rows.items(), key=_identity_order)
    received_at = ordered[0][1][-1]
    with server_bound_cursor() as cursor:
        try:
            # A transaction of its own in autocommit, a savepoint inside the caller's.
            with transaction.atomic(), connection.wrap_database_errors:
                cursor.execute(_NEXT_IDS, [_id_sequence(connection.alias), len(ordered)])
                ids = [event_id for (event_id,) in cursor.fetchall()]
                with cursor.copy(_COPY_EVENTS) as copy:
                    copy.set_types(["int8", *EVENT_COLUMN_TYPES.values()])
                    for event_id, (_, row) in zip(ids, ordered, strict=True):
                        copy.write_row((event_id, *row))
        except IntegrityError:
            with transaction.atomic(savepoint=False):
                return _store_through_incoming(partner, cursor, ordered)
    return {
        key: (event_id, received_at, True) for event_id, (key, _) in zip(ids, ordered, strict=True)
    }


@functools.cache
def _id_sequence(alias: str) -> str:
    """The name of the events' id sequence, looked up once per process and database."""
    with connections[alias].cursor() as cursor:
        cursor.execute(_ID_SEQUENCE)
        name: str = cursor.fetchone()[0]
    return name


def _store_through_incoming(
    partner: Partner, cursor: CursorWrapper, ordered: list[tuple[tuple, tuple[Any, ...]]]
) -> Found:
    """Events some of which are already stored: binary COPY into the connection's
    temporary table `event_incoming`, then one statement that empties it into the events
    with INSERT ... ON CONFLICT DO NOTHING, in identity order; the events already stored
    are then found by one more query."""
    found: Found = {}
    # The rows inserted come back with their timestamp in whole microseconds since the
    # epoch: an integer is read several times faster than a timestamp's text.
    by_micros = {
        (type_, helpline_pk, session_id, (stamp - _EPOCH) // _MICROSECOND, method): key
        for key, (type_, _, _, _, helpline_pk, session_id, stamp, method, _) in ordered
    }
    received_at = ordered[0][1][-1]
    with connection.wrap_database_errors, cursor.copy(_COPY_INCOMING) as copy:
        copy.set_types(list(EVENT_COLUMN_TYPES.values()))
        for _, row in ordered:
            copy.write_row(row)
    cursor.execute(_MOVE_INCOMING)
    for event_id, *identity in cursor.fetchall():
        found[by_micros[tuple(identity)]] = (event_id, received_at, True)
    if len(found) < len(ordered):
        found.update(_find_existing(partner, [key for key, _ in ordered if key not in found]))
    return found


def _identity_order(item: tuple[tuple, tuple[Any, ...]]) -> tuple[Any, ...]:
    """A row's place in the identity's order (event_identity_unique, its text compared
    code point by code point as `COLLATE "C"` compares it in `_MOVE_INCOMING`)."""
    type_, _, _, _, helpline_pk, session_id, stamp, method, _ = item[1]
    return (session_id, type_, helpline_pk, stamp, method)


def create_incoming_table(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """On each new connection to the database events are written to (PostgreSQL), the
    session's temporary table for batches (`connection_created`, events.apps).

    Created once per connection rather than per batch: no DDL on the ingest path. Rows
    live for one transaction at most (ON COMMIT DELETE ROWS); the table for the session.
    """
    if connection.vendor == "postgresql" and connection.alias == DEFAULT_DB_ALIAS:
        with connection.cursor() as cursor:
            cursor.execute(_CREATE_INCOMING)


def _store_values(partner: Partner, rows: dict[tuple, tuple[Any, ...]]) -> Found:
    """SQLite (>= 3.35): INSERT ... VALUES ... ON CONFLICT DO NOTHING RETURNING, then one
    SELECT for the events that were already stored."""
    ops = connection.ops
    table = ops.quote_name(Event._meta.db_table)
    columns = ", ".join(ops.quote_name(column) for column in _COLUMNS)
    returning = ", ".join(ops.quote_name(column) for column in ("id", "received_at", *_WHAT))
    placeholders = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    params = [
        ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value
        for row in rows.values()
        for value in row
    ]
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT DO NOTHING RETURNING {returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchall()
    found: Found = {
        _key(tuple(identity)): (event_id, as_utc(stored_at), True)
        for event_id, stored_at, *identity in inserted
    }
    missing = [key for key in rows if key not in found]
    if missing:
        found.update(_find_existing(partner, missing))
    return found


def _find_existing(partner: Partner, keys: list[tuple]) -> Found:
    """identity key -> (id, received_at, False) of already stored rows with those keys."""
    # Every column of the identity index (event_identity_unique) is narrowed, so the
    # lookup is an index scan, not a scan of the partner's events at that timestamp.
    columns = zip(*keys, strict=True)
    types, helplines, sessions, stamps, methods = (set(column) for column in columns)
    candidates = Event.objects.filter(
        partner=partner,
        type__in=types,
        helpline_id__in=helplines,
        session_id__in=sessions,
        timestamp__in=stamps,
        contact_method__in=methods,
    ).values_list("id", "received_at", *_WHAT)
    # The filter is a product of each column's values, so it also matches rows of other
    # combinations, among them events this request has just inserted: only the keys asked
    # for are answered, or such an event would be reported as already stored.
    asked = set(keys)
    found: Found = {}
    for event_id, stored_at, *identity in candidates:
        key = _key(tuple(identity))
        if key in asked:
            found[key] = (event_id, stored_at, False)
    return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# An event's identity as `_key` reads it, in its order.
_WHAT = ("type", "helpline_id", "session_id", "timestamp", "contact_method")


def _postgresql_statements() -> dict[str, str]:
    table = Event._meta.db_table
    columns = ", ".join(f'"{column}"' for column in _COLUMNS)
    # Text compared code point by code point, as `_identity_order` sorts in Python.
    identity = ", ".join(
        f'"{column}"' + (' COLLATE "C"' if EVENT_COLUMN_TYPES[column] == "varchar" else "")
        for column in _IDENTITY
    )
    typed = ", ".join(f"%s::{sql_type}" for sql_type in EVENT_COLUMN_TYPES.values())
    column_defs = ", ".join(f'"{name}" {sql_type}' for name, sql_type in EVENT_COLUMN_TYPES.items())
    return {
        "insert_one": (
            f"INSERT INTO {table} ({columns}) VALUES ({typed}) "
            "ON CONFLICT DO NOTHING RETURNING id, received_at"
        ),
        # The identity's columns compared one by one: the identity index answers it.
        "find_one": (
            f"SELECT id, received_at FROM {table} WHERE "
            + " AND ".join(f'"{name}" = %s::{EVENT_COLUMN_TYPES[name]}' for name in _IDENTITY)
        ),
        "create_incoming": (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS event_incoming ({column_defs}) "
            "ON COMMIT DELETE ROWS"
        ),
        "copy_incoming": f"COPY event_incoming ({columns}) FROM STDIN (FORMAT BINARY)",
        # The sequence is named by a parameter: pg_get_serial_sequence() in the statement
        # would be called once per id, tripling the statement's time.
        "next_ids": "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
        "id_sequence": f"SELECT pg_get_serial_sequence('{table}', 'id')",
        "copy_events": f"COPY {table} (id, {columns}) FROM STDIN (FORMAT BINARY)",
        "move_incoming": (
            f"WITH moved AS (DELETE FROM event_incoming RETURNING *) "
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM moved "
            f"ORDER BY {identity} ON CONFLICT DO NOTHING RETURNING id, type, helpline_id, "
            'session_id, (extract(epoch FROM "timestamp") * 1000000)::int8, contact_method'
        ),
    }


_STATEMENTS = _postgresql_statements()
_INSERT_ONE = _STATEMENTS["insert_one"]
_FIND_ONE = _STATEMENTS["find_one"]
_CREATE_INCOMING = _STATEMENTS["create_incoming"]
_COPY_INCOMING = _STATEMENTS["copy_incoming"]
_MOVE_INCOMING = _STATEMENTS["move_incoming"]
_NEXT_IDS = _STATEMENTS["next_ids"]
_ID_SEQUENCE = _STATEMENTS["id_sequence"]
_COPY_EVENTS = _STATEMENTS["copy_events"]


def _key(identity: tuple[str, int, str, datetime, str]) -> tuple:
    type_, helpline_pk, session_id, stamp, contact_method = identity
    return (type_, int(helpline_pk), session_id, as_utc(stamp), contact_method)


def count_refusals(*, partner: Partner, codes: Sequence[str], at: datetime) -> None:
    """Add one refusal per entry of `codes` to `partner`'s counters for `at`'s clock hour.

    One upsert per distinct code; the counters are exact under concurrency because the
    increment happens in the database (ON CONFLICT ... DO UPDATE SET count = count + n).
    """
    if not codes:
        return
    hour = floor_hour(at)
    ops = connection.ops
    table = ops.quote_name(RefusedEventCount._meta.db_table)
    count = ops.quote_name("count")
    per_code: dict[str, int] = {}
    for code in codes:
        per_code[code] = per_code.get(code, 0) + 1
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(per_code))
    params: list[Any] = []
    for code, n in per_code.items():
        params += [partner.pk, ops.adapt_datetimefield_value(hour), code, n]
    sql = (
        f"INSERT INTO {table} ({ops.quote_name('partner_id')}, {ops.quote_name('hour')}, "
        f"{ops.quote_name('code')}, {count}) VALUES {rows} "
        f"ON CONFLICT ({ops.quote_name('partner_id')}, {ops.quote_name('hour')}, "
        f"{ops.quote_name('code')}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def purge_events_before(*, cutoff: datetime, chunk_size: int) -> int:
    """Delete the events whose timestamp is before `cutoff`; returns how many.

    Their figures stay: the aggregates are brought up to date first, the purge is recorded
    (so that no rebuild wipes figures it could not recompute), and only events the
    aggregates already hold are deleted.

    On partitioned PostgreSQL, whole monthly partitions ending at or before `cutoff` are
    detached and dropped (`events.partitions`); events of the month the cutoff falls in
    stay until that month is wholly past, and only events in the default partition (months
    that never had a partition) are deleted row by row. Elsewhere rows are deleted in
    chunks of `chunk_size`, each its own transaction, so that a purge of months of events
    neither holds one huge transaction nor locks the table for its duration; the
    `event_time` index finds each chunk.
    """
    mark = prepare_purge(cutoff)
    if not is_partitioned():
        return _delete_in_chunks(Event._meta.db_table, cutoff, mark, chunk_size)
    dropped = drop_partitions_before(cutoff=cutoff, covered_sql=covered("e", mark))
    deleted = sum(partition.events for partition in dropped)
    return deleted + _delete_in_chunks(DEFAULT_PARTITION, cutoff, mark, chunk_size)


def count_purgeable(*, cutoff: datetime) -> int:
    """How many events `purge_events_before(cutoff=cutoff)` would delete now, if the rollup
    covers them all: on partitioned PostgreSQL the events before the start of the cutoff's
    month when that month has (or is about to get) its partition, else those before it."""
    if kept_to_month_end(cutoff):
        cutoff = month_start(cutoff)
    return Event.objects.filter(timestamp__lt=cutoff).count()


def _delete_in_chunks(table: str, cutoff: datetime, mark: str, chunk_size: int) -> int:
    quoted = connection.ops.quote_name(table)
    # PostgreSQL addresses rows by the primary key (partner, timestamp, id): `id` alone has
    # no index on the partitioned table. SQLite's primary key is `id`.
    key = '"partner_id", "timestamp", "id"' if connection.vendor == "postgresql" else '"id"'
    delete = (
        f"DELETE FROM {quoted} WHERE ({key}) IN (SELECT {key} FROM {quoted} e "
        f'WHERE e."timestamp" < %s AND {covered("e", mark)} LIMIT {int(chunk_size):d})'
    )
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(delete, [connection.ops.adapt_datetimefield_value(cutoff)])
            count = cursor.rowcount
        if not count:
            return deleted
        deleted += count
