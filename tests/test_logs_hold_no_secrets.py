"""No log line, at any level and from any logger, holds an API key or its secret part, a
password, a session cookie, a TOTP secret, an end user's session id or the client's
address: every record of a full ingest, a staff sign-in (a failed one too, then the second
factor) and an export is captured at DEBUG, SQL included, and searched."""

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings
from rest_framework.test import APIClient

from helplines.models import Helpline, Partner
from helplines.services import issue_key

CLIENT_IP = "203.0.113.77"
END_USER_SESSION = "sess-7c1e9b42a0d3"
PASSWORD = "staff-pass-e81f0c77"
WRONG_PASSWORD = "wrong-pass-19ad4b2e"
NOW = datetime(2026, 11, 30, 14, 0, 0, tzinfo=UTC)
# The attributes every LogRecord has; anything else on a record came from `extra`.
STANDARD = set(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None))) | {
    "message",
    "asctime",
}


class Everything(logging.Handler):
    """Keeps each record as the text a formatter would write, plus its extra attributes."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.loggers: set[str] = set()
        self.formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: repr(v) for k, v in vars(record).items() if k not in STANDARD}
        self.lines.append(f"{self.format(record)} {json.dumps(extras, sort_keys=True)}")
        self.loggers.add(record.name)


@pytest.fixture
def captured() -> Iterator[Everything]:
    """Every logger at DEBUG, the handler on the root and on loggers that do not propagate,
    and SQL logged (Django logs queries only with a debug cursor)."""
    handler = Everything()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    # Loggers created during the run (first used then) start at NOTSET: the root's DEBUG.
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if logger is logging.getLogger() or not logger.propagate:
            logger.addHandler(handler)
    try:
        with CaptureQueriesContext(connection):
            yield handler
    finally:
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.removeHandler(handler)


def test_no_log_line_holds_a_secret(
    db: None, captured: Everything, helpline: Helpline, settings: Settings
) -> None:
    settings.STAFF_REQUIRE_2FA = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with time_machine.travel(NOW, tick=False):
        partner = Partner.objects.create(name="Acme Chat", slug="acme")
        _, raw_key = issue_key(partner=partner, name="production")
        user = User.objects.create_superuser("root", "root@example.org", PASSWORD)
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)

        # Ingest: a display, a click, a batch, and a call with a wrong key.
        api = APIClient(REMOTE_ADDR=CLIENT_IP)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        event = {
            "helpline_id": helpline.public_id,
            "session_id": END_USER_SESSION,
            "timestamp": "2026-11-30T13:59:00Z",
        }
        assert api.post("/v1/events/helpline_display", event, format="json").status_code == 201
        click = {**event, "contact_method": "phone"}
        assert api.post("/v1/events/helpline_click", click, format="json").status_code == 201
        batch = {"events": [event, {**event, "timestamp": "2026-11-30T13:58:00Z"}]}
        assert api.post("/v1/events/batch", batch, format="json").status_code == 200
        wrong_key = raw_key[:-6] + "zzzzzz"
        intruder = APIClient(REMOTE_ADDR=CLIENT_IP)
        intruder.credentials(HTTP_AUTHORIZATION=f"Bearer {wrong_key}")
        assert intruder.post("/v1/events/helpline_display", event, format="json").status_code == 401

        # Staff sign-in: a wrong password, the right one, then the second factor.
        staff = Client(REMOTE_ADDR=CLIENT_IP)
        login = {"username": "root", "next": "/dashboard/"}
        assert staff.post("/admin/login/", login | {"password": WRONG_PASSWORD}).status_code == 200
        assert staff.post("/admin/login/", login | {"password": PASSWORD}).status_code == 302
        code = f"{totp(device.bin_key):06d}"
        verified = staff.post("/account/2fa/verify/", {"otp_token": code, "next": "/dashboard/"})
        assert verified.status_code == 302
        session_cookie = staff.cookies["sessionid"].value

        # Export: the raw events of the day.
        export = staff.get(
            "/dashboard/export/events.csv", {"start": "2026-11-30", "end": "2026-11-30"}
        )
        assert export.status_code == 200
        assert isinstance(export, StreamingHttpResponse)
        assert END_USER_SESSION in b"".join(export.streaming_content).decode()

    log = "\n".join(captured.lines)
    # The capture saw the work: SQL, the refused key, the failed sign-in.
    assert {"django.db.backends", "django.request", "axes.handlers.database"} <= captured.loggers
    assert "Unauthorized: /v1/events/helpline_display" in log
    secrets = {
        "API key": raw_key,
        "API key secret": raw_key.split(".", 1)[1],
        "wrong API key secret": wrong_key.split(".", 1)[1],
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "session cookie": session_cookie,
        "TOTP secret": device.key,
        "end user session id": END_USER_SESSION,
        "client address": CLIENT_IP,
    }
    leaks = {name: value for name, value in secrets.items() if value in log}
    assert leaks == {}


def test_each_record_of_django_is_written_once() -> None:
    # Django's own console handler beside the root's wrote its records twice under
    # DEBUG (every 404 and 403, runserver's lines); the root's console writes them once.
    django_logger = logging.getLogger("django")
    assert django_logger.handlers == []
    assert django_logger.propagate
    assert logging.getLogger().handlers
