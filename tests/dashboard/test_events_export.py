"""events.csv byte for byte: the file the Python rows write (SQLite), and the same bytes from
PostgreSQL's COPY, for tricky cells, every kind of UTC offset, and stopped downloads."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.http import StreamingHttpResponse
from django.test import Client
from psycopg.pq import TransactionStatus

from dashboard import exports
from dashboard.query import DashboardQuery
from events.models import Event, EventType
from events.selectors import raw_events_csv
from events.services import NewEvent, record_events
from helplines.models import Helpline, PartnerAPIKey
from tests.conftest import IssuedKey

GENERATED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
METADATA = [("time zone", "test")]
# Tricky session ids (stored as sent; the API refuses most of them, the database does not).
SESSIONS = [
    "-abc",  # formula triggers: a leading apostrophe
    "+1",
    "=SUM(A1)",
    "@here",
    "\ttab",
    "\rreturn",
    "plain",
    "com,ma",  # quoted
    'q"uote',  # quoted, the quote doubled
    "line\nbreak",  # quoted, the \n kept as it is while row ends become \r\n
    "",  # an empty cell, not ""
    "élan",
]


def record(
    key: PartnerAPIKey,
    helpline: Helpline,
    session: str,
    when: datetime,
    *,
    received: datetime | None = None,
    method: str = "",
) -> None:
    """One event through the product's write path, stored at `received` (or 0.25 s after)."""
    with time_machine.travel(received or when + timedelta(milliseconds=250), tick=False):
        record_events(
            partner=key.partner,
            api_key=key,
            events=[
                NewEvent(
                    type=EventType.CLICK if method else EventType.DISPLAY,
                    helpline_pk=helpline.pk,
                    helpline_id=helpline.public_id,
                    session_id=session,
                    timestamp=when,
                    contact_method=method,
                )
            ],
        )


def python_rows(query: DashboardQuery) -> bytes:
    """events.csv as `event_rows` and csv.writer write it: the file as it always was."""
    return b"".join(
        chunk.encode()
        for chunk in exports.stream_csv(
            title="t",
            metadata=METADATA,
            header=exports.EVENT_COLUMNS,
            rows=exports.event_rows(query),
            generated_at=GENERATED_AT,
        )
    )


def events_csv(query: DashboardQuery) -> bytes:
    """events.csv as the view writes it (COPY on PostgreSQL), with python_rows' head."""
    return b"".join(copy_chunks(query))


def copy_chunks(query: DashboardQuery) -> list[bytes]:
    return list(exports.events_csv(query, title="t", metadata=METADATA, generated_at=GENERATED_AT))


@pytest.fixture
def odd_helpline(db: None) -> Helpline:
    return Helpline.objects.create(public_id='-line, "two"', name="Odd", country_code="FR")


