"""PostgreSQL: the raw events become a table partitioned by month of `timestamp`, with every
event copied across; SQLite keeps the plain table (nothing happens there).

The partitioned table, and why each part is so:
- `id` takes its value from a sequence (`events_event_id_seq`) instead of an identity
  column: Citus refuses to distribute a table with an identity column, and accepts a
  sequence default (/work/shared/FINDINGS.md). Ids stay integers, unique because the one
  sequence hands them out (they continue after the highest id copied).
- The primary key is (partner_id, timestamp, id): PostgreSQL requires every unique key of
  a partitioned table to include the partition key, Citus every unique key of a table
  distributed by partner to include the partner. Its index is named `event_partner_time`,
  the index Django declares on exactly those columns for GET /v1/events, so that one index
  serves both. Django still calls `id` the primary key: nothing but the sequence writes it,
  and the ORM, the admin and the API go on addressing an event by it.
- The identity (`event_identity_unique`) is unchanged; it already holds the partner and
  the timestamp, so "insert or ignore" keeps its guarantee on the partitioned table.
- `event_time` is a BRIN index: events arrive nearly in timestamp order, so block ranges
  summarise them well, at a few kilobytes instead of a B-tree of hundreds of megabytes;
  day scans and exports find their blocks through it (bench/RESULTS.md).
- A default partition catches events of a month that has no partition yet, so an insert
  never fails for want of one (`events.partitions`).

The copy runs in the migration's transaction, with the old table locked against writes
first: an insert waiting on the lock fails when the old table is dropped at commit (the
client gets a 503 and retries, by contract), and one that committed before is copied, so
no event is lost or doubled. Every column is copied, `txid` included, so the rollup's
mark still covers exactly the events it covered.
"""

from datetime import UTC, datetime

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

TABLE = "events_event"
OLD = "events_event_unpartitioned"
INDEXES = ("events_event_pkey", "event_identity_unique", "event_partner_time", "event_time")
COLUMNS = (
    'id, type, is_test, session_id, "timestamp", contact_method, received_at, api_key_prefix, '
    "helpline_id, partner_id, txid"
)
# Partitions are made for the months holding events up to this many months back (older
# events go to the default partition, and retention deletes them) and this many ahead.
MONTHS_BACK = 24
MONTHS_AHEAD = 3


def _month(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def partition(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
    run(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    for index in INDEXES:
        # Constraint-backed indexes are renamed with their constraint.
        run(f"ALTER INDEX {index} RENAME TO {OLD}_{index}")
    run(f"ALTER INDEX event_txid RENAME TO {OLD}_event_txid")
    # Dropping the identity drops its sequence, whose name the new one takes.
    run(f"ALTER TABLE {OLD} ALTER COLUMN id DROP IDENTITY")
    run(f"CREATE SEQUENCE {TABLE}_id_seq AS bigint")
    # LIKE copies the columns in their order, NOT NULL, the txid default and the check
    # constraint on contact methods; keys and indexes are declared for the new table.
    run(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
        'CONSTRAINT event_partner_time PRIMARY KEY (partner_id, "timestamp", id), '
        "CONSTRAINT event_identity_unique UNIQUE "
        '(partner_id, session_id, type, helpline_id, "timestamp", contact_method)'
        ') PARTITION BY RANGE ("timestamp")'
    )
    run(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_seq')")
    run(f"ALTER SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id")
    run(f'CREATE INDEX event_time ON {TABLE} USING brin ("timestamp")')
    run(f"CREATE INDEX event_txid ON {TABLE} (txid)")
    run(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', \"timestamp\" AT TIME ZONE 'UTC') FROM {OLD}"
        )
        months = {_month(month.year, month.month) for (month,) in cursor.fetchall()}
    now = datetime.now(UTC)
    oldest = _month(now.year, now.month - MONTHS_BACK)
    months = {month for month in months if month >= oldest}
    months |= {_month(now.year, now.month + ahead) for ahead in range(MONTHS_AHEAD + 1)}
    for start in sorted(months):
        end = _month(start.year, start.month + 1)
        run(
            f"CREATE TABLE {TABLE}_p{start:%Y_%m} PARTITION OF {TABLE} "
            "FOR VALUES FROM (%s) TO (%s)",
            [start, end],
        )

    run(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")
    run(f"SELECT setval('{TABLE}_id_seq', COALESCE((SELECT max(id) FROM {OLD}), 0) + 1, false)")
    run(f"DROP TABLE {OLD}")
    run(f"ANALYZE {TABLE}")


def unpartition(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Back to one plain table with an identity id, every event copied back."""
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
    run(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    for index in (*INDEXES[1:], "event_txid"):
        run(f"ALTER INDEX {index} RENAME TO {OLD}_{index}")
    run(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
        "CONSTRAINT events_event_pkey PRIMARY KEY (id), "
        "CONSTRAINT event_identity_unique UNIQUE "
        '(partner_id, session_id, type, helpline_id, "timestamp", contact_method))'
    )
    run(f"ALTER TABLE {TABLE} ALTER COLUMN id DROP DEFAULT")
    run(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")
    run(f"DROP TABLE {OLD}")  # and with it the sequence it owned
    run(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    run(
        f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), "
        f"COALESCE((SELECT max(id) FROM {TABLE}), 0) + 1, false)"
    )
    run(f'CREATE INDEX event_partner_time ON {TABLE} (partner_id, "timestamp", id)')
    run(f'CREATE INDEX event_time ON {TABLE} ("timestamp")')
    run(f"CREATE INDEX event_txid ON {TABLE} (txid)")


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_refusal_key_with_partner"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
