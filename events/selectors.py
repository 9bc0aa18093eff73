"""Named reads of raw events."""

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, Max, Min, QuerySet, Sum, TextField, Value
from django.db.models.functions import NullIf
from django.db.models.sql.compiler import SQLCompiler
from django.utils.timezone import now

from api.utc import as_utc, floor_hour
from events.incoming import refusal_help
from events.metrics import EventFilter
from events.models import Event, KeyDay, RefusedEventCount
from helplines.models import KeyStatus, Partner, PartnerAPIKey

# Every change of UTC offset in the tz database is more than this apart from the next, so
# probing at this step finds them all (two changes inside one step could hide each other).
OFFSET_PROBE_STEP = timedelta(hours=1)


def partner_events(*, partner: Partner, is_test: bool) -> QuerySet:
    """One partner's events as partners see them: live or test, never the other's.

    A live key reads live events and a test key test events, so an integration under test
    never sees (or is confused by) production traffic, and the reverse.
    """
    return (
        Event.objects.filter(partner=partner, is_test=is_test)
        .values("id", "type", "session_id", "timestamp", "received_at")
        # Named apart from the model's fields, which values() may not shadow.
        .annotate(
            helpline_public_id=F("helpline__public_id"),
            contact_method_or_null=NullIf("contact_method", Value("")),
        )
    )


def refusals_by_hour(*, partner_id: int, since: datetime) -> list[tuple[datetime, str, int]]:
    """The partner's refused events since `since`: (UTC hour, code, count), newest hour
    first, then the most frequent code (one query, on the counters only)."""
    return [
        (as_utc(hour), code, count)
        for hour, code, count in RefusedEventCount.objects.filter(
            partner_id=partner_id, hour__gte=since
        )
        .order_by("-hour", "-count", "code")
        .values_list("hour", "code", "count")
    ]


@dataclass(frozen=True, slots=True)
class CodeSummary:
    """One refusal code over a window: how many, when last, what it means, the fix."""

    code: str
    total: int
    last_hour: datetime
    meaning: str
    fix: str


def refusal_summary(rows: list[tuple[datetime, str, int]]) -> list[CodeSummary]:
    """Per code, most refused first, from `refusals_by_hour`'s rows (newest hour first):
    the one count of refusals per code, for staff's partner page and the partner's own."""
    totals: dict[str, int] = {}
    last: dict[str, datetime] = {}
    for hour, code, count in rows:
        totals[code] = totals.get(code, 0) + count
        last.setdefault(code, hour)
    summaries = []
    for code, total in sorted(totals.items(), key=lambda item: (-item[1], item[0])):
        meaning, fix = refusal_help(code)
        summaries.append(CodeSummary(code, total, last[code], meaning, fix))
    return summaries


