"""The ingest benchmark, in one command: `.venv/bin/python bench/run.py` (see bench/README.md).

On PostgreSQL (DATABASE_URL, default the `throughline_bench` database on 127.0.0.1) it
creates, migrates and empties the database, makes a partner, its key and a few helplines
through the product's own code, serves the product with gunicorn (4 sync workers,
DEBUG=false) together with a bare DRF ceiling route (bench/settings.py, bench/urls.py),
loads it with wrk (bench/load.lua) and measures a binary COPY ceiling, in rounds:
ceiling, single display, identical retry, batch, COPY. Each figure is read as a ratio to
the ceiling measured seconds before it, which is what stays comparable on a shared, noisy
machine. A further phase sends the same single displays with an OAuth2 bearer token
instead of the key, bracketed by its own ceilings, and reads as a ratio to the key's.
After each phase the rows stored are checked against the answers given. The
figures are appended to bench/RESULTS.md; the exit status is 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import common  # noqa: E402  (the path above makes `bench` importable as a script)
from events.columns import EVENT_COLUMN_TYPES  # noqa: E402  (Django-free)

LOAD_SCRIPT = common.BENCH_DIR / "load.lua"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/throughline_bench"
EVENTS_TABLE = "events_event"
COPY_TABLE = "bench_copy_events"
# The columns events.services writes, with their PostgreSQL types for binary COPY.
COPY_COLUMNS = EVENT_COLUMN_TYPES
HELPLINES = 5
# Rows of the drain: how often, and for how long unchanged, before a phase counts as over.
DRAIN_POLL_SECONDS = 0.05
DRAIN_QUIET_SECONDS = 1.0

# Prototypes of the same stack measured on these machines before the product existed
# (bench/README.md, "Prototype figures"): what the figures of a run are compared with.
PROTOTYPE_CEILING_RPS = 2400
PROTOTYPE_COPY_ROWS_PER_S = 96_000
PROTOTYPE_SINGLE = "DRF + objects.create 0.28-0.37; DRF validation + one raw INSERT 0.46"
PROTOTYPE_BATCH = (
    ("ListSerializer + bulk_create", 16_500),
    ("ListSerializer + COPY", 27_000),
    ("light validation + COPY", 71_000),
)
# The single-request phases a round reads against ceilings, with the numbers of the two
# ceilings measured just before and just after each (run_round's plan).
BRACKETS = {"display": (1, 2), "token": (2, 3), "retry": (3, 4), "floor": (4, 5)}


@dataclass
class Phase:
    """One wrk phase: what wrk saw, and what the database holds once the server drained."""

    name: str
    mode: str
    wrk: dict[str, Any]
    rows_before: int
    rows_after: int
    # From wrk's start to the last row committed (the server finishes what wrk left in
    # flight at its deadline).
    drained_seconds: float
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return float(self.wrk["duration_us"]) / 1e6

    @property
    def answers(self) -> int:
        return int(self.wrk["requests"])

    @property
    def per_second(self) -> float:
        """Answers per second as wrk counts them: what single-request phases report."""
        return self.answers / self.seconds

    @property
    def stored_per_second(self) -> float:
        """Rows stored per second until the last commit: what the batch phase reports.

        wrk's own count would miss the half-done batches at its deadline, several percent
        of a phase that completes only a few dozen batch requests.
        """
        return self.rows / self.drained_seconds

    def status(self, code: int) -> int:
        return int(self.wrk["statuses"].get(str(code), 0))

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.wrk["statuses"].items() if not code.startswith("2"))

    @property
    def socket_errors(self) -> int:
        errors = self.wrk["errors"]
        return int(errors["connect"] + errors["read"] + errors["write"] + errors["timeout"])

    @property
    def rows(self) -> int:
        return self.rows_after - self.rows_before

    @property
    def ok(self) -> bool:
        return all(passed for _, passed in self.checks)


@dataclass
class CopyCeiling:
    rows: int
    seconds: float
    rows_counted: int

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def ok(self) -> bool:
        return self.rows_counted == self.rows


@dataclass
class Round:
    """Every product phase bracketed by its ceiling, measured just before and just after.

    A burst of outside load then slows both terms of a ratio, not one of them.
    """

    # "ceiling 1", "display", "ceiling 2", "token", "ceiling 3", "retry", "ceiling 4",
    # "floor", "ceiling 5", "batch"
    phases: dict[str, Phase]
    copies: list[CopyCeiling]  # before and after the batch phase

    def ceiling(self, number: int) -> float:
        return self.phases[f"ceiling {number}"].per_second

    @property
    def ceilings(self) -> list[float]:
        return [self.ceiling(number) for number in (1, 2, 3, 4, 5)]

    @property
    def copy_ceiling(self) -> float:
        return statistics.mean(copy.per_second for copy in self.copies)

    @property
    def ratios(self) -> dict[str, float]:
        """Each phase's rate over its ceiling's: a single-request phase (BRACKETS) over
        the mean of the ceilings just before and just after it, the batch over COPY's."""
        ratios = {
            name: self.phases[name].per_second / ((self.ceiling(before) + self.ceiling(after)) / 2)
            for name, (before, after) in BRACKETS.items()
        }
        ratios["batch"] = self.phases["batch"].stored_per_second / self.copy_ceiling
        return ratios

    @property
    def display_to_floor(self) -> float:
        """The display's rate over the floor's: what the product's own work per event
        (key, throttle, parsing, validation, answer) leaves of the best one INSERT allows."""
        return self.ratios["display"] / self.ratios["floor"]

    @property
    def token_to_key(self) -> float:
        """The display with a bearer token over the display with the key, each against its
        own ceilings: what finding the token (its SHA-256, one cache read) costs beside the
        key's lookup and hash check. 1.0 means no measurable difference."""
        return self.ratios["token"] / self.ratios["display"]

    @property
    def ok(self) -> bool:
        return all(phase.ok for phase in self.phases.values()) and all(
            copy.ok for copy in self.copies
        )


