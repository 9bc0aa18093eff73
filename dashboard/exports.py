"""The CSV exports, streamed with constant memory whatever their size.

Each file starts with `#` lines stating its filters, time zone and generation time, then
the header row. Every figure comes from `events.metrics`; ratios are written by
`events.metrics.format_ratio`. Text cells that a spreadsheet would run as a formula are
prefixed with an apostrophe. events.csv, the largest, is written by PostgreSQL's COPY on
PostgreSQL, byte for byte as the Python rows would be written.
"""

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, TypedDict, Unpack
from zoneinfo import ZoneInfo

from django.db import connections, router

from dashboard.query import DashboardQuery
from events.columns import EVENT_EXPORT_COLUMNS
from events.metrics import (
    CONTACT_METHODS,
    FIGURE_COLUMNS,
    Dimension,
    EventFilter,
    Metrics,
    figure_cells,
    format_ratio,
    iter_metric_rows,
    metric_rows,
    paired_display_rows,
)
from events.models import BillingStatement, Event
from events.selectors import raw_events_csv
from events.statements import month_last_day, statement_cells, statement_row
from helplines.models import Partner

if TYPE_CHECKING:  # pages imports nothing from here; the type is only named
    from dashboard.pages import HelplineLoad

# Spreadsheets run a cell beginning with one of these as a formula (CWE-1236).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Rows are written out in chunks of about this many characters.
CHUNK_CHARS = 64 * 1024
# events.csv from COPY: chunks of about this many bytes. bench/README.md: 256 KiB chunks
# stream at 0.63 of COPY itself, one chunk per row at 0.14.
COPY_CHUNK_BYTES = 256 * 1024

REPORT_COLUMNS = [
    "date",
    "partner",
    "helpline_id",
    "helpline_name",
    "country_code",
    *FIGURE_COLUMNS,
    *(f"clicks_{method}" for method in CONTACT_METHODS),
]
BILLING_COLUMNS = [
    "partner",
    "partner_name",
    "month",
    "timezone",
    *FIGURE_COLUMNS,
    # "closed": the stored statement, final; "open": the figures so far, which may still
    # move until the month is past the late-arrival window (events.statements).
    "status",
    "closed_at",
    "sha256",  # of the row's first ten cells as one CSV line (events.statements.checksum)
]
PAIRED_COLUMNS = [
    "date",  # a UTC day
    "partner",
    "partner_name",
    "sessions_paired",  # sessions that displayed a service of a pair
    "sessions_alone",  # of those, sessions that displayed one without its pair in the window
    "alone_rate",
]
LOAD_COLUMNS = [
    "helpline_id",
    "helpline_name",
    "country_code",
    "hourly_capacity",
    "status",
    "clicks_this_hour_so_far",
    "clicks_24h",
    "peak_hour_24h",
    "hours_over_24h",
    "peak_hour_7d",
    "hours_over_7d",
]
EVENT_COLUMNS = EVENT_EXPORT_COLUMNS  # events.csv's header, as the admin's export


def safe_cell(value: object) -> object:
    """A text cell a spreadsheet will show as text, never evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class CsvHead(TypedDict):
    """What the `#` lines above a CSV's header say: its title, its filters and settings as
    (name, value) pairs, and when it was generated."""

    title: str
    metadata: Sequence[tuple[str, str]]
    generated_at: datetime


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def stream_csv(
    *, header: Sequence[str], rows: Iterable[Sequence[object]], **head: Unpack[CsvHead]
) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    lines = [csv_head(header=header, **head)]
    buffered = len(lines[0])
    for row in rows:
        line = writer.writerow([safe_cell(cell) for cell in row])
        lines.append(line)
        buffered += len(line)
        if buffered >= CHUNK_CHARS:
            yield "".join(lines)
            lines, buffered = [], 0
    if lines:
        yield "".join(lines)


def csv_head(*, header: Sequence[str], **head: Unpack[CsvHead]) -> str:
    """The `#` lines (title, metadata, generation time) and the header row."""
    lines = [f"# {head['title']}\r\n"]
    lines += [f"# {name}: {_one_line(value)}\r\n" for name, value in head["metadata"]]
    lines.append(f"# generated at: {head['generated_at'].isoformat(timespec='seconds')}\r\n")
    lines.append(csv.writer(_Echo(), lineterminator="\r\n").writerow(header))
    return "".join(lines)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def report_csv(query: DashboardQuery, **head: Unpack[CsvHead]) -> Iterator[str]:
    """report.csv, whole: the `#` lines, the header, then `report_rows(query)`."""
    return stream_csv(header=REPORT_COLUMNS, rows=report_rows(query), **head)


def report_rows(query: DashboardQuery) -> Iterator[list[object]]:
    """report.csv: one row per day x partner x helpline with events, in that order."""
    rows = iter_metric_rows(
        query.event_filter(), [Dimension.DAY, Dimension.PARTNER, Dimension.HELPLINE], query.tz
    )
    for row in rows:
        assert row.day and row.partner and row.helpline
        yield [
            row.day.isoformat(),
            row.partner.slug,
            row.helpline.public_id,
            row.helpline.name,
            row.helpline.country_code,
            *figure_cells(row.metrics),
            *(row.metrics.clicks_by_method[method] for method in CONTACT_METHODS),
        ]


def paired_rows(query: DashboardQuery) -> Iterator[list[object]]:
    """paired.csv: per UTC day and partner with a paired display, the compliance counts
    (sessions only counted, never named)."""
    partner_ids = frozenset({query.partner.pk}) if query.partner else frozenset()
    for row in paired_display_rows(query.first_day, query.last_day, partner_ids=partner_ids):
        assert row.day and row.partner
        yield [
            row.day.isoformat(),
            row.partner.slug,
            row.partner.name,
            row.sessions_paired,
            row.sessions_alone,
            format_ratio(row.alone_rate),
        ]


def load_rows(loads: Iterable["HelplineLoad"]) -> Iterator[list[object]]:
    """load.csv: the load page's table, one row per priority helpline, its status in the
    page's words."""
    for item in loads:
        capacity = item.helpline.hourly_capacity
        yield [
            item.helpline.public_id,
            item.helpline.name,
            item.helpline.country_code,
            "" if capacity is None else capacity,
            item.status,
            item.this_hour,
            item.clicks_24h,
            item.peak_24h,
            item.over_24h,
            item.peak_7d,
            item.over_7d,
        ]


