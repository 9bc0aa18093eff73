"""The read replica against a real streaming replica on this machine, in one command (as
root, with the local PostgreSQL 15 cluster on 127.0.0.1:5432):

    .venv/bin/python bench/replica.py [--port 5433]

Sets up, checks, and tears down:
1. lets replication connections from 127.0.0.1 into the main cluster (one pg_hba.conf line,
   marked, and a reload; both undone at the end) unless they already are;
2. `pg_basebackup -R -X stream` of the main cluster into a temporary directory, started as
   a hot standby on --port: a second PostgreSQL 15 instance fed by streaming replication;
3. with the product's own settings (DATABASE_URL the primary database `throughline_h13_replica`,
   created and migrated here, DATABASE_REPLICA_URL the same database on the standby):
   - events stored on the primary and rolled up reach the replica; how long that took;
   - the router sends the dashboard's reads there (the alias each query ran on), and the
     rest to the primary;
   - replay paused on the standby, more events and a rollup on the primary: /healthz
     shows the lag growing, the dashboard the older freshness time, the primary the new
     figures; replay resumed: the replica catches up and the lag is 0 again;
4. stops the standby, deletes its directory, removes the pg_hba.conf line, drops the
   database.

Appends a section to bench/RESULTS.md; exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
HBA = Path("/etc/postgresql/15/main/pg_hba.conf")
HBA_LINE = "host replication postgres 127.0.0.1/32 trust  # bench/replica.py, removed after"
BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "throughline_h13_replica"


def run(*command: str, user: str | None = None) -> str:
    if user:
        command = ("runuser", "-u", user, "--", *command)
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def psql(sql: str, port: int = 5432, database: str = "postgres") -> str:
    return run(
        "psql",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        "postgres",
        "-d",
        database,
        "-tAc",
        sql,
    ).strip()


def allow_replication() -> bool:
    """Add the pg_hba.conf line if replication from 127.0.0.1 is not already allowed;
    returns whether it was added (and so must be removed)."""
    lines = HBA.read_text().splitlines()
    if any(line.split()[:2] == ["host", "replication"] for line in lines if line.strip()):
        return False
    HBA.write_text("\n".join([HBA_LINE, *lines]) + "\n")
    psql("SELECT pg_reload_conf()")
    return True


def disallow_replication() -> None:
    HBA.write_text(
        "\n".join(line for line in HBA.read_text().splitlines() if line != HBA_LINE) + "\n"
    )
    psql("SELECT pg_reload_conf()")


def start_standby(directory: Path, port: int) -> None:
    run("chown", "postgres:postgres", str(directory))
    data = directory / "data"
    run(
        str(BIN / "pg_basebackup"),
        "-h",
        "127.0.0.1",
        "-p",
        "5432",
        "-U",
        "postgres",
        "-D",
        str(directory / "data"),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        user="postgres",
    )
    # Debian keeps the main cluster's configuration in /etc, so the copy has none: the
    # standby runs on defaults, with its own access rules.
    (data / "postgresql.conf").write_text("hot_standby = on\n")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    (data / "pg_ident.conf").write_text("")
    run(
        "chown",
        "postgres:postgres",
        *(str(data / name) for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf")),
    )
    options = f"-p {port} -k {directory} -c config_file={data}/postgresql.conf"
    run(
        str(BIN / "pg_ctl"),
        "-D",
        str(directory / "data"),
        "-l",
        str(directory / "log"),
        "-o",
        options,
        "-w",
        "start",
        user="postgres",
    )


def stop_standby(directory: Path) -> None:
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(BIN / "pg_ctl"),
            "-D",
            str(directory / "data"),
            "-m",
            "fast",
            "-w",
            "stop",
        ],
        capture_output=True,
    )


def django_checks(port: int) -> list[tuple[str, str, bool]]:
    """The product against the standby: [(check, measured, passed)]."""
    os.environ.update(
        DEBUG="true",
        SECRET_KEY="bench-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        DATABASE_REPLICA_URL=f"postgres://postgres@127.0.0.1:{port}/{DATABASE}",
        DJANGO_SETTINGS_MODULE="config.settings",
        ALLOWED_HOSTS="testserver",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from config.routers import REPLICA, replica_reads
    from events.freshness import figures_as_of
    from events.models import Event, EventType, QuarterHourCount, RollupState
    from events.rollup import roll_up
    from events.services import NewEvent, record_events
    from helplines.models import Helpline, Partner
    from helplines.services import issue_key

    checks: list[tuple[str, str, bool]] = []
    partner = Partner.objects.create(name="Replica bench", slug="replica-bench")
    key, _ = issue_key(partner=partner, name="bench")
    helpline = Helpline.objects.create(
        public_id="replica-bench-1", name="Bench line", country_code="GB"
    )
    user = get_user_model().objects.create_superuser("replica-bench", "bench@example.org", "x")
    client = Client()
    client.force_login(user)

    def store(count: int, prefix: str) -> None:
        now = datetime.now(UTC)
        events = [
            NewEvent(
                EventType.DISPLAY,
                helpline.pk,
                helpline.public_id,
                f"{prefix}{n}",
                now - timedelta(seconds=n),
            )
            for n in range(count)
        ]
        record_events(partner=partner, api_key=key, events=events)

    def on_replica(query: Callable[[], int]) -> int:
        with replica_reads():
            return query()

    def replica_freshness() -> datetime | None:
        with replica_reads():
            return figures_as_of()

    # 1. Replication of stored and rolled-up events.
    store(2000, "a")
    roll_up()
    primary_total = QuarterHourCount.objects.using("default").count()
    started = time.monotonic()
    while Event.objects.using(REPLICA).count() != 2000 or replica_freshness() != figures_as_of():
        if time.monotonic() - started > 30:
            break
        time.sleep(0.01)
    caught_up = time.monotonic() - started
    checks.append(
        (
            "2,000 events and their rollup visible on the replica",
            f"after {caught_up * 1000:.0f} ms",
            Event.objects.using(REPLICA).count() == 2000 and caught_up < 30,
        )
    )

    # 2. The router: which alias each query ran on.
    with CaptureQueriesContext(connections[REPLICA]) as on_standby:
        response = client.get("/dashboard/")
    checks.append(
        (
            "GET /dashboard/ reads its figures from the replica",
            f"{len(on_standby)} queries on the replica, status {response.status_code}",
            response.status_code == 200 and len(on_standby) > 0,
        )
    )
    with replica_reads():
        routed = (Event.objects.all().db, Partner.objects.all().db)
    checks.append(
        (
            "events on the replica, partners on the primary",
            f"{routed}",
            routed == (REPLICA, "default"),
        )
    )
    health = client.get("/healthz").json()
    checks.append(("/healthz when caught up", str(health), health.get("replica_lag_seconds") == 0))

    # 3. Lag: replay paused on the standby. The last rollup is dated an hour back first
    # (and replicated), so the page's minute tells the replica's time from the primary's.
    an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    RollupState.objects.filter(pk=1).update(last_run_at=an_hour_ago)
    started = time.monotonic()
    while replica_freshness() != an_hour_ago and time.monotonic() - started < 30:
        time.sleep(0.01)
    psql("SELECT pg_wal_replay_pause()", port=port)
    before = replica_freshness()
    time.sleep(1.5)
    store(500, "b")
    roll_up()
    time.sleep(2.0)
    health = client.get("/healthz").json()
    page = client.get("/dashboard/").text
    lagging = health.get("replica_lag_seconds", 0)
    checks.append(("/healthz with replay paused 2 s after a write", str(health), lagging >= 1.5))
    shown = f"{before:%Y-%m-%d %H:%M}" if before else "none"
    latest = figures_as_of()
    checks.append(
        (
            "dashboard shows the replica's (older) freshness",
            f"replica {before}, primary {latest}",
            before is not None and latest is not None and before < latest and shown in page,
        )
    )
    checks.append(
        (
            "the primary has the 500 new events, the replica not yet",
            f"primary {Event.objects.using('default').count()}, "
            f"replica {Event.objects.using(REPLICA).count()}",
            Event.objects.using("default").count() == 2500
            and Event.objects.using(REPLICA).count() == 2000,
        )
    )
    psql("SELECT pg_wal_replay_resume()", port=port)
    started = time.monotonic()
    while Event.objects.using(REPLICA).count() != 2500 and time.monotonic() - started < 30:
        time.sleep(0.01)
    time.sleep(0.2)
    health = client.get("/healthz").json()
    checks.append(
        (
            "replay resumed: caught up, lag 0",
            f"after {(time.monotonic() - started) * 1000:.0f} ms: {health}",
            health.get("replica_lag_seconds") == 0
            and on_replica(lambda: QuarterHourCount.objects.count()) >= primary_total,
        )
    )
    for alias in ("default", REPLICA):
        connections[alias].close()
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5433)
    port = parser.parse_args().port
    if os.geteuid() != 0:
        print("Run as root: it starts a PostgreSQL instance as the postgres user.")
        return 2
    started_at = datetime.now(UTC)
    added = allow_replication()
    directory = Path(tempfile.mkdtemp(prefix="throughline_h13_replica_"))
    checks: list[tuple[str, str, bool]] = []
    try:
        psql(f"DROP DATABASE IF EXISTS {DATABASE}")
        psql(f"CREATE DATABASE {DATABASE}")
        env = dict(
            os.environ,
            DEBUG="true",
            SECRET_KEY="bench-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        start_standby(directory, port)
        checks = django_checks(port)
    finally:
        stop_standby(directory)
        run("rm", "-rf", str(directory))
        if added:
            disallow_replication()
        psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    passed = all(ok for _, _, ok in checks)
    lines = [
        f"## {started_at:%Y-%m-%d %H:%M} UTC — read replica against a streaming standby — "
        + ("all checks passed" if passed else "CHECKS FAILED"),
        "",
        f"- Command: `.venv/bin/python bench/replica.py --port {port}` (as root)",
        f"- Machine: {os.cpu_count()} CPUs; primary: the local PostgreSQL 15 cluster; standby: "
        "pg_basebackup -R -X stream of it on port "
        f"{port}, hot standby, torn down after; product commit {commit}",
        "",
        "| Check | Measured | Result |",
        "|---|---|---|",
        *(f"| {name} | {measured} | {'ok' if ok else 'FAILED'} |" for name, measured, ok in checks),
        "",
    ]
    with RESULTS.open("a") as out:
        out.write("\n" + "\n".join(lines))
    print("\n".join(lines))
    return 0 if passed and checks else 1


if __name__ == "__main__":
    sys.exit(main())