# --- the database ------------------------------------------------------------------------


def prepare_product_data() -> tuple[str, list[str]]:
    """Migrate, empty every table, then a partner with a live key and a few helplines.

    Returns the raw key and the helplines' public ids.
    """
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    from helplines.models import Helpline
    from helplines.services import create_partner

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    _, raw_key = create_partner(name="Bench Partner", slug="bench-partner")
    public_ids = []
    for number in range(1, HELPLINES + 1):
        helpline = Helpline(
            public_id=f"bench-line-{number}",
            name=f"Bench Line {number}",
            country_code="GB",
            timezone="Europe/London",
            phone_number="116 123",
        )
        helpline.full_clean()
        helpline.save()
        public_ids.append(helpline.public_id)
    connection.close()
    return raw_key, public_ids


def prepare_oauth_client() -> tuple[str, str]:
    """A live OAuth2 client of the bench partner, made by `oauth.services.create_client`
    (after `prepare_product_data`); returns its id and secret."""
    from django.db import connection

    from helplines.models import Partner
    from oauth.services import create_client

    client, secret = create_client(partner=Partner.objects.get(slug="bench-partner"), name="bench")
    connection.close()
    return client.application.client_id, secret


def access_token(server: common.Server, client_id: str, client_secret: str) -> str:
    """A bearer token from the server's own `POST /oauth/token` (client credentials)."""
    import base64
    import urllib.request

    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    request = urllib.request.Request(
        f"{server.base_url}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        token: str = json.loads(answer.read())["access_token"]
    return token


def drain(url: str, server: common.Server) -> tuple[int, float]:
    """(rows in the events table, monotonic time of the last commit seen) once quiet.

    wrk stops at its deadline without waiting for the answers in flight; the server still
    serves those requests, so wait until no row has appeared for DRAIN_QUIET_SECONDS.
    max(id) is polled rather than count(*): an index lookup, cheap on a big table.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:

        def newest() -> int:
            row = conn.execute(f"SELECT coalesce(max(id), 0) FROM {EVENTS_TABLE}").fetchone()
            return int(row[0])  # type: ignore[index]

        last, changed_at = newest(), time.monotonic()
        deadline = changed_at + 30
        while time.monotonic() - changed_at < DRAIN_QUIET_SECONDS:
            if time.monotonic() > deadline:
                raise common.BenchError("rows kept arriving 30 s after the load stopped")
            time.sleep(DRAIN_POLL_SECONDS)
            current = newest()
            if current != last:
                last, changed_at = current, time.monotonic()
        row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    server.check_alive()
    return int(row[0]), changed_at  # type: ignore[index]


def copy_ceiling(
    url: str, seconds: float, batch: int, helpline_pks: list[int], partner: tuple[int, str]
) -> CopyCeiling:
    """Binary COPY of batches of `batch` rows into a scratch copy of the events table.

    The copy has the events table's columns, CHECK constraints and indexes (the identity
    unique index included) but no foreign keys. One COPY and one commit per batch, like
    one batch request; rows are built in the timed loop, as a server would build them.
    """
    import psycopg
    from psycopg import sql

    partner_pk, prefix = partner
    newest = datetime.now(UTC) - timedelta(minutes=1)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(COPY_TABLE), sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
    )
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(COPY_TABLE)))
        conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                sql.Identifier(COPY_TABLE), sql.Identifier(EVENTS_TABLE)
            )
        )
        conn.commit()
        written = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            received = datetime.now(UTC)
            with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                copy.set_types(list(COPY_COLUMNS.values()))
                for number in range(written, written + batch):
                    copy.write_row(
                        (
                            "helpline_display",
                            partner_pk,
                            prefix,
                            False,
                            helpline_pks[number % len(helpline_pks)],
                            f"copy_{number}",
                            newest - timedelta(seconds=number % 86400),
                            "",
                            received,
                        )
                    )
            conn.commit()
            written += batch
        elapsed = time.perf_counter() - started
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(COPY_TABLE)))
        counted = int(row.fetchone()[0])  # type: ignore[index]
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(COPY_TABLE)))
        conn.commit()
    return CopyCeiling(rows=written, seconds=elapsed, rows_counted=counted)


def partner_for_copy(url: str) -> tuple[tuple[int, str], list[int]]:
    """The bench partner's pk and key prefix, and the helplines' pks, for the COPY rows."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT p.id, k.prefix FROM helplines_partner p "
            "JOIN helplines_partnerapikey k ON k.partner_id = p.id WHERE p.slug = %s",
            ["bench-partner"],
        ).fetchone()
        assert row is not None
        pks = [
            int(pk)
            for (pk,) in conn.execute(
                "SELECT id FROM helplines_helpline WHERE public_id LIKE 'bench-line-%%' ORDER BY id"
            )
        ]
    return (int(row[0]), str(row[1])), pks


