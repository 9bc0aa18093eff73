"""`make serve`'s gunicorn (config/gunicorn.py): production settings, static files from
WhiteNoise, and an access log that names no client and keeps no query string."""

import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.common import start_as_make_serve
from tests.conftest import free_port

SECRET = "tl_live_SeCrEtKeyInAUrl0123456789"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The product under config/gunicorn.py, its access log in a file."""
    port = free_port()
    access_log = tmp_path_factory.mktemp("serve") / "access.log"
    process = start_as_make_serve(
        port,
        workers=2,
        stderr=subprocess.PIPE,
        SECRET_KEY="serve-test-" + "k" * 50,
        # No database: the requests below need none, or answer 503 without one.
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        GUNICORN_ACCESS_LOG=str(access_log),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/static/api/favicon.svg", timeout=1):
                break
        except urllib.error.HTTPError:
            break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    yield base, access_log
    process.terminate()
    process.wait(timeout=20)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_access_log_names_no_client_and_no_query_string(served: tuple[str, Path]) -> None:
    base, access_log = served

    assert status_of(f"{base}/v1/topics?api_key={SECRET}") == 401
    assert status_of(f"{base}/healthz?token={SECRET}") == 503
    time.sleep(0.5)  # the log is written after the answer

    lines = [line for line in access_log.read_text().splitlines() if "/static/" not in line]
    assert len(lines) == 2, lines
    assert re.fullmatch(r'\[[^]]+\] "GET /v1/topics HTTP/1\.1" 401 \d+ \d+ms', lines[0])
    assert re.fullmatch(r'\[[^]]+\] "GET /healthz HTTP/1\.1" 503 \d+ \d+ms', lines[1])
    text = "\n".join(lines)
    assert SECRET not in text and "127.0.0.1" not in text and "?" not in text


def test_static_files_are_served_by_whitenoise(served: tuple[str, Path]) -> None:
    base, _ = served
    with urllib.request.urlopen(f"{base}/static/admin/css/base.css", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/css")
