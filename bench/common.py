"""What every benchmark in bench/ shares: its command line, its database, the product served
by gunicorn, the machine's facts, the header of a report and the results file
(bench/README.md).

Free of Django imports at module level: a script imports this before it sets Django up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, NoReturn
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
RESULTS = BENCH_DIR / "RESULTS.md"


class BenchError(RuntimeError):
    """The run cannot go on (server gone, port taken, wrk missing...)."""


# --- the command line --------------------------------------------------------------------


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A script's parser, described by the first paragraph of its docstring (`doc`)."""
    return argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])


def add_workers_option(parser: argparse.ArgumentParser, *, note: str = "") -> None:
    """--workers, the server's gunicorn sync workers; `note` follows the default in the help."""
    parser.add_argument("--workers", type=int, default=4, help=f"gunicorn sync workers (4{note})")


def add_connections_option(parser: argparse.ArgumentParser, *, note: str = "") -> None:
    """--connections, wrk's to the server; `note` follows the default in the help."""
    parser.add_argument("--connections", type=int, default=16, help=f"wrk connections (16{note})")


def add_port_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("BENCH_PORT", "0")),
        help="the server's port (default: a free one chosen by the system)",
    )


def add_no_record_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-record", action="store_true", help="print the figures, do not append RESULTS.md"
    )


def run_script(main: Callable[[list[str]], int]) -> NoReturn:
    """Exit with the status `main` returns for the command line's arguments; a BenchError
    (the run could not go on) is one line on stderr and status 2."""
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(2)


def command_line(argv: list[str]) -> str:
    """How the script was run, for the report: paths relative to the checkout."""
    return shlex.join([relative_path(sys.executable), relative_path(sys.argv[0]), *argv])


# --- the database ------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the database named by `url` when it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    """Drop the database named by `url`, closing its connections (a run's own database)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(parts.path.lstrip("/"))
            )
        )


def postgres_url(default: str) -> str:
    """DATABASE_URL, or the script's own database; exits with status 2 unless it is
    PostgreSQL (the only database whose figures the benchmarks are about)."""
    url = os.environ.get("DATABASE_URL", default)
    if not url.startswith(("postgres://", "postgresql://")):
        print(f"DATABASE_URL must point at PostgreSQL, not {url}", file=sys.stderr)
        raise SystemExit(2)
    return url


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]


# --- the product, served -----------------------------------------------------------------


def server_environment(url: str, run_id: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's server, also the script's own: production-like
    settings, bench.settings (its ceiling route tells this run's server from a leftover by
    `run_id`), and an ingest rate limit no load reaches. `extra` adds or overrides."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "EVENTS_RATE_LIMIT": "100000000/s",
        "LOG_LEVEL": "WARNING",
        "BENCH_RUN_ID": run_id,
        "PYTHONPATH": str(BASE_DIR),
        **extra,
    }


def adopt_server_environment(url: str, **extra: str) -> tuple[str, dict[str, str]]:
    """A new run id and its server's environment (`server_environment`), made this
    process's own too: the script seeds the database under the settings the server runs.
    SIGTERM from now on ends the run through its `finally` blocks (the server stopped)."""
    run_id = secrets.token_hex(4)
    env = server_environment(url, run_id, **extra)
    os.environ.update(env)
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    return run_id, env


@contextmanager
def serving(port: int, env: dict[str, str], workers: int, *, log_prefix: str) -> Iterator[Server]:
    """gunicorn (`Server`) on `port`, a free one when 0, for the block; stopped after it,
    whatever happened. Its log goes to a new temporary directory named `log_prefix`*."""
    server = Server(port or free_port(), env, Path(tempfile.mkdtemp(prefix=log_prefix)))
    try:
        print(f"Starting gunicorn on {server.base_url} ({workers} workers, log {server.log})")
        server.start(workers)
        yield server
    finally:
        server.stop()
        print(f"gunicorn stopped (log {server.log})", flush=True)