# --- the server --------------------------------------------------------------------------


# --- load --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    key: str
    helplines: list[str]
    epoch: int  # the newest event's Unix time; the others spread over the day before
    threads: int
    connections: int
    batch_connections: int
    batch: int
    seconds: int
    token: str = ""  # an OAuth2 access token of the same partner (the "token" phase)

    @property
    def ceiling_seconds(self) -> int:
        """Half a phase, in whole seconds: wrk takes no fraction of a second."""
        return max(1, self.seconds // 2)


def run_wrk(
    server: common.Server, load: Load, mode: str, seconds: float, tag: str, credential: str = ""
) -> dict[str, Any]:
    """`credential`: sent as the bearer instead of the key (the token phase)."""
    server.check_alive()
    connections = load.batch_connections if mode == "batch" else load.connections
    command = [
        "wrk",
        f"--threads={load.threads}",
        f"--connections={connections}",
        f"--duration={seconds:g}s",
        "--timeout=10s",
        f"--script={LOAD_SCRIPT}",
        server.base_url,
        "--",
        mode,
        credential or load.key,
        ",".join(load.helplines),
        str(load.epoch),
        tag,
        str(load.batch),
    ]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in finished.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return result
    raise common.BenchError(f"wrk gave no figures (exit {finished.returncode}):\n{finished.stderr}")


def measure(
    server: common.Server,
    url: str,
    load: Load,
    name: str,
    mode: str,
    seconds: float,
    tag: str,
    before: int,
    credential: str = "",
) -> Phase:
    """One wrk phase; `before` is the events table's row count, the server being idle."""
    started = time.monotonic()
    figures = run_wrk(server, load, mode, seconds, tag, credential)
    after, last_commit = drain(url, server)
    phase = Phase(
        name=name,
        mode=mode,
        wrk=figures,
        rows_before=before,
        rows_after=after,
        drained_seconds=max(last_commit, started + seconds) - started,
    )
    phase.checks = checks_for(phase, load.batch)
    rate = (
        f"{phase.stored_per_second:,.0f} events/s stored"
        if mode == "batch"
        else f"{phase.per_second:,.0f} req/s"
    )
    print(
        f"  {name}: {rate} over {phase.seconds:.1f} s, statuses {figures['statuses']}, "
        f"rows +{phase.rows}, {'ok' if phase.ok else 'CHECK FAILED'}",
        flush=True,
    )
    return phase


def checks_for(phase: Phase, batch: int) -> list[tuple[str, bool]]:
    """What the answers and the rows stored must agree on, per phase.

    wrk stops at its deadline without reading the answers still in flight, yet those
    requests are served: so the rows stored lie between the events answered as created
    (none lost) and the events sent (none doubled, none from elsewhere).
    """
    sent, created = phase.wrk["sent"], phase.status(201)
    checks = [
        ("no non-2xx answer", phase.non_2xx == 0),
        ("no socket error or timeout", phase.socket_errors == 0),
    ]
    if phase.mode == "ceiling":
        checks += [
            ("every answer 200", phase.status(200) == phase.answers),
            ("no row stored", phase.rows == 0),
        ]
    elif phase.mode in ("display", "floor"):
        checks += [
            ("every answer 201 created", created == phase.answers),
            ("rows >= 201 answers (none lost)", phase.rows >= created),
            ("rows <= requests sent (none doubled)", phase.rows <= sent),
        ]
    elif phase.mode == "retry":
        checks += [
            (
                "exactly one 201, the rest 200",
                created == 1 and phase.status(200) == phase.answers - 1,
            ),
            ("exactly one row stored", phase.rows == 1),
        ]
    else:
        events_created = phase.wrk["events_created"]
        checks += [
            ("every answer 200", phase.status(200) == phase.answers),
            (
                f"every event of every answer created ({batch} per batch)",
                events_created == phase.answers * batch
                and phase.wrk["events_duplicate"] == 0
                and phase.wrk["events_rejected"] == 0,
            ),
            ("rows >= events created (none lost)", phase.rows >= events_created),
            ("rows <= events sent (none doubled)", phase.rows <= sent * batch),
        ]
    return checks


def run_round(server: common.Server, url: str, load: Load, number: int, run_id: str) -> Round:
    """Ceiling, display, ceiling, token, ceiling, retry, ceiling, floor, ceiling; COPY,
    batch, COPY. The token phase is the display phase with the OAuth token as bearer.

    Ceilings run half as long as the phases they bracket.
    """
    print(f"Round {number}:", flush=True)
    plan = [
        ("ceiling 1", "ceiling"),
        ("display", "display"),
        ("ceiling 2", "ceiling"),
        # The key's display again, with the token: next to it, sharing its ceiling 2.
        ("token", "display"),
        ("ceiling 3", "ceiling"),
        ("retry", "retry"),
        ("ceiling 4", "ceiling"),
        ("floor", "floor"),
        ("ceiling 5", "ceiling"),
    ]
    phases: dict[str, Phase] = {}
    rows, _ = drain(url, server)
    for index, (name, mode) in enumerate(plan):
        seconds = load.ceiling_seconds if mode == "ceiling" else load.seconds
        tag = f"b{run_id}r{number}p{index}"
        credential = load.token if name == "token" else ""
        phases[name] = measure(server, url, load, name, mode, seconds, tag, rows, credential)
        rows = phases[name].rows_after
    partner, helpline_pks = partner_for_copy(url)
    copies = [copy_ceiling(url, load.ceiling_seconds, load.batch, helpline_pks, partner)]
    phases["batch"] = measure(
        server, url, load, "batch", "batch", load.seconds, f"b{run_id}r{number}b", rows
    )
    copies.append(copy_ceiling(url, load.ceiling_seconds, load.batch, helpline_pks, partner))
    for copy in copies:
        print(
            f"  copy: {copy.per_second:,.0f} rows/s ({copy.rows:,} rows), "
            f"{'ok' if copy.ok else 'CHECK FAILED'}",
            flush=True,
        )
    return Round(phases=phases, copies=copies)


# --- the report --------------------------------------------------------------------------


def _spread(values: list[float], digits: int = 2) -> str:
    """The median, and the range when there are several rounds."""
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:,.{digits}f}"
    return f"{median:,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def report(
    *,
    header: common.Header,
    load: Load,
    workers: int,
    rounds: list[Round],
) -> str:
    all_ok = all(one.ok for one in rounds)

    def per_round(figure: str) -> str:
        return " | ".join(figure.format(r=one, p=one.phases) for one in rounds)

    lines = [
        *header.lines("all checks passed" if all_ok else "CHECK FAILED"),
        f"- Server: gunicorn, {workers} sync workers, DEBUG=false. Load: wrk, "
        f"{load.threads} thread(s), {load.connections} connections "
        f"({load.batch_connections} for batches), {load.seconds:g} s per phase and "
        f"{load.ceiling_seconds} s per ceiling, {len(rounds)} round(s), batches of "
        f"{load.batch} events, event timestamps spread over the last day. Each phase is "
        "bracketed by its ceiling (measured just before and just after; the ratio uses "
        "their mean).",
        "",
        *common.rounds_table_head(
            len(rounds), median="Median (range)", last="Prototypes (bench/README.md)"
        ),
        "| Ceiling: bare DRF, no auth, no DB (req/s; before display, before the token "
        "display, before retry, before and after the floor) | "
        + " | ".join(" / ".join(f"{value:,.0f}" for value in one.ceilings) for one in rounds)
        + f" | {_spread([value for one in rounds for value in one.ceilings], 0)} "
        f"| ~{PROTOTYPE_CEILING_RPS:,} |",
        "| Single display, distinct events (req/s) | "
        + per_round("{p[display].per_second:,.0f}")
        + f" | {_spread([one.phases['display'].per_second for one in rounds], 0)} | |",
        "| **Single display / ceiling** | "
        + per_round("{r.ratios[display]:.2f}")
        + f" | **{_spread([one.ratios['display'] for one in rounds])}** | {PROTOTYPE_SINGLE} |",
        "| Identical retry, duplicate path (req/s) | "
        + per_round("{p[retry].per_second:,.0f}")
        + f" | {_spread([one.phases['retry'].per_second for one in rounds], 0)} | |",
        "| **Identical retry / ceiling** | "
        + per_round("{r.ratios[retry]:.2f}")
        + f" | **{_spread([one.ratios['retry'] for one in rounds])}** | — |",
        "| Floor: the ceiling's bare view + the product's write of one event (req/s) | "
        + per_round("{p[floor].per_second:,.0f}")
        + f" | {_spread([one.phases['floor'].per_second for one in rounds], 0)} | |",
        "| **Floor / ceiling**: the best one INSERT and its commit allow | "
        + per_round("{r.ratios[floor]:.2f}")
        + f" | **{_spread([one.ratios['floor'] for one in rounds])}** | — |",
        "| **Single display / floor**: what key, throttle, parsing, validation and answer "
        "leave of it | "
        + per_round("{r.display_to_floor:.2f}")
        + f" | **{_spread([one.display_to_floor for one in rounds])}** | — |",
        "| Single display with an OAuth2 bearer token (req/s) | "
        + per_round("{p[token].per_second:,.0f}")
        + f" | {_spread([one.phases['token'].per_second for one in rounds], 0)} | |",
        "| **Token display / ceiling** | "
        + per_round("{r.ratios[token]:.2f}")
        + f" | **{_spread([one.ratios['token'] for one in rounds])}** | — |",
        "| **Token display / key display**: each against its own ceilings; 1.00 is no "
        "measurable cost | "
        + per_round("{r.token_to_key:.2f}")
        + f" | **{_spread([one.token_to_key for one in rounds])}** | — |",
        f"| Batch of {load.batch} distinct events (events/s stored) | "
        + per_round("{p[batch].stored_per_second:,.0f}")
        + f" | {_spread([one.phases['batch'].stored_per_second for one in rounds], 0)} | "
        + ", ".join(f"{label} ~{rate:,}" for label, rate in PROTOTYPE_BATCH)
        + " |",
        f"| Ceiling: binary COPY, {load.batch} rows per COPY + commit (rows/s; before / "
        "after the batch) | "
        + " | ".join(" / ".join(f"{copy.per_second:,.0f}" for copy in one.copies) for one in rounds)
        + f" | {_spread([copy.per_second for one in rounds for copy in one.copies], 0)} "
        f"| ~{PROTOTYPE_COPY_ROWS_PER_S:,} |",
        "| **Batch / COPY** | "
        + per_round("{r.ratios[batch]:.2f}")
        + f" | **{_spread([one.ratios['batch'] for one in rounds])}** | "
        + "; ".join(
            f"{label} {rate / PROTOTYPE_COPY_ROWS_PER_S:.2f}" for label, rate in PROTOTYPE_BATCH
        )
        + " |",
        "",
        "Latency p50 / p99 (wrk, ms): "
        + "; ".join(
            f"{mode.split()[0]} "
            + ", ".join(
                f"{one.phases[mode].wrk['latency_us']['p50'] / 1000:.0f} / "
                f"{one.phases[mode].wrk['latency_us']['p99'] / 1000:.0f}"
                for one in rounds
            )
            for mode in ("ceiling 1", "display", "retry", "floor", "token", "batch")
        )
        + " (one pair per round).",
        "",
        "Checks: rows counted in the events table after each phase, once the server had "
        "drained what wrk left in flight.",
        "",
        "| Round | Phase | Sent | Answered | Statuses | Rows stored | Checks |",
        "|---:|---|---:|---:|---|---:|---|",
    ]
    for number, one in enumerate(rounds, start=1):
        for phase in one.phases.values():
            statuses = ", ".join(
                f"{code}: {n:,}" for code, n in sorted(phase.wrk["statuses"].items())
            )
            if phase.mode == "batch":
                sent = f"{phase.wrk['sent'] * load.batch:,} events"
                answered = f"{phase.answers:,} ({phase.wrk['events_created']:,} events created)"
            else:
                sent, answered = f"{phase.wrk['sent']:,}", f"{phase.answers:,}"
            failed = [label for label, passed in phase.checks if not passed]
            verdict = "ok" if not failed else "FAILED: " + "; ".join(failed)
            lines.append(
                f"| {number} | {phase.name} | {sent} | {answered} | {statuses} | "
                f"{phase.rows:,} | {verdict} |"
            )
        for copy in one.copies:
            lines.append(
                f"| {number} | COPY | {copy.rows:,} rows | — | — | {copy.rows_counted:,} | "
                f"{'ok' if copy.ok else 'FAILED: rows counted differ from rows written'} |"
            )
    lines += [
        "",
        "Sent minus answered is what wrk left in flight at its deadline; the server still "
        "serves those requests, so rows stored may exceed the created answers by at most "
        "that much.",
    ]
    return common.report_section(
        lines, compare="ceilings measured just before and just after it in this run"
    )


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every phase (2)")
    parser.add_argument(
        "--seconds", type=int, default=8, help="seconds per phase, half for ceilings (8)"
    )
    common.add_connections_option(parser)
    parser.add_argument(
        "--batch-connections", type=int, default=8, help="wrk connections, batch phase (8)"
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    common.add_workers_option(parser)
    parser.add_argument("--batch", type=int, default=500, help="events per batch request (500)")
    common.add_port_option(parser)
    common.add_no_record_option(parser)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    loads_start = common.load_average()
    url = common.postgres_url(DEFAULT_DATABASE_URL)
    run_id, env = common.adopt_server_environment(url)

    print(f"Preparing {urlsplit(url).path.lstrip('/')} (create, migrate, empty, seed)...")
    common.ensure_database(url)
    raw_key, public_ids = prepare_product_data()
    client_id, client_secret = prepare_oauth_client()
    load = Load(
        key=raw_key,
        helplines=public_ids,
        epoch=int((started - timedelta(minutes=1)).timestamp()),
        threads=args.threads,
        connections=args.connections,
        batch_connections=args.batch_connections,
        batch=args.batch,
        seconds=args.seconds,
    )
    rounds: list[Round] = []
    with common.serving(args.port, env, args.workers, log_prefix="throughline-bench-") as server:
        print(f"gunicorn master pid {server.process.pid if server.process else '?'}; warming up")
        load = replace(load, token=access_token(server, client_id, client_secret))
        run_wrk(server, load, "ceiling", 2, f"w{run_id}")
        run_wrk(server, load, "display", 2, f"w{run_id}")
        run_wrk(server, load, "display", 2, f"w{run_id}t", load.token)
        for number in range(1, args.rounds + 1):
            rounds.append(run_round(server, url, load, number, run_id))

    section = report(
        header=common.Header.at_end(
            started=started, command=common.command_line(argv), url=url, load_at_start=loads_start
        ),
        load=load,
        workers=args.workers,
        rounds=rounds,
    )
    common.publish(section, record=not args.no_record)
    return 0 if all(one.ok for one in rounds) else 1


if __name__ == "__main__":
    common.run_script(main)
