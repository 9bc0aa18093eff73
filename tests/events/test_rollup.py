"""The rollup keeps the aggregates exact whatever happens to a run or to the raw events.

Late arrivals land in their own day and hour; a run that fails or is killed half-way
leaves nothing behind; two runs never count an event twice; `rollup_events --from/--to`
rebuilds days and refuses days whose raw events were purged; and a purge keeps every
answer (metric rows, the stats API, report.csv, billing.csv) byte for byte.

Figures are checked against the independent count of tests/events/test_aggregates_exact.py.
"""

import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Sum
from django.http import StreamingHttpResponse
from django.test import Client
from pytest_django import Settings
from rest_framework.test import APIClient

from events import rollup
from events.metrics import EventFilter, metric_rows
from events.models import (
    DayCount,
    DaySessionCount,
    Event,
    HourClicks,
    KeyDay,
    QuarterHourCount,
    RollupState,
    SessionZone,
)
from events.partitions import is_partitioned, kept_to_month_end, month_start
from events.rollup import RollupBusy, roll_up
from tests.events.test_aggregates_exact import (
    COUNTRY,
    DAY,
    GROUPINGS,
    HELPLINE,
    HOUR,
    LINES,
    METHODS,
    PARTNER,
    PARTNERS,
    SESSIONS,
    TRAFFIC,
    ZONES,
    Cast,
    Ledger,
    Sent,
    actual_rows,
    aggregate_tables,
    assert_figures,
    assert_stored,
    make_cast,
    store,
    whole_days,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
UTC_ZONE, LONDON, KOLKATA, KATHMANDU = ZONES[0], ZONES[1], ZONES[3], ZONES[4]
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def cast(transactional_db: None) -> Cast:
    """Three partners with live and test keys, four helplines (GB x2, US, IN).

    Transactional: on PostgreSQL the rollup reads only committed events."""
    return make_cast()


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def short_late_window(settings: Settings) -> None:
    """A two-day late-arrival window, so that a purge of days older than 5 is allowed."""
    settings.EVENTS_LATE_ARRIVAL_DAYS = 2


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def send(cast: Cast, ledger: Ledger, *events: Sent) -> None:
    store(cast, list(events), ledger)


def display(session: str, line: str, when: datetime, partner: str = "acme") -> Sent:
    return Sent(partner, False, line, session, when)


def click(session: str, line: str, when: datetime, method: str, partner: str = "acme") -> Sent:
    return Sent(partner, False, line, session, when, method)


def day_figures(tz: ZoneInfo, first: int, last: int) -> list[tuple]:
    """(day, displays, clicks, reached, converted) per day with events, live traffic."""
    event_filter = EventFilter.for_days(date(2026, 11, first), date(2026, 11, last), tz)
    return [
        (
            row.day.day if row.day else None,
            row.metrics.displays,
            row.metrics.clicks,
            row.metrics.sessions_reached,
            row.metrics.sessions_converted,
        )
        for row in metric_rows(event_filter, [DAY], tz)
    ]


def assert_exact(cast: Cast, events: list[Sent], first: int = 1, last: int = 30) -> None:
    """The main groupings in every zone, live and test traffic, equal the count."""
    for tz in ZONES:
        days = whole_days(tz, date(2026, 11, first), date(2026, 11, last))
        for dims in [(), (DAY, PARTNER, HELPLINE), (TRAFFIC, COUNTRY), (HOUR, TRAFFIC)]:
            assert_figures(cast, events, dims=dims, tz=tz, **days, include_test=True)


def random_traffic(seed: int, first: datetime, hours: int, visits: int) -> list[Sent]:
    """Seeded traffic like the property test's: sessions shown and clicking helplines."""
    rng = random.Random(seed)
    events = []
    for _ in range(visits):
        partner, is_test = rng.choice(tuple(PARTNERS)), rng.random() < 0.3
        session = rng.choice(SESSIONS)
        start = first + timedelta(minutes=rng.randrange(hours * 60))
        for _ in range(rng.randint(1, 3)):
            line, when = rng.choice(tuple(LINES)), start + timedelta(minutes=rng.randrange(60))
            if rng.random() < 0.8:
                events.append(Sent(partner, is_test, line, session, when))
            if rng.random() < 0.5:
                method = rng.choice(METHODS)
                later = when + timedelta(minutes=rng.randrange(20))
                events.append(Sent(partner, is_test, line, session, later, method))
    return events


def snapshot() -> tuple[dict[str, list[tuple]], str]:
    """The aggregates and the rollup's mark (on PostgreSQL the mark moves with any write,
    so only runs that must change nothing compare it)."""
    return aggregate_tables(), RollupState.objects.get(pk=1).mark


def two_rounds(cast: Cast) -> Ledger:
    """Traffic of Nov 16-19 rolled up, then more stored: late events of those days (some
    identical to rolled-up ones) and new ones, not yet rolled up."""
    ledger = Ledger()
    first = random_traffic(1, at(16, 0), 72, 25)
    store(cast, first, ledger)
    roll_up()
    late = random_traffic(2, at(16, 0), 96, 25) + first[::5]
    store(cast, late, ledger)
    return ledger


# ------------------------------------------------------------------------------ late arrivals


def test_a_late_click_converts_a_session_of_its_own_day(cast: Cast, frozen: None) -> None:
    ledger = Ledger()
    send(
        cast,
        ledger,
        display("s1", "gb-1", at(17, 10)),
        display("s2", "gb-1", at(17, 18)),  # 23:30 in Kolkata
        display("s1", "gb-1", at(18, 9)),
    )
    roll_up()
    assert day_figures(UTC_ZONE, 16, 19) == [(17, 2, 0, 2, 0), (18, 1, 0, 1, 0)]

    # Three days late, after those days were rolled up: s1 calls the line it was shown
    # that morning; s2 texts it an hour after its display, which is already the 18th in
    # Kolkata.
    send(
        cast,
        ledger,
        click("s1", "gb-1", at(17, 10, 5), "phone"),
        click("s2", "gb-1", at(17, 19), "sms"),
    )
    roll_up()

    assert day_figures(UTC_ZONE, 16, 19) == [(17, 2, 2, 2, 2), (18, 1, 0, 1, 0)]
    assert day_figures(KOLKATA, 16, 19) == [(17, 2, 1, 2, 1), (18, 1, 1, 1, 0)]
    nov17 = EventFilter.for_days(date(2026, 11, 17), date(2026, 11, 17), UTC_ZONE)
    hours = metric_rows(nov17, [HOUR])
    assert [
        (
            row.hour.hour if row.hour else None,
            row.metrics.displays,
            {method: n for method, n in row.metrics.clicks_by_method.items() if n},
        )
        for row in hours
    ] == [(10, 1, {"phone": 1}), (18, 1, {}), (19, 0, {"sms": 1})]
    assert_exact(cast, ledger.events, 16, 19)


def test_a_late_display_of_a_session_reached_that_day_adds_the_display_not_the_session(
    cast: Cast, frozen: None
) -> None:
    ledger = Ledger()
    send(cast, ledger, display("s1", "gb-1", at(17, 10)))
    roll_up()

    send(
        cast,
        ledger,
        display("s1", "gb-1", at(17, 20)),  # the same line again
        display("s1", "gb-2", at(17, 21)),  # another line of the same country
        display("s3", "gb-1", at(17, 11)),  # a session not seen that day
        display("s1", "gb-1", at(17, 10)),  # identical to the rolled-up one: not stored
    )
    roll_up()

    assert day_figures(UTC_ZONE, 17, 17) == [(17, 4, 0, 2, 0)]
    nov17 = EventFilter.for_days(date(2026, 11, 17), date(2026, 11, 17), UTC_ZONE)
    by_line = {
        row.helpline.public_id: (row.metrics.displays, row.metrics.sessions_reached)
        for row in metric_rows(nov17, [HELPLINE])
        if row.helpline
    }
    assert by_line == {"gb-1": (3, 2), "gb-2": (1, 1)}
    [gb] = metric_rows(nov17, [COUNTRY])
    assert (gb.country, gb.metrics.displays, gb.metrics.sessions_reached) == ("GB", 4, 2)
    assert Event.objects.count() == 4
    assert_exact(cast, ledger.events, 16, 18)


# ------------------------------------------------------------------------------ failures


def fail_half_way_in_add_windows(monkeypatch: pytest.MonkeyPatch, executed: list[str]) -> None:
    """`_add_windows` raises: quarter-hour counts and key days are already written."""

    def broken(*args: Any, **kwargs: Any) -> int:
        quarters = QuarterHourCount.objects.aggregate(n=Sum("displays"))["n"]
        executed.append(f"_add_windows after {quarters} displays in quarters")
        raise RuntimeError("the rollup process dies")

    monkeypatch.setattr(rollup, "_add_windows", broken)


def fail_at_the_session_counts(monkeypatch: pytest.MonkeyPatch, executed: list[str]) -> None:
    """The run's last statement, adding to DaySessionCount, raises: quarter counts, hour clicks, key
    days and DayCount are already written in the run's transaction."""
    original = rollup._execute
    sessions = f"INSERT INTO {rollup._table(DaySessionCount)} "

    def execute(sql: str, params: Any) -> int:
        if sql.startswith("INSERT INTO "):
            executed.append(sql.split(" ")[2])
        if sql.startswith(sessions):
            raise RuntimeError("the database goes away")
        return original(sql, params)

    monkeypatch.setattr(rollup, "_execute", execute)


@pytest.mark.parametrize("fail", [fail_half_way_in_add_windows, fail_at_the_session_counts])
def test_a_run_that_fails_half_way_adds_nothing_and_the_next_run_is_exact(
    cast: Cast,
    frozen: None,
    monkeypatch: pytest.MonkeyPatch,
    fail: Callable[[pytest.MonkeyPatch, list[str]], None],
) -> None:
    ledger = two_rounds(cast)
    before = snapshot()
    executed: list[str] = []

    with monkeypatch.context() as patch:
        fail(patch, executed)
        with pytest.raises(RuntimeError):
            roll_up()

    if fail is fail_half_way_in_add_windows:
        displays = sum(1 for event in ledger.events if not event.method)
        assert executed == [f"_add_windows after {displays} displays in quarters"]
    else:
        written = [QuarterHourCount, HourClicks, KeyDay, DayCount, DaySessionCount]
        assert executed == [rollup._table(model) for model in written]
    assert snapshot() == before
    roll_up()
    assert_stored(ledger)
    assert_exact(cast, ledger.events, 15, 21)


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def other_connection() -> Iterator[Any]:
    """A second connection to the test database (autocommit), as another process has."""
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as other:
        yield other


@contextmanager
def lock_timeout() -> Iterator[None]:
    """A run that waited for the lock instead of giving up fails instead of hanging."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '10s'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
def test_a_run_killed_while_blocked_half_way_adds_nothing_and_the_next_run_is_exact(
    cast: Cast,
) -> None:
    with time_machine.travel(NOW, tick=False):
        ledger = two_rounds(cast)
    before = snapshot()
    table = DaySessionCount._meta.db_table

    with other_connection() as locker, other_connection() as watcher:
        with locker.transaction():
            # The run stops at its last statements, the session counts, and waits there
            # with the quarter, key-day and day counts written in its transaction.
            locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            process = subprocess.Popen(
                [sys.executable, "manage.py", "rollup_events"],
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": database_url()},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:

                def blocked() -> Any:
                    assert process.poll() is None, process.communicate()
                    return watcher.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                        "AND wait_event_type = 'Lock' AND query LIKE %s",
                        [connection.settings_dict["NAME"], f"INSERT INTO %{table}%"],
                    ).fetchone()

                (backend,) = wait_for(blocked, "the run to wait on the lock")
            finally:
                process.kill()
                process.wait()
            assert process.returncode == -9
        # The lock is released: the orphaned backend goes on, finds its client gone and
        # rolls back.
        wait_for(
            lambda: (
                not watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]
                ).fetchone()
            ),
            "the killed run's backend to end",
        )

    assert snapshot() == before
    roll_up()
    assert_stored(ledger)
    assert_exact(cast, ledger.events, 15, 21)


# ------------------------------------------------------------------------------ concurrency


@pytest.mark.postgres
def test_a_run_while_another_holds_the_rollup_is_refused_as_busy(cast: Cast) -> None:
    with time_machine.travel(NOW, tick=False):
        ledger = two_rounds(cast)  # the first round's run created the state row
    before = snapshot()

    with other_connection() as other, other.transaction(), lock_timeout():
        other.execute("SELECT mark FROM events_rollupstate FOR UPDATE")
        with pytest.raises(RollupBusy):
            roll_up()
        assert command("rollup_events") == "Another rollup run is in progress; nothing done.\n"
        assert snapshot() == before

    roll_up()
    assert_exact(cast, ledger.events, 15, 21)


@pytest.mark.postgres
@pytest.mark.parametrize("wait", [False, True])
def test_two_runs_started_together_count_every_event_once(cast: Cast, wait: bool) -> None:
    with time_machine.travel(NOW, tick=False):
        ledger = two_rounds(cast)
    barrier = threading.Barrier(2)

    def run(_: int) -> str:
        try:
            barrier.wait(timeout=10)
            roll_up(wait=wait)
            return "ran"
        except RollupBusy:
            return "busy"
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(run, range(2)))

    if wait:
        assert outcomes == ["ran", "ran"]  # one after the other
    else:
        assert outcomes in (["busy", "ran"], ["ran", "ran"])
    assert roll_up().events == 0  # whichever ran added everything
    assert_exact(cast, ledger.events, 15, 21)


@pytest.mark.postgres
def test_an_event_committed_after_a_run_took_its_mark_is_counted_by_the_next_run(
    cast: Cast, frozen: None
) -> None:
    """Ids are handed out when an insert starts: an insert in flight during a run has a
    lower id than events committed before the run, and is still counted, once."""
    ledger = Ledger()
    key = cast.keys[("acme", False)]
    with other_connection() as other:
        with other.transaction():
            other.execute(
                "INSERT INTO events_event (type, partner_id, api_key_prefix, is_test, "
                "helpline_id, session_id, timestamp, contact_method, received_at) "
                "VALUES ('helpline_click', %s, %s, false, %s, 's1', %s, 'phone', %s)",
                [key.partner.pk, key.prefix, cast.lines["gb-1"].pk, at(17, 10, 5), NOW],
            )
            ledger.add([click("s1", "gb-1", at(17, 10, 5), "phone")])
            send(cast, ledger, display("s1", "gb-1", at(17, 10)))
            roll_up()
            assert day_figures(UTC_ZONE, 17, 17) == [(17, 1, 0, 1, 0)]
        roll_up()

    in_flight, committed = Event.objects.order_by("id")
    assert (in_flight.type, committed.type) == ("helpline_click", "helpline_display")
    assert day_figures(UTC_ZONE, 17, 17) == [(17, 1, 1, 1, 1)]
    roll_up()
    assert day_figures(UTC_ZONE, 17, 17) == [(17, 1, 1, 1, 1)]
    assert_exact(cast, ledger.events, 16, 18)


# ------------------------------------------------------------------------------ rebuilds


def command(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def windows_overlapping_day(day: date) -> int:
    """The day windows of the kept zones that overlap UTC `day`, counted independently."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    windows = set()
    for name in SessionZone.objects.values_list("name", flat=True):
        tz = ZoneInfo(name)
        local = (start - timedelta(days=2)).astimezone(tz).date()
        for n in range(5):
            first = datetime.combine(local + timedelta(days=n), datetime.min.time(), tzinfo=tz)
            last = datetime.combine(local + timedelta(days=n + 1), datetime.min.time(), tzinfo=tz)
            if first < end and last > start:
                windows.add((first.astimezone(UTC), last.astimezone(UTC)))
    return len(windows)


def test_rollup_events_from_to_rebuilds_the_days_and_says_what_it_did(
    cast: Cast, frozen: None
) -> None:
    ledger = Ledger()
    events = random_traffic(3, at(16, 0), 96, 40)
    store(cast, events, ledger)
    roll_up()
    exact = aggregate_tables()
    nov18 = (at(18, 0), at(19, 0))
    on_nov18 = sum(1 for e in ledger.events if nov18[0] <= e.when < nov18[1])
    assert on_nov18 > 10
    # Wreck everything the rebuild of the 18th recomputes.
    DayCount.objects.filter(day_start__lt=nov18[1], day_end__gt=nov18[0]).update(
        displays=F("displays") + 100, sessions_reached=0
    )
    DaySessionCount.objects.filter(day_start__lt=nov18[1], day_end__gt=nov18[0]).delete()
    QuarterHourCount.objects.filter(quarter__gte=nov18[0], quarter__lt=nov18[1]).delete()
    HourClicks.objects.filter(hour__gte=nov18[0], hour__lt=nov18[1]).update(clicks=F("clicks") + 1)
    KeyDay.objects.filter(day=date(2026, 11, 18)).update(events=0)
    assert aggregate_tables() != exact

    out = command("rollup_events", "--from", "2026-11-18", "--to", "2026-11-18")

    match = re.fullmatch(
        r"Rebuilt 2026-11-18\.\.2026-11-18: (\d+) events, (\d+) day windows, in \d+\.\d\d s\.\n",
        out,
    )
    assert match, out
    assert (int(match[1]), int(match[2])) == (on_nov18, windows_overlapping_day(date(2026, 11, 18)))
    assert aggregate_tables() == exact
    again = command("rollup_events", "--from", "2026-11-18", "--to", "2026-11-18")
    assert again.split(" in ")[0] == out.split(" in ")[0]
    assert aggregate_tables() == exact
    assert_exact(cast, ledger.events, 15, 21)


def test_a_rebuild_of_a_bulk_load_builds_every_aggregate_once(cast: Cast, frozen: None) -> None:
    # Raw events loaded with nothing rolled up yet (a restore into a new database): the
    # rebuild's catch-up computes everything, and the figures are those of a plain run.
    ledger = Ledger()
    store(cast, random_traffic(5, at(16, 0), 96, 40), ledger)
    on_nov18 = sum(1 for e in ledger.events if at(18, 0) <= e.when < at(19, 0))

    out = command("rollup_events", "--from", "2026-11-18", "--to", "2026-11-18")

    assert out.startswith(
        f"Rebuilt 2026-11-18..2026-11-18: {on_nov18} events, "
        f"{windows_overlapping_day(date(2026, 11, 18))} day windows, in "
    )
    built = aggregate_tables()
    for model in (DayCount, DaySessionCount, QuarterHourCount, HourClicks, KeyDay):
        model.objects.all().delete()
    RollupState.objects.all().delete()
    roll_up()
    assert aggregate_tables() == built
    assert_exact(cast, ledger.events, 15, 21)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-18"], "--from and --to go together."),
        (["--to", "2026-11-18"], "--from and --to go together."),
        (["--from", "2026-11-18", "--to", "2026-11-17"], "--to is before --from."),
    ],
)
def test_rollup_events_refuses_an_incomplete_or_reversed_range(
    db: None, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        command("rollup_events", *args)


def test_rebuilding_days_whose_raw_events_were_purged_is_refused(
    cast: Cast, frozen: None, short_late_window: None
) -> None:
    ledger = Ledger()
    store(cast, random_traffic(4, at(10, 0), 10 * 24, 60), ledger)
    roll_up()
    assert command("purge_events", "--older-than", "5").startswith("Deleted ")
    kept = aggregate_tables()

    for first in ("2026-11-10", "2026-11-16"):  # the 16th's windows reach back before the cut
        with pytest.raises(CommandError, match=r"before 2026-11-15 12:00 UTC were purged"):
            command("rollup_events", "--from", first, "--to", "2026-11-19")
    assert aggregate_tables() == kept

    out = command("rollup_events", "--from", "2026-11-17", "--to", "2026-11-19")
    assert out.startswith("Rebuilt 2026-11-17..2026-11-19: ")
    assert aggregate_tables() == kept
    assert_exact(cast, ledger.events, 1, 30)


# ------------------------------------------------------------------------------ retention


def answers(cast: Cast, client: Client) -> dict[str, Any]:
    """Every figure a reader can get for November: metric rows, the stats API and the
    report and billing exports (without their "generated at" line)."""
    result: dict[str, Any] = {}
    for tz in (UTC_ZONE, LONDON, KATHMANDU):
        for dims in GROUPINGS:
            rows = metric_rows(EventFilter.for_days(*NOVEMBER, tz, include_test=True), dims, tz)
            result[f"rows {tz} {dims}"] = actual_rows(cast, rows, tz)
    for slug, is_test in [("acme", False), ("acme", True), ("beacon", False)]:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {cast.raw_keys[(slug, is_test)]}")
        for zone in ("", "Asia/Kathmandu"):  # the billing zone (UTC, New York) and another
            for group_by in ("", "day", "helpline", "country", "contact_method"):
                params = {
                    "start_time": "2026-11-01T00:00:00Z",
                    "end_time": "2026-12-01T00:00:00Z",
                    **({"timezone": zone} if zone else {}),
                    **({"group_by": group_by} if group_by else {}),
                }
                if zone == "Asia/Kathmandu":
                    params |= {
                        "start_time": "2026-11-01T00:00:00+05:45",
                        "end_time": "2026-12-01T00:00:00+05:45",
                    }
                response = api.get("/v1/events/stats", params)
                assert response.status_code == 200, response.content
                result[f"stats {slug} {is_test} {params}"] = response.content
            # A range on quarter-hours but not on days: from the quarter-hour counts.
            quarters = {"start_time": "2026-11-12T06:15:00Z", "end_time": "2026-11-18T21:45:00Z"}
            response = api.get("/v1/events/stats", {**quarters, "group_by": "day"})
            assert response.status_code == 200, response.content
            result[f"stats {slug} {is_test} quarters"] = response.content
    exports = [
        ("report.csv", {"start": "2026-11-01", "end": "2026-11-30"}),
        ("report.csv", {"start": "2026-11-01", "end": "2026-11-30", "tz": "Asia/Kathmandu"}),
        ("report.csv", {"start": "2026-11-10", "end": "2026-11-20", "partner": "beacon"}),
        ("report.csv", {"start": "2026-11-01", "end": "2026-11-30", "country": "GB"}),
        ("billing.csv", {"month": "2026-11"}),
        ("billing.csv", {"month": "2026-11", "partner": "cedar"}),
    ]
    for name, params in exports:
        export = client.get(f"/dashboard/export/{name}", params)
        assert export.status_code == 200
        assert isinstance(export, StreamingHttpResponse)
        lines = b"".join(export.streaming_content).decode().split("\r\n")
        generated = [line for line in lines if line.startswith("# generated at: ")]
        assert len(generated) == 1
        result[f"{name} {params}"] = [line for line in lines if line not in generated]
    return result


def test_purging_raw_events_keeps_every_answer_byte_for_byte(
    cast: Cast, frozen: None, settings: Settings, short_late_window: None
) -> None:
    settings.EVENTS_RATE_LIMIT = "100000/s"  # the clock stands still: one window for all
    ledger = Ledger()
    events = random_traffic(5, at(10, 0), 10 * 24 + 12, 120)
    store(cast, events[:200], ledger)
    roll_up()
    store(cast, events[200:] + events[::7], ledger)  # late and repeated events
    roll_up()
    admin = User.objects.create_superuser("root", "root@example.org", "root-pass-123")
    client = Client()
    client.force_login(admin)
    before = answers(cast, client)
    cutoff = NOW - timedelta(days=5)
    gone_before = purged_before(cutoff)
    old = Event.objects.filter(timestamp__lt=gone_before).count()
    recent = Event.objects.filter(timestamp__gte=gone_before).count()
    assert (old > 100 or is_partitioned()) and recent > 50

    out = command("purge_events", "--older-than", "5")

    assert out == f"Deleted {old} events older than 2026-11-15 12:00:00 UTC.\n"
    assert not Event.objects.filter(timestamp__lt=gone_before).exists()
    assert Event.objects.count() == recent
    after = answers(cast, client)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], name
    purged = aggregate_tables()
    roll_up()  # the scheduler's next run changes nothing either
    assert aggregate_tables() == purged
    assert_exact(cast, ledger.events, 1, 30)


