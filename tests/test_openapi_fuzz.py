"""An off-the-shelf OpenAPI fuzzer (schemathesis) against a real server finds no
undocumented status code, no server error and no response that breaks the schema."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from helplines.models import Helpline
from helplines.services import create_partner

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "ignored_auth",
    ]
)


@pytest.mark.django_db(transaction=True)
def test_fuzzer_finds_nothing_undocumented(
    live_server: LiveServer, settings: Settings, tmp_path: Path
) -> None:
    settings.EVENTS_RATE_LIMIT = "100000/s"  # the fuzzer is fast; 429 is documented anyway
    Helpline.objects.create(public_id="hl-fuzz", name="Fuzz line", country_code="GB")
    _, raw_key = create_partner(name="Fuzzer", daily_quota=1_000_000)
    st = Path(sys.executable).with_name("st")

    result = subprocess.run(
        [
            str(st),
            "run",
            f"{live_server.url}/v1/schema/",
            "--header",
            f"Authorization: Bearer {raw_key}",
            "--checks",
            CHECKS,
            "--max-examples",
            os.environ.get("FUZZ_MAX_EXAMPLES", "15"),
            "--seed",
            "20261122",
            "--generation-deterministic",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