def test_events_csv_is_exactly_these_bytes(
    transactional_db: None,
    staff_client: Client,
    live_key: IssuedKey,
    test_key: IssuedKey,
    helpline: Helpline,
    odd_helpline: Helpline,
) -> None:
    """On SQLite the Python rows, on PostgreSQL COPY: the same file, to the byte."""
    key = live_key.key
    # Paris leaves summer time on 2026-10-25 at 01:00 UTC (03:00 +02:00 -> 02:00 +01:00).
    record(key, helpline, "-abc", datetime(2026, 10, 24, 22, 30, tzinfo=UTC))
    record(
        key,
        helpline,
        "com,ma",
        datetime(2026, 10, 25, 0, 59, 59, 999999, tzinfo=UTC),
        received=datetime(2026, 10, 25, 1, 0, 0, 500000, tzinfo=UTC),
        method="phone",
    )
    record(
        key,
        odd_helpline,
        'q"uote',
        datetime(2026, 10, 25, 1, tzinfo=UTC),
        received=datetime(2026, 10, 25, 1, 0, 1, tzinfo=UTC),
    )
    record(key, odd_helpline, "line\nbreak", datetime(2026, 10, 26, 12, 0, 0, 1, tzinfo=UTC))
    record(key, helpline, "\rreturn", datetime(2026, 10, 26, 22, 59, 58, tzinfo=UTC))
    record(key, helpline, "", datetime(2026, 10, 26, 22, 59, 59, tzinfo=UTC))
    record(key, helpline, "next-day", datetime(2026, 10, 26, 23, tzinfo=UTC))  # Oct 27, Paris
    record(test_key.key, helpline, "test", datetime(2026, 10, 25, 9, tzinfo=UTC))  # test traffic
    ids = list(Event.objects.filter(is_test=False).order_by("timestamp", "id").values_list("id"))
    (a,), (b,), (c,), (d,), (e,), (f,) = ids[:6]
    line = helpline.public_id

    with time_machine.travel(GENERATED_AT, tick=False):
        response = staff_client.get(
            "/dashboard/export/events.csv",
            {"start": "2026-10-24", "end": "2026-10-26", "tz": "Europe/Paris"},
        )
        assert isinstance(response, StreamingHttpResponse)
        content = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="events-2026-10-24-2026-10-26-Europe_Paris.csv"'
    )
    assert (
        content
        == (
            "# Throughline raw events\r\n"
            "# start: 2026-10-24\r\n"
            "# end: 2026-10-26\r\n"
            "# partner: all\r\n"
            "# country: all\r\n"
            "# helpline: all\r\n"
            "# time zone: Europe/Paris\r\n"
            "# test traffic: excluded\r\n"
            "# generated at: 2026-11-02T10:00:00+01:00\r\n"
            "id,type,partner,helpline_id,session_id,timestamp,contact_method,received_at\r\n"
            f"{a},helpline_display,acme,{line},'-abc,2026-10-25T00:30:00+02:00,,"
            "2026-10-25T00:30:00.250000+02:00\r\n"
            f'{b},helpline_click,acme,{line},"com,ma",2026-10-25T02:59:59.999999+02:00,phone,'
            "2026-10-25T02:00:00.500000+01:00\r\n"
            f'{c},helpline_display,acme,"\'-line, ""two""","q""uote",2026-10-25T02:00:00+01:00,,'
            "2026-10-25T02:00:01+01:00\r\n"
            f'{d},helpline_display,acme,"\'-line, ""two""","line\nbreak",'
            "2026-10-26T13:00:00.000001+01:00,,2026-10-26T13:00:00.250001+01:00\r\n"
            f'{e},helpline_display,acme,{line},"\'\rreturn",2026-10-26T23:59:58+01:00,,'
            "2026-10-26T23:59:58.250000+01:00\r\n"
            f"{f},helpline_display,acme,{line},,2026-10-26T23:59:59+01:00,,"
            "2026-10-26T23:59:59.250000+01:00\r\n"
        ).encode()
    )


# Instants where some zone's UTC offset changes in 2026, and the zones read around them.
CHANGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York, summer time
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Europe, summer time
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe Island, back by half an hour
    datetime(2026, 4, 4, 14, tzinfo=UTC),  # Chatham Islands (+13:45 -> +12:45)
    datetime(2026, 9, 26, 14, tzinfo=UTC),  # Chatham Islands (+12:45 -> +13:45)
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe Island, forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # Europe, winter time
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York, winter time
]
ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/St_Johns",  # -03:30 / -02:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # +10:30 / +11:00
    "Pacific/Chatham",  # +12:45 / +13:45
]


@pytest.mark.postgres
def test_copy_writes_the_bytes_of_the_python_rows_in_every_zone(
    live_key: IssuedKey, helpline: Helpline, odd_helpline: Helpline
) -> None:
    key = live_key.key
    moments = [
        change + shift
        for change in CHANGES
        for shift in (
            timedelta(microseconds=-1),
            timedelta(0),
            timedelta(microseconds=1),
            timedelta(minutes=29, seconds=59, microseconds=500000),
        )
    ]
    moments += [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=9 * n, seconds=n) for n in range(41)
    ]
    for number, moment in enumerate(moments):
        record(
            key,
            odd_helpline if number % 3 == 0 else helpline,
            SESSIONS[number % len(SESSIONS)],
            moment,
            # Stored on the other side of the same change, now and then.
            received=moment + timedelta(hours=-1 if number % 4 == 1 else 1, microseconds=number),
            method="sms" if number % 5 == 0 else "",
        )

    for zone in ZONES:
        query = DashboardQuery(
            first_day=date(2025, 12, 31), last_day=date(2027, 1, 1), tz=ZoneInfo(zone)
        )
        expected = python_rows(query)
        assert expected.count(b"\r\n") > len(moments), zone  # every row is there
        assert events_csv(query) == expected, zone


@pytest.mark.postgres
def test_copy_writes_old_local_mean_time_offsets_with_seconds(
    live_key: IssuedKey, helpline: Helpline
) -> None:
    record(live_key.key, helpline, "old", datetime(1900, 6, 1, 12, 0, 0, 120000, tzinfo=UTC))
    record(live_key.key, helpline, "older", datetime(1880, 6, 1, 12, tzinfo=UTC))
    for zone, offset in [("Asia/Kathmandu", b"+05:41:16"), ("America/New_York", b"-04:56:02")]:
        query = DashboardQuery(
            first_day=date(1870, 1, 1), last_day=date(1901, 1, 1), tz=ZoneInfo(zone)
        )
        assert events_csv(query) == python_rows(query), zone
        assert offset in events_csv(query), zone


