"""Failed staff sign-ins lock the username and the client out for LOGIN_LOCKOUT_MINUTES,
with a 429 page (or JSON), and django-axes stores a keyed hash of the client, never its
address."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.lockout import client_address, pseudonymous_client_ip

LOGIN = "/admin/login/"
CLIENT_IP = "203.0.113.77"
OTHER_IP = "198.51.100.23"
PASSWORD = "staff-pass-8d1f2a"
WRONG = "wrong-pass-5c3b9e"


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("alice", password=PASSWORD, is_staff=True)


def sign_in(
    client: Client, username: str, password: str, ip: str = CLIENT_IP, **headers: Any
) -> Any:
    return client.post(
        LOGIN,
        {"username": username, "password": password, "next": "/dashboard/"},
        REMOTE_ADDR=ip,
        **headers,
    )


def test_the_dashboard_sends_staff_to_the_locked_sign_in(client: Client) -> None:
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/dashboard/"


def test_five_failures_lock_the_user_out_with_a_429_page(client: Client, staff: User) -> None:
    for _ in range(4):
        response = sign_in(client, "alice", WRONG)
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.text

    locked = sign_in(client, "alice", WRONG)
    assert locked.status_code == 429
    assert locked["Retry-After"] == "1800"
    assert locked["Content-Type"] == "text/html; charset=utf-8"
    assert "Too many failed sign-ins" in locked.text
    assert "default-src 'self'" in locked["Content-Security-Policy"]

    # The right password no longer helps, from this client or another one.
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    assert sign_in(Client(), "alice", PASSWORD, ip=OTHER_IP).status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_script_is_answered_in_json(client: Client, staff: User) -> None:
    for _ in range(4):
        sign_in(client, "alice", WRONG)

    response = sign_in(client, "alice", WRONG, HTTP_ACCEPT="application/json")

    assert response.status_code == 429
    assert response["Retry-After"] == "1800"
    assert response.json() == {
        "error": {
            "code": "locked_out",
            "message": "Too many failed sign-ins: this account or this client is locked. "
            "Try again in 30 minutes, or ask an administrator to unlock it.",
        }
    }


def test_one_client_trying_many_usernames_is_locked_out(client: Client, staff: User) -> None:
    for name in ["bob", "carol", "dave", "erin", "frank"]:
        sign_in(client, name, WRONG)

    # alice's own password from that client is refused; from another client it works.
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    other = Client()
    assert sign_in(other, "alice", PASSWORD, ip=OTHER_IP).status_code == 302
    assert other.session["_auth_user_id"] == str(staff.pk)


def test_the_lock_lifts_after_the_cool_off(client: Client, staff: User) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            sign_in(client, "alice", WRONG)
        assert sign_in(client, "alice", PASSWORD).status_code == 429

    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert sign_in(client, "alice", PASSWORD).status_code == 429
    # Each refused try restarted the 30 minutes.
    with time_machine.travel(start + timedelta(minutes=59, seconds=1), tick=False):
        assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_axes_reset_username_unlocks_the_account(client: Client, staff: User) -> None:
    for _ in range(5):
        sign_in(client, "alice", WRONG, ip=OTHER_IP)
    assert sign_in(client, "alice", PASSWORD).status_code == 429

    call_command("axes_reset_username", "alice", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert sign_in(client, "alice", PASSWORD).status_code == 302
    assert AccessAttempt.objects.count() == 0


def test_success_clears_the_count(client: Client, staff: User) -> None:
    for _ in range(4):
        sign_in(client, "alice", WRONG)
    assert sign_in(client, "alice", PASSWORD).status_code == 302

    client.post("/admin/logout/")
    for _ in range(4):
        assert sign_in(client, "alice", WRONG).status_code == 200


def test_the_stored_attempts_hold_no_address_and_no_password(client: Client, staff: User) -> None:
    for _ in range(3):
        sign_in(client, "alice", WRONG, HTTP_USER_AGENT="Mozilla/5.0 (Test)")

    attempt = AccessAttempt.objects.get()
    pseudonym = pseudonymous_client_ip(RequestFactory().get("/", REMOTE_ADDR=CLIENT_IP))
    assert attempt.ip_address == pseudonym
    assert pseudonym.startswith("fd")
    assert attempt.username == "alice"
    assert attempt.failures_since_start == 3
    stored = " ".join(
        str(value)
        for value in AccessAttempt.objects.values_list(
            "ip_address", "username", "user_agent", "get_data", "post_data", "http_accept"
        ).get()
    )
    for secret in (CLIENT_IP, WRONG, PASSWORD):
        assert secret not in stored
    assert "password=********************" in attempt.post_data

    # A success removes the attempts and writes no access log (no row per sign-in).
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    assert AccessAttempt.objects.count() == 0
    assert AccessLog.objects.count() == 0


def test_the_pseudonym_is_stable_per_address_and_keyed(settings: Any) -> None:
    factory = RequestFactory()
    first = pseudonymous_client_ip(factory.get("/", REMOTE_ADDR=CLIENT_IP))

    assert pseudonymous_client_ip(factory.get("/", REMOTE_ADDR=CLIENT_IP)) == first
    assert pseudonymous_client_ip(factory.get("/", REMOTE_ADDR=OTHER_IP)) != first
    settings.SECRET_KEY = "another-secret-key-" + "k" * 40
    assert pseudonymous_client_ip(factory.get("/", REMOTE_ADDR=CLIENT_IP)) != first


def test_behind_a_proxy_the_client_is_the_address_the_proxy_saw(settings: Any) -> None:
    factory = RequestFactory()
    # The client claims 10.0.0.1; the proxy (REMOTE_ADDR) appended the address it saw.
    claimed = f"10.0.0.1, {CLIENT_IP}"
    settings.TRUSTED_PROXIES = ["127.0.0.1", "192.0.2.10"]

    via_proxy = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=claimed)
    assert client_address(via_proxy) == CLIENT_IP
    # Two proxies: the outer one (192.0.2.10) is skipped too.
    chain = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{claimed}, 192.0.2.10")
    assert client_address(chain) == CLIENT_IP
    # A proxy that sent no header: the proxy itself.
    assert client_address(factory.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"
    # Anyone else's header is not believed.
    direct = factory.get("/", REMOTE_ADDR=OTHER_IP, HTTP_X_FORWARDED_FOR=claimed)
    assert client_address(direct) == OTHER_IP
    settings.TRUSTED_PROXIES = ["*"]
    assert client_address(direct) == CLIENT_IP


def test_clients_behind_the_proxy_are_locked_out_apart(client: Client, staff: User) -> None:
    for name in ["bob", "carol", "dave", "erin", "frank"]:
        sign_in(client, name, WRONG, ip="127.0.0.1", HTTP_X_FORWARDED_FOR=OTHER_IP)

    locked = sign_in(Client(), "alice", PASSWORD, ip="127.0.0.1", HTTP_X_FORWARDED_FOR=OTHER_IP)
    assert locked.status_code == 429
    # Another client of the same proxy is not locked out with it.
    other = sign_in(Client(), "alice", PASSWORD, ip="127.0.0.1", HTTP_X_FORWARDED_FOR=CLIENT_IP)
    assert other.status_code == 302
