"""The sign-in settings from the environment: the second factor is on unless DEBUG (so that
`make run`'s demo signs in with a password), the idle timeout is SESSION_COOKIE_AGE and the
absolute one SESSION_MAX_AGE."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "from django.conf import settings; "
    "print(settings.STAFF_REQUIRE_2FA, settings.SESSION_COOKIE_AGE, "
    "settings.SESSION_MAX_AGE)"
)


def settings_with(**env: str) -> str:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"STAFF_REQUIRE_2FA", "SESSION_COOKIE_AGE", "SESSION_MAX_AGE", "DEBUG"}
    }
    environment |= {"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "k" * 60} | env
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SHOW}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_production_requires_the_second_factor_and_the_demo_does_not() -> None:
    assert settings_with(DEBUG="false") == "True 7200 43200"
    assert settings_with(DEBUG="true") == "False 7200 43200"


def test_all_come_from_the_environment() -> None:
    assert settings_with(DEBUG="false", STAFF_REQUIRE_2FA="false") == "False 7200 43200"
    assert settings_with(
        DEBUG="true", STAFF_REQUIRE_2FA="true", SESSION_COOKIE_AGE="900", SESSION_MAX_AGE="3600"
    ) == ("True 900 3600")
