"""Fault run: events sent while PostgreSQL, a gunicorn worker and Redis fail; none lost or doubled.

Serves the product with gunicorn (config/gunicorn.py, 4 sync workers, the cache on Redis),
then 8 client threads send 50,000 distinct events on loopback (single displays, and
batches of 25 now and then), each retrying on 5xx, 429, timeouts and broken connections
with capped exponential backoff, bounded in tries and in time. While they send, in turn:

1. PostgreSQL is restarted (`pg_ctlcluster ... restart -m fast`);
2. PostgreSQL is stopped hard (`-m immediate`), left down a few seconds, and started;
3. a gunicorn worker is killed with SIGKILL mid-load (the master starts another);
4. Redis is stopped (`SHUTDOWN NOSAVE`), left down a few seconds, and started.

Afterwards every event the clients sent must be in the events table exactly once (the
clients' own ledger against the table: 0 lost, 0 doubled), every answer must have been
JSON (never an HTML page), and no answer may have been a 500. Every status is counted per
phase. Appends a section to bench/RESULTS.md.

    .venv/bin/python bench/faults.py            # about 3-5 minutes; needs root for the
                                                # PostgreSQL and Redis restarts
    .venv/bin/python bench/faults.py --events 5000 --no-record   # a quick look

It restarts the machine's PostgreSQL cluster and Redis: run it when nothing else uses them.
"""

import http.client
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import common  # noqa: E402  (the path above makes `bench` importable as a script)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/throughline_faults"
REDIS_URL = "redis://127.0.0.1:6379/15"
REDIS_CONF = "/etc/redis/redis.conf"
CLIENTS = 8
WORKERS = 4
BATCH = 25
BATCH_SHARE = 0.1  # of requests
MAX_TRIES = 80
MAX_BACKOFF = 2.0
REQUEST_TIMEOUT = 10.0
PHASES = ["warm-up", "pg restart -m fast", "pg stop -m immediate", "worker SIGKILL", "redis stop"]


@dataclass
class Ledger:
    """What the clients sent and what they were answered, shared by the threads."""

    sent: set[str] = field(default_factory=set)  # session ids of events confirmed stored
    given_up: set[str] = field(default_factory=set)
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)  # (phase, answer)
    html_answers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    phase: str = PHASES[0]

    def count(self, answer: str) -> None:
        with self.lock:
            self.answers[(self.phase, answer)] += 1

    def confirm(self, sessions: list[str]) -> None:
        with self.lock:
            self.sent.update(sessions)

    @property
    def confirmed(self) -> int:
        with self.lock:
            return len(self.sent)


def describe(facts: dict[str, str]) -> str:
    return (
        f"{facts['nproc']} cores ({facts['cpu']}), {facts['memory']}, Python {facts['python']}, "
        f"commit {facts['commit']}"
    )


def cluster() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def pg_ctl(*args: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster(), "main", *args],
        check=True,
        capture_output=True,
    )


def pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0


def redis_stop() -> None:
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False)


def redis_start() -> None:
    Path("/run/redis").mkdir(exist_ok=True)
    subprocess.run(["redis-server", REDIS_CONF], check=True, capture_output=True)


def redis_up() -> bool:
    answer = subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True, text=True)
    return answer.stdout.strip() == "PONG"


def wait_until(test: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.2)
    return False