def billing_rows(month: date, partner: Partner | None) -> Iterator[list[object]]:
    """billing.csv: one row per partner (all partners, or one) for a calendar month.

    A closed month is its stored statement, as it was closed; an open one is read live in
    each partner's billing time zone, partners grouped by time zone: one query per distinct
    billing time zone, not per partner.
    """
    partners = [partner] if partner else list(Partner.objects.order_by("slug"))
    closed = {
        statement.partner_id: statement
        for statement in BillingStatement.objects.filter(
            month=month, partner__in=[each.pk for each in partners]
        )
    }
    by_timezone: dict[str, list[Partner]] = defaultdict(list)
    for each in partners:
        if each.pk not in closed:
            by_timezone[each.billing_timezone].append(each)
    last_day = month_last_day(month)
    figures: dict[int, Metrics] = {}
    for tz_name, members in by_timezone.items():
        tz = ZoneInfo(tz_name)
        event_filter = EventFilter.for_days(
            month, last_day, tz, partner_ids=frozenset(p.pk for p in members)
        )
        for row in metric_rows(event_filter, [Dimension.PARTNER], tz):
            assert row.partner is not None
            figures[row.partner.id] = row.metrics
    for each in partners:
        if (statement := closed.get(each.pk)) is not None:
            closed_at = statement.closed_at.astimezone(UTC).isoformat(timespec="seconds")
            yield [*statement_row(statement), "closed", closed_at, statement.sha256]
            continue
        cells = statement_cells(
            slug=each.slug,
            name=each.name,
            month=month,
            timezone=each.billing_timezone,
            metrics=figures.get(each.pk, Metrics()),
        )
        yield [*cells, "open", "", ""]


def event_rows(query: DashboardQuery, using: str | None = None) -> Iterator[list[object]]:
    """events.csv: the raw events of `query`, oldest first, read in chunks (from the
    database `using` names, by default the router's choice)."""
    events = (
        query.event_filter()
        .events()
        .using(using)
        .order_by("timestamp", "id")
        .values_list(
            "id",
            "type",
            "partner__slug",
            "helpline__public_id",
            "session_id",
            "timestamp",
            "contact_method",
            "received_at",
        )
    )
    for id_, type_, partner, helpline, session, stamp, method, received in events.iterator(
        chunk_size=2000
    ):
        yield [
            id_,
            type_,
            partner,
            helpline,
            session,
            stamp.astimezone(query.tz).isoformat(),
            method,
            received.astimezone(query.tz).isoformat(),
        ]


def events_csv(query: DashboardQuery, **head: Unpack[CsvHead]) -> Iterator[bytes]:
    """events.csv, whole: the `#` lines, the header, then `event_rows(query)` as
    `stream_csv` writes them.

    On PostgreSQL the rows are written by the database (`raw_events_csv`, COPY) at many
    times the speed of Python's csv.writer, to the same bytes: tests/dashboard compare the
    two. SQLite, the development database, keeps the Python rows.

    Where the rows are read is decided now: the file is written after the view has
    returned, when the request's routing (config/routers.py) no longer applies.
    """
    return _events_csv(query, router.db_for_read(Event), head)


def _events_csv(query: DashboardQuery, using: str, head: CsvHead) -> Iterator[bytes]:
    if connections[using].vendor != "postgresql":
        for chunk in stream_csv(header=EVENT_COLUMNS, rows=event_rows(query, using), **head):
            yield chunk.encode()
        return
    yield csv_head(header=EVENT_COLUMNS, **head).encode()
    rows = raw_events_csv(
        query.event_filter(),
        tz=query.tz,
        formula_triggers=FORMULA_TRIGGERS,
        block_bytes=COPY_CHUNK_BYTES,
        using=using,
    )
    try:
        yield from crlf_row_ends(rows)
    finally:
        # A download stopped half-way (this generator closed) stops the COPY now, not
        # whenever the garbage collector gets to it: see raw_events_csv.
        rows.close()


def crlf_row_ends(chunks: Iterable[bytes]) -> Iterator[bytes]:
    r"""CSV chunks whose rows end with "\n" (COPY's), with the "\r\n" of csv.writer instead.

    A "\n" inside a quoted cell is data and stays as it is. Quotes inside a cell are
    doubled, so a "\n" is inside a cell exactly when an odd number of quotes precede it
    in the file: splitting on quotes, every other piece is outside the cells' quotes.
    """
    quoted = False  # whether the file so far has an odd number of quotes
    for chunk in chunks:
        if not quoted and b'"' not in chunk:
            yield chunk.replace(b"\n", b"\r\n")
            continue
        pieces = chunk.split(b'"')
        outside = slice(1 if quoted else 0, None, 2)
        pieces[outside] = [piece.replace(b"\n", b"\r\n") for piece in pieces[outside]]
        quoted ^= len(pieces) % 2 == 0  # an odd number of quotes in this chunk
        yield b'"'.join(pieces)