def raw_events_csv(
    event_filter: EventFilter,
    *,
    tz: ZoneInfo,
    formula_triggers: Sequence[str],
    block_bytes: int,
    using: str | None = None,
) -> Generator[bytes]:
    """The raw events of `event_filter` as PostgreSQL writes them in CSV, oldest first.

    PostgreSQL only: one `COPY (SELECT ...) TO STDOUT`, its rows joined into blocks of
    `block_bytes` or a little more (the last one shorter), each ending with a whole row.
    Columns: id, type, partner slug, helpline public id, session id, timestamp, contact
    method, received_at; each cell is the one `csv.writer` writes for the same event in
    `dashboard.exports.event_rows`:
    - times as `datetime.astimezone(tz).isoformat()` writes them. Their UTC offsets are
      Python's (`_utc_offset_periods`), as every zone rule in this codebase is; the
      database only adds them to UTC times, so its own copy of the tz database, which may
      be older or newer than Python's, never decides one;
    - a text cell starting with one of `formula_triggers` (single characters) gets a
      leading apostrophe; "" is sent as NULL, which COPY writes as nothing (as csv.writer
      writes ""), where it would write "" as `""`.
    Rows end with COPY's "\\n", not csv.writer's "\\r\\n".

    The offsets cover the span of the rows' times, read first; both reads share one
    REPEATABLE READ snapshot, so an event stored meanwhile cannot fall outside it (inside
    a caller's transaction, they run in a savepoint of it instead). A download stopped
    half-way (the generator closed) cancels the COPY and rolls back: the connection is
    left as it was found, ready for the next request.

    Both reads go to the database `using` names, by default where the router sends a read
    of events when the rows are first asked for (config/routers.py). A download decides
    it while its request is routed (`dashboard.exports.events_csv`): the replica when there
    is one, so a large export's work is done away from the primary that stores partners'
    events.
    """
    alias = using or router.db_for_read(Event)
    database = connections[alias]
    events = event_filter.events().using(alias)
    nested = database.in_atomic_block
    with transaction.atomic(using=alias), database.cursor() as cursor:
        if not nested:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # One more read of the range (a few percent of the COPY's time): received_at has
        # no index, and an event may be stored days after it happened.
        span = events.aggregate(
            first=Min("timestamp"),
            last=Max("timestamp"),
            first_received=Min("received_at"),
            last_received=Max("received_at"),
        )
        if span["first"] is None:
            return
        text = {"formula_triggers": formula_triggers}
        rows = events.order_by("timestamp", "id").values_list(
            "id",
            "type",  # one of two choices, never formula-like
            _SpreadsheetText("partner__slug", **text),
            _SpreadsheetText("helpline__public_id", **text),
            _SpreadsheetText("session_id", **text),
            _LocalIsoTime("timestamp", _utc_offset_periods(tz, span["first"], span["last"])),
            # "" or a contact method (constraint event_contact_method_only_on_clicks).
            NullIf("contact_method", Value("")),
            _LocalIsoTime(
                "received_at",
                _utc_offset_periods(tz, span["first_received"], span["last_received"]),
            ),
        )
        select, params = rows.query.sql_with_params()
        # psycopg's own cursor (Django's wraps it) merges the parameters client-side:
        # COPY takes none.
        copy_sql = f"COPY ({select}) TO STDOUT WITH (FORMAT csv)"
        with cursor.cursor.copy(copy_sql, params) as copy:
            # PostgreSQL sends one message per row, gathered here into large chunks
            # (bench/README.md: a chunk per row streamed at a fifth of 256 KiB chunks).
            block = bytearray()
            read = copy.read
            while row := read():
                block += row
                if len(block) >= block_bytes:
                    yield bytes(block)
                    block.clear()
            if block:
                yield bytes(block)


def _utc_offset_periods(
    tz: ZoneInfo, first: datetime, last: datetime
) -> list[tuple[datetime, timedelta]]:
    """The UTC offsets of `tz` from `first` to `last`: (since, offset) pairs in time order,
    the first since `first`; each change is found to the microsecond by bisection."""

    def offset_at(moment: datetime) -> timedelta:
        offset = moment.astimezone(tz).utcoffset()
        assert offset is not None
        return offset

    periods = [(first, offset_at(first))]
    probe = first
    while probe < last:
        ahead = min(probe + OFFSET_PROBE_STEP, last)
        if offset_at(ahead) == periods[-1][1]:
            probe = ahead
            continue
        # The offset changes after `probe`, at `ahead` at the latest.
        while ahead - probe > timedelta(microseconds=1):
            middle = probe + (ahead - probe) / 2
            if offset_at(middle) == periods[-1][1]:
                probe = middle
            else:
                ahead = middle
        periods.append((ahead, offset_at(ahead)))
        probe = ahead
    return periods


def _iso_offset(offset: timedelta) -> str:
    """A UTC offset as isoformat() writes it: +05:45, -03:30, +05:41:16 (local mean time)."""
    return datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[len("2000-01-01T00:00:00") :]


class _ColumnText(Func):
    """Text written from one column by `column_sql`, given the column's SQL and params."""

    output_field = TextField()

    def __init__(self, column: str) -> None:
        super().__init__(F(column))

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        return self.column_sql(column, tuple(column_params))

    def column_sql(
        self, column: str, column_params: tuple[Any, ...]
    ) -> tuple[str, tuple[Any, ...]]:
        raise NotImplementedError