def test_a_purge_first_counts_old_events_not_yet_rolled_up(
    cast: Cast, frozen: None, short_late_window: None
) -> None:
    ledger = Ledger()
    store(cast, random_traffic(7, at(10, 0), 9 * 24, 40), ledger)
    roll_up()
    late = [
        click("s1", "gb-1", at(11, 9, 30), "whatsapp"),
        display("s9", "us-1", at(12, 23, 59)),
        Sent("beacon", True, "in-1", "s2", at(13, 4)),
    ]
    store(cast, late, ledger)  # older than the cut, and the scheduler has not run since

    command("purge_events", "--older-than", "5")

    assert not Event.objects.filter(timestamp__lt=purged_before(NOW - timedelta(days=5))).exists()
    assert_exact(cast, ledger.events, 1, 30)


def purged_before(cutoff: datetime) -> datetime:
    """Where a purge with `cutoff` stops: partitioned PostgreSQL keeps the cutoff's month
    (November here, whose partition the purge creates) until it is wholly past."""
    return month_start(cutoff) if kept_to_month_end(cutoff) else cutoff


# ------------------------------------------------------------------------------ zones


def test_a_billing_zone_added_later_gets_exact_session_figures_from_the_raw_events(
    cast: Cast, frozen: None
) -> None:
    chatham = ZoneInfo("Pacific/Chatham")  # +13:45: days cut through UTC quarter-hours
    ledger = Ledger()
    store(cast, random_traffic(8, at(10, 0), 10 * 24, 60), ledger)
    roll_up()
    november = whole_days(chatham, *NOVEMBER)
    before = metric_rows(EventFilter.for_days(*NOVEMBER, chatham, include_test=True), [], chatham)
    assert before[0].metrics.sessions_reached is None  # not a zone the aggregates keep

    cedar = cast.partners["cedar"]
    cedar.billing_timezone = "Pacific/Chatham"
    cedar.save()
    assert roll_up().zones_added == ["Pacific/Chatham"]
    store(cast, random_traffic(9, at(12, 0), 8 * 24, 20), ledger)  # late, in the new zone too
    roll_up()

    for dims in [(), (DAY,), (DAY, PARTNER, HELPLINE), (TRAFFIC, COUNTRY)]:
        assert_figures(cast, ledger.events, dims=dims, tz=chatham, **november, include_test=True)
    assert_exact(cast, ledger.events, 1, 30)