@pytest.mark.postgres
def test_copy_answers_an_empty_range_with_the_head_only(
    live_key: IssuedKey, helpline: Helpline
) -> None:
    record(live_key.key, helpline, "elsewhere", datetime(2026, 10, 1, tzinfo=UTC))
    query = DashboardQuery(
        first_day=date(2026, 11, 1), last_day=date(2026, 11, 2), tz=ZoneInfo("Europe/Paris")
    )
    assert events_csv(query) == python_rows(query)
    assert events_csv(query).endswith(
        b"\r\nid,type,partner,helpline_id,session_id,timestamp,contact_method,received_at\r\n"
    )


def test_row_ends_become_crlf_but_newlines_inside_quoted_cells_stay() -> None:
    # Cells: a\nb"c, then "\n (a quote and a newline); chunks end inside quoted cells.
    chunks = [b'1,"a\n', b'b""c",x\n2,"', b'""\n",y\n3,z\n']
    assert b"".join(exports.crlf_row_ends(chunks)) == b'1,"a\nb""c",x\r\n2,"""\n",y\r\n3,z\r\n'
    assert list(exports.crlf_row_ends([b"1,a\n2,b\n"])) == [b"1,a\r\n2,b\r\n"]


def many_events(key: PartnerAPIKey, helpline: Helpline, count: int) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    record_events(
        partner=key.partner,
        api_key=key,
        events=[
            NewEvent(
                type=EventType.DISPLAY,
                helpline_pk=helpline.pk,
                helpline_id=helpline.public_id,
                session_id=f"session-{number:06}",
                timestamp=start + timedelta(seconds=number, microseconds=number),
            )
            for number in range(count)
        ],
    )


@pytest.mark.postgres
def test_copy_is_sent_in_chunks_of_whole_rows_of_about_256_kib(
    live_key: IssuedKey, helpline: Helpline
) -> None:
    many_events(live_key.key, helpline, 6000)  # ~160 bytes a row: about 900 KiB
    query = DashboardQuery(
        first_day=date(2026, 11, 1), last_day=date(2026, 11, 2), tz=ZoneInfo("UTC")
    )

    head, *chunks = copy_chunks(query)

    assert head.startswith(b"# t\r\n") and head.endswith(b"received_at\r\n")
    assert len(chunks) == 4
    # At least 256 KiB of COPY's rows, then one \r per row on top.
    assert all(
        exports.COPY_CHUNK_BYTES + chunk.count(b"\n")
        <= len(chunk)
        < exports.COPY_CHUNK_BYTES + chunk.count(b"\n") + 200
        for chunk in chunks[:-1]
    )
    assert all(chunk.endswith(b"\r\n") for chunk in chunks)
    assert head + b"".join(chunks) == python_rows(query)


@pytest.mark.postgres
def test_a_download_stopped_half_way_leaves_the_connection_ready_for_the_next_request(
    transactional_db: None,
    staff_client: Client,
    live_key: IssuedKey,
    helpline: Helpline,
) -> None:
    many_events(live_key.key, helpline, 6000)
    params = {"start": "2026-11-01", "end": "2026-11-02"}

    response = staff_client.get("/dashboard/export/events.csv", params)
    assert isinstance(response, StreamingHttpResponse)
    content = iter(response.streaming_content)
    next(content), next(content)  # the head, then the first 256 KiB of rows
    response.close()  # what the server does when the client goes away

    assert not connection.in_atomic_block and connection.get_autocommit()
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    assert Event.objects.count() == 6000
    again = staff_client.get("/dashboard/export/events.csv", params)
    assert isinstance(again, StreamingHttpResponse)
    assert b"".join(again.streaming_content).count(b"\r\n") == 10 + 6000


@pytest.mark.postgres
def test_a_download_stopped_inside_a_transaction_rolls_back_to_its_savepoint_only(
    live_key: IssuedKey, helpline: Helpline
) -> None:
    many_events(live_key.key, helpline, 3000)
    query = DashboardQuery(
        first_day=date(2026, 11, 1), last_day=date(2026, 11, 2), tz=ZoneInfo("UTC")
    )

    with transaction.atomic():
        written = Helpline.objects.create(public_id="written", name="W", country_code="GB")
        rows = raw_events_csv(
            query.event_filter(),
            tz=query.tz,
            formula_triggers=exports.FORMULA_TRIGGERS,
            block_bytes=4096,
        )
        next(rows)
        rows.close()
        # The transaction goes on, with what it wrote before the export.
        assert Event.objects.count() == 3000
        assert Helpline.objects.filter(pk=written.pk).exists()

    assert Helpline.objects.filter(pk=written.pk).exists()