class _SpreadsheetText(_ColumnText):
    """A text column as `dashboard.exports.safe_cell` leaves it, for COPY: with a leading
    apostrophe when it starts with a formula trigger, and "" as NULL (see raw_events_csv)."""

    def __init__(self, column: str, *, formula_triggers: Sequence[str]) -> None:
        super().__init__(column)
        self.codes = ", ".join(str(ord(trigger)) for trigger in formula_triggers)

    def column_sql(
        self, column: str, column_params: tuple[Any, ...]
    ) -> tuple[str, tuple[Any, ...]]:
        # ascii() is the first character's code point (0 for ""): cheaper than a pattern.
        sql = (
            f"CASE WHEN ascii({column}) IN ({self.codes}) THEN '''' || {column} "
            f"ELSE NULLIF({column}, '') END"
        )
        return sql, (*column_params, *column_params, *column_params)


class _LocalIsoTime(_ColumnText):
    """A timestamptz column as `astimezone(tz).isoformat()` writes it, given the zone's UTC
    offsets over the column's span (`_utc_offset_periods`)."""

    def __init__(self, column: str, periods: list[tuple[datetime, timedelta]]) -> None:
        super().__init__(column)
        self.periods = periods

    def column_sql(
        self, column: str, column_params: tuple[Any, ...]
    ) -> tuple[str, tuple[Any, ...]]:
        def local(offset: timedelta) -> tuple[str, list[Any]]:
            # The wall time is UTC plus the offset, which the format writes as a literal
            # (quoted). to_char's .US always writes six digits, isoformat() none when all
            # are zero; no other "." can be in the text.
            wall_time = f'YYYY-MM-DD"T"HH24:MI:SS.US"{_iso_offset(offset)}"'
            sql = f"replace(to_char(({column} AT TIME ZONE 'UTC') + %s, %s), '.000000', '')"
            return sql, [*column_params, offset, wall_time]

        (_, offset), *changes = self.periods
        # CASE WHEN t < (1st change) THEN (1st offset) WHEN t < (2nd change) ... ELSE (last).
        branches: list[str] = []
        params: list[Any] = []
        for since, next_offset in changes:
            sql, local_params = local(offset)
            branches.append(f"WHEN {column} < %s THEN {sql}")
            params += [*column_params, since, *local_params]
            offset = next_offset
        sql, local_params = local(offset)
        params += local_params
        if branches:
            sql = f"CASE {' '.join(branches)} ELSE {sql} END"
        return sql, tuple(params)


# --- a partner's keys, for its page ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyUsage:
    name: str
    prefix: str
    is_test: bool
    status: KeyStatus  # active, revoked or expired, as the API judges the key now
    created: datetime
    expiry_date: datetime | None
    last_used: datetime | None  # when the server last stored an event sent with it
    events: int

    @property
    def last_used_hour(self) -> datetime | None:
        """The clock hour of the last use: what the partner's own pages show."""
        return floor_hour(self.last_used) if self.last_used else None


@dataclass(frozen=True, slots=True)
class SenderUse:
    last: datetime  # when the server last stored an event sent with it
    events: int


def usage_by_sender(partner_id: int) -> dict[str, SenderUse]:
    """Events stored per key prefix or OAuth client label of a partner, and the last time
    one was, from the KeyDay aggregate (one query, never the raw events)."""
    return {
        record["api_key_prefix"]: SenderUse(last=record["last"], events=int(record["events"]))
        for record in KeyDay.objects.filter(partner_id=partner_id)
        .values("api_key_prefix")
        .annotate(last=Max("last_received_at"), events=Sum("events"))
        .order_by()
    }


def key_usage(partner_id: int) -> list[KeyUsage]:
    """A partner's keys with their last use, newest key first (two queries)."""
    used = usage_by_sender(partner_id)
    keys = PartnerAPIKey.objects.filter(partner_id=partner_id).order_by("-created")
    checked_at = now()
    return [
        KeyUsage(
            name=key.name,
            prefix=key.prefix,
            is_test=key.is_test,
            status=key.status(checked_at),
            created=key.created,
            expiry_date=key.expiry_date,
            last_used=used[key.prefix].last if key.prefix in used else None,
            events=used[key.prefix].events if key.prefix in used else 0,
        )
        for key in keys
    ]


def last_event_received(partner_id: int) -> datetime | None:
    """When the server last stored an event from the partner, test keys included."""
    return KeyDay.objects.filter(partner_id=partner_id).aggregate(last=Max("last_received_at"))[
        "last"
    ]