def test_a_zone_added_after_a_purge_has_session_figures_from_the_purge_on(
    cast: Cast, frozen: None, short_late_window: None
) -> None:
    chatham = ZoneInfo("Pacific/Chatham")
    ledger = Ledger()
    store(cast, random_traffic(10, at(10, 0), 10 * 24, 60), ledger)
    roll_up()
    command("purge_events", "--older-than", "5")  # raw events before Nov 15 12:00 UTC

    cedar = cast.partners["cedar"]
    cedar.billing_timezone = "Pacific/Chatham"
    cedar.save()
    assert roll_up().zones_added == ["Pacific/Chatham"]

    # Chatham's 16th starts on the 15th at 10:15 UTC, before the cut: its sessions are
    # gone with the raw events. From the 17th on, every figure is exact.
    cut_day = EventFilter.for_days(date(2026, 11, 16), date(2026, 11, 21), chatham)
    [row] = metric_rows(replace(cut_day, include_test=True), [], chatham)
    assert (row.metrics.sessions_reached, row.metrics.sessions_converted) == (None, None)
    after = whole_days(chatham, date(2026, 11, 17), date(2026, 11, 21))
    for dims in [(), (DAY,), (DAY, PARTNER, HELPLINE), (TRAFFIC, COUNTRY)]:
        assert_figures(cast, ledger.events, dims=dims, tz=chatham, **after, include_test=True)
