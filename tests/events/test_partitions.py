"""PostgreSQL: the raw events partitioned by month, the migration that converts a database
holding events, partitions created ahead and dropped by retention, and the Citus-ready shape
of every partner-owned table. SQLite keeps the plain table (the last test)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from events.models import Event
from events.partitions import (
    DEFAULT_PARTITION,
    drop_partitions_before,
    ensure_partitions,
    is_partitioned,
    partitions,
)
from events.rollup import covered, roll_up
from events.services import record_events
from helplines.models import Helpline, Partner
from tests.conftest import IssuedKey, new_event

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitioning is PostgreSQL's"
)

# Every table whose rows belong to one partner: distributed by partner under Citus. The
# others (helplines, topics, partners, keys, statements, load, rollup state) are reference
# tables, replicated whole (docs/SCALING.md).
PARTNER_OWNED = {
    "events_event",
    "events_refusedeventcount",
    "events_quarterhourcount",
    "events_daycount",
    "events_daysessioncount",
    "events_keyday",
    "events_paireddisplayday",
    "helplines_directorycallbucket",
}


# Small tables that name a partner but are read on every request or by the coordinator
# alone (keys, memberships, OAuth clients, closed statements): reference tables.
REFERENCE_WITH_PARTNER = {
    "events_billingstatement",
    "helplines_partnerapikey",
    "accounts_partnermembership",
    "oauth_partnerclient",
}


def rows_of(table: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")
        return cursor.fetchall()


def where(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM events_event WHERE id = %s", [event_id]
        )
        (table,) = cursor.fetchone()
    return table


@postgresql
def test_every_unique_key_of_a_partner_owned_table_holds_the_partner_and_no_id_is_identity(
    db: None,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.relname, i.relname, array_agg(a.attname::text ORDER BY a.attname) "
            "FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey) "
            "WHERE x.indisunique AND t.relname = ANY(%s) GROUP BY t.relname, i.relname",
            [sorted(PARTNER_OWNED)],
        )
        unique = cursor.fetchall()
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE is_identity = 'YES' AND table_name = ANY(%s)",
            [sorted(PARTNER_OWNED)],
        )
        identity_columns = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE a.attname = 'partner_id' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND c.relpersistence <> 't'"
        )
        with_partner = {name for (name,) in cursor.fetchall()}

    assert {table for table, _, _ in unique} == PARTNER_OWNED  # each has a unique key
    assert [(t, i) for t, i, columns in unique if "partner_id" not in columns] == []
    assert identity_columns == []
    # Any other table naming a partner is a declared reference table: a new one must be
    # placed on one side or the other.
    assert with_partner - PARTNER_OWNED <= REFERENCE_WITH_PARTNER
    assert {"events_billingstatement", "helplines_partnerapikey"} <= with_partner


@postgresql
def test_the_events_table_is_partitioned_by_month_with_a_default_partition(db: None) -> None:
    assert is_partitioned()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_partkeydef('events_event'::regclass), "
            "(SELECT amname FROM pg_am JOIN pg_class c ON c.relam = pg_am.oid "
            "WHERE c.relname = 'event_time'), "
            "pg_get_constraintdef("
            "(SELECT oid FROM pg_constraint WHERE conname = 'event_partner_time'))"
        )
        assert cursor.fetchone() == (
            'RANGE ("timestamp")',
            "brin",
            'PRIMARY KEY (partner_id, "timestamp", id)',
        )
    names = [partition.name for partition in partitions()]
    assert names == sorted(names) and len(names) >= 4
    for partition in partitions():
        assert partition.start.day == 1 and partition.end == (
            partition.start + timedelta(days=32)
        ).replace(day=1)


@postgresql
def test_a_retry_is_one_row_in_the_right_partition(
    db: None, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    moment = datetime.now(UTC) - timedelta(hours=1)
    event = new_event(helpline, "sess_retry", moment)
    [first] = record_events(partner=partner, api_key=live_key.key, events=[event])
    [again, other] = record_events(
        partner=partner,
        api_key=live_key.key,
        events=[event, new_event(helpline, "sess_other", moment)],
    )

    assert (first.created, again.created, other.created) == (True, False, True)
    assert again.id == first.id
    assert Event.objects.count() == 2
    assert where(first.id) == f"events_event_p{moment:%Y_%m}"


@postgresql
def test_a_new_partition_takes_its_months_events_out_of_the_default(
    db: None, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    may = datetime(2020, 5, 17, 9, 30, tzinfo=UTC)
    stored = record_events(
        partner=partner,
        api_key=live_key.key,
        events=[new_event(helpline, "a", may), new_event(helpline, "b", may + timedelta(days=20))],
    )
    assert [where(event.id) for event in stored] == [DEFAULT_PARTITION] * 2

    created = ensure_partitions(first=may, last=may)

    assert created == ["events_event_p2020_05"]
    assert [where(event.id) for event in stored] == ["events_event_p2020_05", DEFAULT_PARTITION]
    assert ensure_partitions(first=may, last=may) == []  # idempotent


@postgresql
def test_retention_drops_whole_covered_months_and_keeps_the_others(
    transactional_db: None, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> None:
    def store(session: str, moment: datetime) -> int:
        [event] = record_events(
            partner=partner, api_key=live_key.key, events=[new_event(helpline, session, moment)]
        )
        return event.id

    ensure_partitions(first=datetime(2020, 3, 1, tzinfo=UTC), last=datetime(2020, 5, 1, tzinfo=UTC))
    march = [store(f"m{n}", datetime(2020, 3, 1 + n, tzinfo=UTC)) for n in range(3)]
    roll_up()
    april = store("april", datetime(2020, 4, 10, tzinfo=UTC))  # not yet rolled up
    may = store("may", datetime(2020, 5, 2, tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute("SELECT mark FROM events_rollupstate")
        (mark,) = cursor.fetchone()

    dropped = drop_partitions_before(
        cutoff=datetime(2020, 5, 15, tzinfo=UTC), covered_sql=covered("e", mark)
    )

    assert [(p.name, p.events) for p in dropped] == [("events_event_p2020_03", 3)]
    names = [partition.name for partition in partitions()]
    assert "events_event_p2020_03" not in names
    assert {"events_event_p2020_04", "events_event_p2020_05"} <= set(names)  # April reattached
    assert not Event.objects.filter(id__in=march).exists()
    assert set(Event.objects.values_list("id", flat=True)) == {april, may}
    assert where(april) == "events_event_p2020_04"


@postgresql
def test_the_migration_converts_a_database_holding_events_losing_none(
    transactional_db: None, partner: Partner
) -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("events")
    executor.migrate([("events", "0006_refusal_key_with_partner")])
    assert not is_partitioned()
    partner_id = partner.pk
    with connection.cursor() as cursor:
        # Events over three years (the oldest beyond the months given partitions: they go
        # to the default partition), in the current month, and clicks beside displays.
        cursor.execute(
            "INSERT INTO events_event (type, partner_id, api_key_prefix, is_test, helpline_id, "
            'session_id, "timestamp", contact_method, received_at) '
            "SELECT CASE WHEN n %% 3 = 0 THEN 'helpline_click' ELSE 'helpline_display' END, "
            "%s, 'abcdefgh', n %% 5 = 0, 1 + n %% 4, 'sess_' || n, "
            "now() - (n * interval '3 hours'), "
            "CASE WHEN n %% 3 = 0 THEN 'phone' ELSE '' END, now() "
            "FROM generate_series(1, 9000) n",
            [partner_id],
        )
    before = rows_of("events_event")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    assert is_partitioned()
    assert rows_of("events_event") == before  # every column, txid included
    assert len(before) == 9000
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {DEFAULT_PARTITION}")
        (in_default,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO events_event (type, partner_id, api_key_prefix, is_test, helpline_id, "
            "session_id, \"timestamp\", contact_method, received_at) VALUES ('helpline_display', "
            "%s, 'abcdefgh', false, 1, 'new', now(), '', now()) RETURNING id",
            [partner_id],
        )
        (new_id,) = cursor.fetchone()
    assert 0 < in_default < 9000  # events older than 24 months
    assert new_id == max(row[0] for row in before) + 1

    # And back: one plain table again, every event still there.
    executor = MigrationExecutor(connection)
    executor.migrate([("events", "0006_refusal_key_with_partner")])
    assert not is_partitioned()
    assert len(rows_of("events_event")) == 9001
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)
    assert is_partitioned()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's plain table")
def test_sqlite_keeps_the_plain_table(db: None) -> None:
    assert not is_partitioned()
    assert partitions() == []
    assert ensure_partitions(first=datetime(2020, 1, 1, tzinfo=UTC), last=datetime.now(UTC)) == []