class Server:
    """gunicorn serving bench.settings, started and stopped by pid (never by name)."""

    def __init__(self, port: int, env: dict[str, str], log_dir: Path) -> None:
        self.port = port
        self.env = env
        self.log = log_dir / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int) -> None:
        if port_in_use(self.port):
            raise BenchError(
                f"Port {self.port} is already in use: a leftover server would answer this "
                "run. Stop it, or pass --port."
            )
        with self.log.open("ab") as log:
            self.process = self._spawn(workers, log)
        self._wait_ready()

    def _spawn(self, workers: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
        # gunicorn itself, not a shell: the Popen's pid is the master's pid.
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--chdir",
                str(BASE_DIR),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
                "--error-logfile",
                "-",
            ],
            env=self.env,
            cwd=BASE_DIR,
            stdin=subprocess.DEVNULL,
            # gunicorn's log and the workers' warnings go to the log file, not the report.
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _wait_ready(self) -> None:
        """Until the ceiling route answers with this run's id (not a stranger's server)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.base_url}/bench/ceiling", timeout=2) as answer:
                    body = json.loads(answer.read())
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
                continue
            if body.get("run") != self.env["BENCH_RUN_ID"]:
                raise BenchError(f"Another server answers on port {self.port}: {body}")
            return
        raise BenchError(f"gunicorn did not answer within 60 s; see {self.log}")

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise BenchError(f"gunicorn is not running (see {self.log})")

    def stop(self) -> None:
        """SIGTERM (graceful: workers finish their request), SIGKILL after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_as_make_serve(
    port: int, *, workers: int, stderr: int = subprocess.DEVNULL, **extra: str
) -> subprocess.Popen[bytes]:
    """gunicorn as `make serve` runs it (config/gunicorn.py, every knob from the
    environment) on 127.0.0.1:`port` with `workers` workers: production settings over
    plain HTTP, `extra` added to the environment. Started, not waited for."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py", "config.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the report --------------------------------------------------------------------------


def git(*args: str) -> str:
    """What `git ARGS` prints in the project's checkout (nothing when it fails)."""
    return subprocess.run(
        ["git", *args], cwd=BASE_DIR, capture_output=True, text=True, check=False
    ).stdout


def machine() -> dict[str, str]:
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    commit = git("rev-parse", "--short", "HEAD").strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": commit or "unknown",
    }


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass(frozen=True)
class Header:
    """What every report section opens with: when the run started, how it was run, on
    what machine and PostgreSQL, and how busy the machine was at its start and its end."""

    started: datetime
    command: str
    info: dict[str, str]  # machine()
    pg_version: str
    loads: tuple[str, str]

    @classmethod
    def at_end(cls, *, started: datetime, command: str, url: str, load_at_start: str) -> Header:
        """The header of a run that is over (the load average now is the one at its end)."""
        return cls(
            started, command, machine(), postgres_version(url), (load_at_start, load_average())
        )

    def lines(self, title: str, *, commit_note: str = "") -> list[str]:
        """The section's title line and the facts; `commit_note` follows the commit."""
        info = self.info
        return [
            f"## {self.started:%Y-%m-%d %H:%M} UTC — {title}",
            "",
            f"- Command: `{self.command}`",
            f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, "
            f"PostgreSQL {self.pg_version}, Python {info['python']}, {info['os']}",
            f"- Product commit: {info['commit']}{commit_note}",
            f"- Load average (1/5/15 min) at start: {self.loads[0]}; at end: {self.loads[1]}",
        ]


def rounds_table_head(rounds: int, *, median: str, last: str) -> list[str]:
    """The head of a report's table of figures: a column per round, then the median's
    column (`median`, its title) and a last, left-aligned one (`last`)."""
    return [
        "| Figure | "
        + " | ".join(f"Round {number}" for number in range(1, rounds + 1))
        + f" | {median} | {last} |",
        "|---|" + "---:|" * rounds + "---:|---|",
    ]


def append_results(section: str) -> None:
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Ingest benchmark results\n\n"
            "One section per run of `bench/run.py`, oldest first (bench/README.md says what "
            "each phase measures). Absolute figures depend on how busy the machine was; the "
            "ratios to the ceilings measured in the same run are what compare across runs.\n\n"
        )
    with RESULTS.open("a") as results:
        results.write(section + "\n")


def report_section(lines: list[str], *, compare: str) -> str:
    """A report's section: its lines, then which of its figures compare across runs (the
    ratios, each taken against the ceilings that `compare` names) and why."""
    closing = (
        "The machine is shared (other test suites run on it), so absolute figures swing; "
        f"compare the ratios, each taken against {compare}."
    )
    return "\n".join([*lines, closing, ""])


def publish(section: str, *, record: bool) -> None:
    """Print the report's section, and append it to RESULTS.md when `record`."""
    print()
    print(section)
    if record:
        append_results(section)
        print(f"Appended to {RESULTS.relative_to(BASE_DIR)}")


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def relative_path(path: str) -> str:
    try:
        return str(Path(path).absolute().relative_to(BASE_DIR))
    except ValueError:
        return path
