"""A session ends after SESSION_COOKIE_AGE without a request, renewed at most once a minute,
and SESSION_MAX_AGE after its sign-in however busy (accounts/sessions.py)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connection
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from accounts.sessions import RENEW_AFTER

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TWO_HOURS = timedelta(hours=2)


@pytest.fixture
def root(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", "root-pass-123")


def signed_out(response: HttpResponseBase) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/login/?next=/admin/"


def test_a_session_expires_after_two_idle_hours_not_two_busy_ones(root: User) -> None:
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(root)
        assert client.get("/admin/").status_code == 200

        # Busy for three hours, never idle for two: still signed in.
        for _ in range(3):
            clock.shift(timedelta(hours=1))
            assert client.get("/admin/").status_code == 200
        session = Session.objects.get()
        assert session.expire_date == START + timedelta(hours=3) + TWO_HOURS

        clock.shift(TWO_HOURS + timedelta(seconds=1))
        response = client.get("/admin/")

    assert signed_out(response)


def session_writes(client: Client, path: str = "/admin/") -> list[str]:
    """The statements a request wrote to the session table."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith(("UPDATE", "INSERT", "DELETE")) and "django_session" in q["sql"]
    ]


def test_the_idle_timeout_is_renewed_at_most_once_a_minute(root: User) -> None:
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(root)
        signed_in = Session.objects.get().expire_date
        assert signed_in == START + TWO_HOURS

        # Within the minute: the session is read, never written, its cookie not sent again.
        clock.shift(timedelta(seconds=RENEW_AFTER - 1))
        assert session_writes(client) == []
        assert Session.objects.get().expire_date == signed_in
        assert "sessionid" not in client.get("/admin/").cookies

        # A minute after the last renewal: renewed from this request.
        clock.shift(timedelta(seconds=1))
        response = client.get("/admin/")
        assert response.status_code == 200
        renewed = START + timedelta(seconds=RENEW_AFTER)
        assert Session.objects.get().expire_date == renewed + TWO_HOURS
        cookie = response.cookies["sessionid"]
        assert cookie["max-age"] == int(TWO_HOURS.total_seconds())

        # Idle from there: the session ends two hours after the renewal, not after the
        # request that followed it within the minute (up to a minute sooner).
        clock.shift(timedelta(seconds=30))
        assert session_writes(client) == []
        clock.move_to(renewed + TWO_HOURS + timedelta(seconds=1))
        assert signed_out(client.get("/admin/"))


def test_a_busy_session_ends_twelve_hours_after_its_sign_in(root: User) -> None:
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(root)
        # A page reloaded every half hour (the load page reloads itself every two minutes)
        # keeps the session busy all day, never idle for two hours.
        for _ in range(23):
            clock.shift(timedelta(minutes=30))
            assert client.get("/admin/").status_code == 200
        clock.move_to(START + timedelta(hours=12))
        response = client.get("/admin/")

        assert signed_out(response)
        # The ended session is gone from the table, and its cookie from the browser.
        assert not Session.objects.exists()
        assert response.cookies["sessionid"].value == ""

        # Signing in again starts a new twelve hours.
        client.force_login(root)
        assert client.get("/admin/").status_code == 200
        data = Session.objects.get().get_decoded()
        assert data["_signed_in_at"] == int((START + timedelta(hours=12)).timestamp())


def test_a_session_from_before_the_clocks_starts_them_at_its_next_request(root: User) -> None:
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(root)
        session = client.session
        for key in ("_signed_in_at", "_renewed_at"):
            del session[key]
        session.save()

        clock.shift(timedelta(hours=1))
        assert client.get("/admin/").status_code == 200
        data = Session.objects.get().get_decoded()
        now = int((START + timedelta(hours=1)).timestamp())
        assert (data["_signed_in_at"], data["_renewed_at"]) == (now, now)
        clock.shift(timedelta(hours=12))
        assert signed_out(client.get("/admin/"))


def test_an_unknown_session_cookie_stores_nothing(db: None) -> None:
    client = Client()
    client.cookies["sessionid"] = "no-such-session-key-0123456789abcdef"
    assert signed_out(client.get("/admin/"))
    assert not Session.objects.exists()


def test_api_requests_never_read_the_session(
    root: User, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = Client()
    client.force_login(root)
    # No key: refused before any session or key is read from the database.
    with django_assert_num_queries(0):
        assert client.get("/v1/events").status_code == 401
