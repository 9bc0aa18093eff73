"""What every benchmark in bench/ shares: its database, the product served by gunicorn, the
machine's facts, the header of a report and the results file (bench/README.md).

Free of Django imports at module level: a script imports this before it sets Django up.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
RESULTS = BENCH_DIR / "RESULTS.md"


class BenchError(RuntimeError):
    """The run cannot go on (server gone, port taken, wrk missing...)."""


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


def header_lines(
    *, title: str, started: datetime, command: str, pg_version: str, loads: tuple[str, str]
) -> list[str]:
    """The first lines of every report section: when, what ran, on what, how busy."""
    info = machine()
    return [
        f"## {started:%Y-%m-%d %H:%M} UTC — {title}",
        "",
        f"- Command: `{command}`",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, "
        f"PostgreSQL {pg_version}, Python {info['python']}, {info['os']}",
        f"- Product commit: {info['commit']}",
        f"- Load average (1/5/15 min) at start: {loads[0]}; at end: {loads[1]}",
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


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def relative_path(path: str) -> str:
    try:
        return str(Path(path).absolute().relative_to(BASE_DIR))
    except ValueError:
        return path
