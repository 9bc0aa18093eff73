"""The README's first-events example works as pasted, against a real server."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from pytest_django.live_server_helper import LiveServer

from demo.world import HELPLINES
from events.models import Event
from helplines.models import Helpline

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def first_match(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match.group(1)


def curl_example() -> str:
    section = README[README.index("## Your first events, with curl") :]
    return first_match(r"```sh\n(.*?)```", section)


def test_the_readme_helpline_is_in_the_demo_directory() -> None:
    helpline_id = first_match(r"HELPLINE=(\S+)", curl_example())
    demo = {line.public_id: line for line in HELPLINES}

    assert helpline_id in demo
    assert demo[helpline_id].active


@pytest.mark.postgres  # the shell's create_partner must reach the test database
@pytest.mark.django_db(transaction=True)
def test_the_readme_curl_example_works_as_pasted(live_server: LiveServer) -> None:
    helpline_id = first_match(r"HELPLINE=(\S+)", curl_example())
    Helpline.objects.create(public_id=helpline_id, name="Listening Line UK", country_code="GB")
    script = curl_example().replace("http://127.0.0.1:8000", live_server.url)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.count('"id":') for line in lines] == [1, 1], result.stdout
    assert '"type":"helpline_display"' in lines[0]
    assert '"contact_method":"phone"' in lines[1]
    assert sorted(Event.objects.values_list("type", flat=True)) == [
        "helpline_click",
        "helpline_display",
    ]
