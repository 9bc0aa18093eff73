"""A staff session ends after SESSION_COOKIE_AGE without a request; each request renews it."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_session_expires_after_two_idle_hours_not_two_busy_ones(db: None) -> None:
    user = User.objects.create_superuser("root", "root@example.org", "root-pass-123")
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(user)
        assert client.get("/admin/").status_code == 200

        # Busy for three hours, never idle for two: still signed in.
        for _ in range(3):
            clock.shift(timedelta(hours=1))
            assert client.get("/admin/").status_code == 200
        session = Session.objects.get()
        assert session.expire_date == START + timedelta(hours=3) + timedelta(hours=2)

        clock.shift(timedelta(hours=2, seconds=1))
        response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