def prepare(url: str) -> tuple[str, str]:
    """Migrate and empty the database; a partner with a live key and one helpline."""
    common.ensure_database(url)
    os.environ.update(
        DATABASE_URL=url,
        DEBUG="true",
        SECRET_KEY="faults-" + "k" * 50,
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    from helplines.models import Helpline
    from helplines.services import create_partner

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    _, raw_key = create_partner(name="Fault Partner", slug="fault-partner")
    helpline = Helpline.objects.create(
        public_id="fault-line", name="Fault Line", country_code="GB", timezone="Europe/London"
    )
    connection.close()
    return raw_key, helpline.public_id


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    process = common.start_as_make_serve(
        port,
        workers=WORKERS,
        SECRET_KEY="faults-" + secrets.token_urlsafe(40),
        DATABASE_URL=url,
        CACHE_URL=REDIS_URL,
        EVENTS_RATE_LIMIT="1000000/s",
        GUNICORN_ACCESS_LOG="/dev/null",
        GUNICORN_ERROR_LOG=str(common.BENCH_DIR / ".faults-gunicorn.log"),
    )
    if not wait_until(lambda: common.port_in_use(port), 60):
        process.kill()
        raise SystemExit("gunicorn did not start")
    return process


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


class Client(threading.Thread):
    """Sends its share of the events, one request at a time, retrying until answered."""

    def __init__(
        self,
        number: int,
        port: int,
        key: str,
        helpline: str,
        events: int,
        ledger: Ledger,
        deadline: float,
    ) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.port, self.key, self.helpline = number, port, key, helpline
        self.events, self.ledger, self.deadline = events, ledger, deadline
        self.rng = random.Random(number)
        self.connection: http.client.HTTPConnection | None = None

    def run(self) -> None:
        sent = 0
        while sent < self.events and time.monotonic() < self.deadline:
            size = BATCH if self.rng.random() < BATCH_SHARE else 1
            size = min(size, self.events - sent)
            sessions = [f"f{self.number}-{uuid.uuid4().hex}" for _ in range(size)]
            self.deliver(sessions)
            sent += size

    def body(self, sessions: list[str]) -> tuple[str, bytes]:
        now = datetime.now(UTC) - timedelta(seconds=1)
        events = [
            {"helpline_id": self.helpline, "session_id": s, "timestamp": now.isoformat()}
            for s in sessions
        ]
        if len(events) == 1:
            return "/v1/events/helpline_display", json.dumps(events[0]).encode()
        batch = [{"type": "helpline_display", **event} for event in events]
        return "/v1/events/batch", json.dumps({"events": batch}).encode()

    def deliver(self, sessions: list[str]) -> None:
        # The same body on every try: a retry of a stored event is a duplicate (200).
        path, body = self.body(sessions)
        for attempt in range(MAX_TRIES):
            if time.monotonic() > self.deadline:
                break
            status, payload = self.post(path, body)
            if status in (200, 201) and payload is not None:
                if path.endswith("batch"):
                    results = payload.get("results", [])
                    stored = [r["status"] in ("created", "duplicate") for r in results]
                    if len(results) == len(sessions) and all(stored):
                        self.ledger.confirm(sessions)
                        return
                else:
                    self.ledger.confirm(sessions)
                    return
            time.sleep(min(MAX_BACKOFF, 0.05 * 2**attempt) * (0.5 + self.rng.random()))
        with self.ledger.lock:
            self.ledger.given_up.update(sessions)

    def post(self, path: str, body: bytes) -> tuple[int, dict[str, Any] | None]:
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
                )
            self.connection.request(
                "POST",
                path,
                body,
                {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"},
            )
            response = self.connection.getresponse()
            raw = response.read()
            content_type = response.getheader("Content-Type", "")
        except (OSError, http.client.HTTPException) as exc:
            # Reset by a killed worker, refused while restarting, or timed out.
            self.ledger.count(f"connection error ({type(exc).__name__})")
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            return 0, None
        if not content_type.startswith("application/json"):
            with self.ledger.lock:
                self.ledger.html_answers += 1
            self.ledger.count(f"{response.status} NOT JSON ({content_type})")
            return response.status, None
        payload = json.loads(raw)
        code = payload.get("error", {}).get("code") if isinstance(payload, dict) else None
        retry_after = response.getheader("Retry-After")
        label = f"{response.status}" + (f" {code}" if code else "")
        if response.status == 503 and not retry_after:
            label += " (no Retry-After)"
        self.ledger.count(label)
        return response.status, payload


def orchestrate(
    ledger: Ledger, total: int, server: subprocess.Popen[bytes], log: list[str]
) -> None:
    """The faults, one after another, each once a fifth more of the events is confirmed."""

    def at(share: float) -> None:
        while ledger.confirmed < total * share and any_client_alive():
            time.sleep(0.2)

    def step(name: str) -> None:
        with ledger.lock:
            ledger.phase = name
        log.append(f"{datetime.now(UTC):%H:%M:%S} {name} (events confirmed: {ledger.confirmed})")

    at(0.15)
    step(PHASES[1])
    pg_ctl("restart", "-m", "fast")
    wait_until(pg_ready, 60)
    at(0.35)
    step(PHASES[2])
    pg_ctl("stop", "-m", "immediate")
    time.sleep(4)
    pg_ctl("start")
    wait_until(pg_ready, 60)
    at(0.55)
    step(PHASES[3])
    workers = worker_pids(server.pid)
    if workers:
        victim = random.choice(workers)
        os.kill(victim, signal.SIGKILL)
        replaced = wait_until(
            lambda: (
                victim not in worker_pids(server.pid)
                and len(worker_pids(server.pid)) == len(workers)
            ),
            30,
        )
        log.append(
            f"killed worker {victim} of {len(workers)}; "
            + ("the master started another" if replaced else "NOT replaced within 30 s")
        )
    else:
        log.append("no worker found to kill")
    at(0.75)
    step(PHASES[4])
    redis_stop()
    time.sleep(4)
    redis_start()
    wait_until(redis_up, 30)
    log.append(f"{datetime.now(UTC):%H:%M:%S} all faults done")


_clients: list[Client] = []


def any_client_alive() -> bool:
    return any(client.is_alive() for client in _clients)


def stored_sessions(url: str) -> Counter[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT e.session_id, COUNT(*) FROM events_event e JOIN helplines_partner p "
            "ON p.id = e.partner_id WHERE p.slug = 'fault-partner' GROUP BY e.session_id"
        ).fetchall()
    return Counter({session: count for session, count in rows})


def main(argv: list[str]) -> int:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="events in all (50,000)")
    parser.add_argument("--minutes", type=float, default=20, help="time bound of the run (20)")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not pg_ready() or not redis_up():
        raise SystemExit("PostgreSQL and Redis must be running on 127.0.0.1 to begin.")
    started, load_start = datetime.now(UTC), common.load_average()
    key, helpline = prepare(url)
    port = common.free_port()
    server = start_server(url, port)
    ledger, log = Ledger(), list[str]()
    deadline = time.monotonic() + args.minutes * 60
    share = args.events // CLIENTS
    _clients.extend(
        Client(
            n,
            port,
            key,
            helpline,
            share + (1 if n < args.events % CLIENTS else 0),
            ledger,
            deadline,
        )
        for n in range(CLIENTS)
    )
    began = time.monotonic()
    try:
        for client in _clients:
            client.start()
        orchestrate(ledger, args.events, server, log)
        for client in _clients:
            client.join(max(1.0, deadline - time.monotonic()))
    finally:
        if not pg_ready():
            pg_ctl("start")
        if not redis_up():
            redis_start()
        server.terminate()
        server.wait(timeout=30)
    seconds = time.monotonic() - began
    wait_until(pg_ready, 60)
    stored = stored_sessions(url)
    confirmed = ledger.sent
    lost = confirmed - set(stored)
    doubled = {session for session, count in stored.items() if count > 1}
    unknown = set(stored) - confirmed - ledger.given_up
    server_errors = sum(
        n
        for (_, answer), n in ledger.answers.items()
        if answer.startswith("5") and not answer.startswith("503 service_unavailable")
    )
    no_retry_after = sum(
        n for (_, answer), n in ledger.answers.items() if "no Retry-After" in answer
    )
    checks = [
        (
            f"every event sent was confirmed ({len(confirmed)} of {args.events})",
            len(confirmed) == args.events and not ledger.given_up,
        ),
        (f"0 lost (confirmed but not stored): {len(lost)}", not lost),
        (f"0 doubled (stored twice): {len(doubled)}", not doubled),
        (f"nothing stored that no client sent: {len(unknown)}", not unknown),
        (
            f"every answer JSON, no HTML page: {ledger.html_answers} not JSON",
            ledger.html_answers == 0,
        ),
        (f"no 5xx but JSON 503 service_unavailable: {server_errors}", server_errors == 0),
        (f"every 503 with Retry-After: {no_retry_after} without", no_retry_after == 0),
    ]
    lines = [
        f"## Fault run, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {describe(common.machine())}; load average {load_start} at start, "
        f"{common.load_average()} at end",
        f"- Command: `.venv/bin/python bench/faults.py {' '.join(argv)}`".rstrip(),
        f"- {CLIENTS} clients, gunicorn {WORKERS} sync workers (config/gunicorn.py), cache on "
        f"Redis; {args.events} events in {seconds:.0f} s "
        f"({args.events / seconds:.0f} events/s through the faults)",
        "",
        "Timeline:",
        *(f"- {entry}" for entry in log),
        "",
        "| Phase | Answer | Count |",
        "|---|---|---|",
        *(
            f"| {phase} | {answer} | {count} |"
            for (phase, answer), count in sorted(
                ledger.answers.items(), key=lambda item: (PHASES.index(item[0][0]), item[0][1])
            )
        ),
        "",
        "Checks (clients' ledger against the events table):",
        *(f"- {'PASS' if ok else 'FAIL'}: {text}" for text, ok in checks),
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_record:
        common.append_results(section)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
