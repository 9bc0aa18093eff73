"""The one place events are written (and, for retention, deleted).

Each event is inserted with "insert or ignore" against the identity constraint
(`event_identity_unique`), so a retry, or two identical requests racing, store one row:
the loser of the race finds the winner's row and reports it as a duplicate.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.models import Event, RefusedEventCount
from events.rollup import covered, prepare_purge
from helplines.models import Partner, PartnerAPIKey


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: str
    helpline_pk: int
    helpline_id: str  # the helpline's public id, echoed back to the partner
    session_id: str
    timestamp: datetime
    contact_method: str = ""  # "" on displays

    @property
    def identity(self) -> tuple[str, int, str, datetime, str]:
        return (self.type, self.helpline_pk, self.session_id, self.timestamp, self.contact_method)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    type: str
    helpline_id: str
    session_id: str
    timestamp: datetime
    contact_method: str | None
    received_at: datetime
    created: bool


_COLUMNS = (
    "type",
    "partner_id",
    "api_key_prefix",
    "is_test",
    "helpline_id",
    "session_id",
    "timestamp",
    "contact_method",
    "received_at",
)
# The PostgreSQL type of each of _COLUMNS, for the arrays unnest() reads.
_PG_COLUMN_TYPES = (
    "varchar",
    "bigint",
    "varchar",
    "boolean",
    "bigint",
    "varchar",
    "timestamptz",
    "varchar",
    "timestamptz",
)


def record_events(
    *, partner: Partner, api_key: PartnerAPIKey, events: Sequence[NewEvent]
) -> list[StoredEvent]:
    """Store `events` for `partner`, one result per event in order.

    An event identical to one already stored (or to an earlier one in `events`) is not
    stored again: its result carries the stored row and `created=False`. One INSERT for
    all events, plus one SELECT when some were duplicates.
    """
    if not events:
        return []
    received_at = timezone.now()
    distinct: dict[tuple, NewEvent] = {}
    for event in events:
        distinct.setdefault(_key(event.identity), event)

    # One statement, committed on its own (autocommit) before any answer is sent. No
    # enclosing transaction is needed: ON CONFLICT waits for a competing insert of the same
    # event to commit, so the SELECT below always finds the row that won.
    inserted = _insert_ignoring_duplicates(partner, api_key, list(distinct.values()), received_at)
    missing = [event for key, event in distinct.items() if key not in inserted]
    existing = _find_existing(partner, missing) if missing else {}

    results = []
    first_seen: set[tuple] = set()
    for event in events:
        key = _key(event.identity)
        if key in inserted:
            event_id, stored_at = inserted[key], received_at
            created = key not in first_seen  # a repeat inside the same request is a duplicate
            first_seen.add(key)
        else:
            event_id, stored_at = existing[key]
            created = False
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
    partner: Partner, api_key: PartnerAPIKey, events: list[NewEvent], received_at: datetime
) -> dict[tuple, int]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: identity -> id of each row inserted.

    Raw SQL because the ORM's bulk_create(ignore_conflicts=True) returns no ids. On
    PostgreSQL the rows travel as one array per column through unnest(): nine parameters
    whatever the batch size, where a VALUES list of 1,000 rows has 9,000 placeholders for
    the driver to splice (a quarter of a batch's time). SQLite (>= 3.35) takes VALUES.
    """
    ops = connection.ops
    table = ops.quote_name(Event._meta.db_table)
    columns = ", ".join(ops.quote_name(column) for column in _COLUMNS)
    returning = ", ".join(
        ops.quote_name(column)
        for column in ("id", "type", "helpline_id", "session_id", "timestamp", "contact_method")
    )
    rows = [
        (
            event.type,
            partner.pk,
            api_key.prefix,
            api_key.is_test,
            event.helpline_pk,
            event.session_id,
            ops.adapt_datetimefield_value(event.timestamp),
            event.contact_method,
            ops.adapt_datetimefield_value(received_at),
        )
        for event in events
    ]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{sql_type}[]" for sql_type in _PG_COLUMN_TYPES)
        source = f"SELECT * FROM unnest({arrays})"
        params: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    else:
        row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
        source = "VALUES " + ", ".join([row] * len(rows))
        params = [value for values in rows for value in values]
    sql = f"INSERT INTO {table} ({columns}) {source} ON CONFLICT DO NOTHING RETURNING {returning}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchall()
    return {
        _key((type_, helpline_pk, session_id, _as_utc(stamp), contact_method)): event_id
        for event_id, type_, helpline_pk, session_id, stamp, contact_method in inserted
    }


def _find_existing(partner: Partner, events: list[NewEvent]) -> dict[tuple, tuple[int, datetime]]:
    """identity -> (id, received_at) of already stored rows identical to `events`."""
    # Every column of the identity index (event_identity_unique) is narrowed, so the
    # lookup is an index scan, not a scan of the partner's events at that timestamp.
    candidates = Event.objects.filter(
        partner=partner,
        type__in={event.type for event in events},
        helpline_id__in={event.helpline_pk for event in events},
        session_id__in={event.session_id for event in events},
        timestamp__in={event.timestamp for event in events},
        contact_method__in={event.contact_method for event in events},
    ).values_list(
        "id", "type", "helpline_id", "session_id", "timestamp", "contact_method", "received_at"
    )
    return {
        _key((type_, helpline_pk, session_id, stamp, contact_method)): (event_id, stored_at)
        for event_id, type_, helpline_pk, session_id, stamp, contact_method, stored_at in candidates
    }


def _key(identity: tuple[str, int, str, datetime, str]) -> tuple:
    type_, helpline_pk, session_id, stamp, contact_method = identity
    return (type_, int(helpline_pk), session_id, _as_utc(stamp), contact_method)


def _as_utc(value: datetime | str) -> datetime:
    """Normalise a timestamp from a raw cursor (SQLite returns text, naive UTC)."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None, value
        value = parsed
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def count_refusals(*, partner: Partner, codes: Sequence[str], at: datetime) -> None:
    """Add one refusal per entry of `codes` to `partner`'s counters for `at`'s clock hour.

    One upsert per distinct code; the counters are exact under concurrency because the
    increment happens in the database (ON CONFLICT ... DO UPDATE SET count = count + n).
    """
    if not codes:
        return
    hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
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
    aggregates already hold are deleted. In chunks of `chunk_size` rows, each its own
    transaction, so that a purge of months of events neither holds one huge transaction
    nor locks the table for its duration; the `event_time` index finds each chunk.
    """
    mark = prepare_purge(cutoff)
    table = connection.ops.quote_name(Event._meta.db_table)
    select = (
        f'SELECT e.id FROM {table} e WHERE e."timestamp" < %s AND {covered("e", mark)} '
        f"LIMIT {int(chunk_size):d}"
    )
    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(select, [connection.ops.adapt_datetimefield_value(cutoff)])
            chunk = [row[0] for row in cursor.fetchall()]
        if not chunk:
            return deleted
        count, _ = Event.objects.filter(pk__in=chunk).delete()
        deleted += count
