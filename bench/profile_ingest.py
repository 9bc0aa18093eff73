"""Where an ingest request's time goes, in one command: `.venv/bin/python bench/profile_ingest.py`.

Calls the product's WSGI application in-process (no gunicorn, no sockets) with the bodies
bench/run.py sends: the ceiling route, single displays (every one new), the identical
retry and batches of 500. Prints the microseconds per request of each, the product
paths' time as a multiple of the ceiling's, and cProfile's top functions by cumulative
and own time for each product path. The database is bench/run.py's (DATABASE_URL,
default `throughline_bench`): created if missing, migrated and emptied.

    .venv/bin/python bench/profile_ingest.py [--requests 2000] [--batches 40] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.common import (  # noqa: E402  (the path above makes `bench` importable as a script)
    ensure_database,
)
from bench.run import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    prepare_product_data,
)


def environ(path: str, body: bytes, key: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def display(session: str, helpline: str, stamp: datetime) -> dict[str, str]:
    return {
        "helpline_id": helpline,
        "session_id": session,
        "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def bodies(kind: str, helplines: list[str], count: int, batch: int) -> Iterator[bytes]:
    tag = secrets.token_hex(3)
    newest = datetime.now(UTC) - timedelta(minutes=1)
    for n in range(count):
        if kind == "ceiling":
            yield json.dumps(display("ceiling", helplines[0], newest)).encode()
        elif kind == "display":
            stamp = newest - timedelta(seconds=n % 86400)
            yield json.dumps(display(f"p{tag}_{n}", helplines[n % len(helplines)], stamp)).encode()
        elif kind == "retry":
            yield json.dumps(display(f"p{tag}_same", helplines[0], newest)).encode()
        else:
            events = [
                {"type": "helpline_display"}
                | display(
                    f"b{tag}_{n}_{i}",
                    helplines[i % len(helplines)],
                    newest - timedelta(seconds=(n * batch + i) % 86400),
                )
                for i in range(batch)
            ]
            yield json.dumps({"events": events}).encode()


PATHS = {
    "ceiling": "/bench/ceiling",
    "display": "/v1/events/helpline_display",
    "retry": "/v1/events/helpline_display",
    "batch": "/v1/events/batch",
}
EXPECTED = {"ceiling": {200}, "display": {201}, "retry": {200, 201}, "batch": {200}}


def run(
    app: Callable[..., Any], kind: str, key: str, payloads: list[bytes], profile: bool
) -> tuple[float, pstats.Stats | None]:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for body in payloads:
        for _ in app(environ(PATHS[kind], body, key), start_response):
            pass
    if profiler:
        profiler.disable()
    took = time.perf_counter() - started
    bad = [status for status in statuses if int(status[:3]) not in EXPECTED[kind]]
    if bad:
        raise SystemExit(f"{kind}: unexpected answers {bad[:3]}")
    return took / len(payloads), pstats.Stats(profiler) if profiler else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="single requests per path")
    parser.add_argument("--batches", type=int, default=40, help="batch requests")
    parser.add_argument("--batch", type=int, default=500, help="events per batch")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile")
    parser.add_argument("--only", choices=list(PATHS), help="profile this path only")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        EVENTS_RATE_LIMIT="100000000/s",
        LOG_LEVEL="WARNING",
    )
    ensure_database(url)
    key, helplines = prepare_product_data()
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    counts = {"ceiling": args.requests, "display": args.requests, "retry": args.requests}
    counts["batch"] = args.batches
    timings: dict[str, float] = {}
    profiles: dict[str, pstats.Stats] = {}
    for kind in PATHS:
        payloads = list(bodies(kind, helplines, counts[kind], args.batch))
        run(app, kind, key, payloads[: max(1, len(payloads) // 10)], profile=False)  # warm-up
        payloads = list(bodies(kind, helplines, counts[kind], args.batch))
        timings[kind], _ = run(app, kind, key, payloads, profile=False)
        if kind != "ceiling" and (args.only in (None, kind)):
            payloads = list(bodies(kind, helplines, counts[kind], args.batch))
            _, stats = run(app, kind, key, payloads, profile=True)
            assert stats is not None
            profiles[kind] = stats
    print("In-process time per request (no HTTP server):")
    for kind, seconds in timings.items():
        extra = f" = {seconds / timings['ceiling']:.1f}x the ceiling" if kind != "ceiling" else ""
        per_event = f", {seconds / args.batch * 1e6:.1f} us per event" if kind == "batch" else ""
        print(f"  {kind:8} {seconds * 1e6:9.0f} us{extra}{per_event}")
    for kind, stats in profiles.items():
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            stats.stream = out  # type: ignore[attr-defined]
            stats.sort_stats(order).print_stats(args.top)
            print(f"\n==== {kind}: top {args.top} by {order} ====")
            print("\n".join(out.getvalue().splitlines()[6:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
