"""With STAFF_REQUIRE_2FA, staff show a TOTP code after the password before any staff page:
they enrol an authenticator first if they have none. Codes are real TOTP codes at a fixed
clock."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.second_factor import second_factor_required

NOW = datetime(2026, 11, 30, 14, 0, 0, tzinfo=UTC)
PASSWORD = "staff-pass-8d1f2a"
ENROL = "/account/2fa/enrol/"
VERIFY = "/account/2fa/verify/"


def code(device: TOTPDevice) -> str:
    """The device's code at the current (frozen) time."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6, drift=0):06d}"


@pytest.fixture
def required(settings: Any) -> None:
    settings.STAFF_REQUIRE_2FA = True


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


@pytest.fixture
def signed_in(superuser: User) -> Client:
    """Signed in with the password alone, through the real sign-in form."""
    client = Client()
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def device(superuser: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=superuser, name="authenticator", confirmed=True)


def test_staff_without_a_device_are_sent_to_enrol(
    required: None, clock: Any, signed_in: Client
) -> None:
    response = signed_in.get("/dashboard/?start=2026-11-01")

    assert response.status_code == 302
    assert response["Location"] == f"{ENROL}?next=%2Fdashboard%2F%3Fstart%3D2026-11-01"
    assert signed_in.get("/admin/").status_code == 302
    assert signed_in.get("/admin/helplines/partner/").status_code == 302


def test_enrolment_shows_the_secret_and_a_csp_clean_qr_code(
    required: None, clock: Any, signed_in: Client, superuser: User
) -> None:
    response = signed_in.get(ENROL, {"next": "/dashboard/"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    device = TOTPDevice.objects.get(user=superuser)
    assert device.confirmed is False
    secret = re.search(r'<code id="otp-secret">([A-Z2-7]+)</code>', response.text)
    assert secret is not None
    assert f"secret={secret[1]}" in response.text
    assert "otpauth://totp/Throughline%20Events%3Aroot?secret=" in response.text
    assert "<svg" in response.text and "<path" in response.text
    # Under the strict CSP: no inline script, no style attribute, no style element.
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None
    assert " style=" not in response.text and "<style" not in response.text
    # A reload shows the same secret (the app may already hold it).
    assert secret[1] in signed_in.get(ENROL).text
    assert TOTPDevice.objects.filter(user=superuser).count() == 1


def test_a_wrong_code_does_not_confirm_the_device(
    required: None, clock: Any, signed_in: Client, superuser: User
) -> None:
    signed_in.get(ENROL)
    device = TOTPDevice.objects.get(user=superuser)
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"

    response = signed_in.post(ENROL, {"otp_token": wrong, "next": "/dashboard/"})

    assert response.status_code == 200
    assert "That code does not match" in response.text
    device.refresh_from_db()
    assert device.confirmed is False
    assert signed_in.get("/dashboard/").status_code == 302


def test_the_first_code_confirms_the_device_and_opens_the_pages(
    required: None, clock: Any, signed_in: Client, superuser: User
) -> None:
    signed_in.get(ENROL)
    device = TOTPDevice.objects.get(user=superuser)

    response = signed_in.post(ENROL, {"otp_token": code(device), "next": "/dashboard/"})

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert signed_in.get("/dashboard/").status_code == 200
    assert signed_in.get("/admin/").status_code == 200


def test_staff_with_a_device_enter_a_code_after_the_password(
    required: None, clock: Any, signed_in: Client, device: TOTPDevice
) -> None:
    response = signed_in.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    # Enrolling another authenticator is not possible without the code.
    assert signed_in.get(ENROL)["Location"] == VERIFY

    page = signed_in.get(VERIFY, {"next": "/admin/"})
    assert page.status_code == 200
    assert "default-src 'self'" in page["Content-Security-Policy"]

    verified = signed_in.post(VERIFY, {"otp_token": code(device), "next": "/admin/"})
    assert verified.status_code == 302
    assert verified["Location"] == "/admin/"
    assert signed_in.get("/admin/").status_code == 200
    assert signed_in.get("/dashboard/").status_code == 200


def test_a_used_code_cannot_be_replayed(
    required: None, clock: Any, superuser: User, device: TOTPDevice
) -> None:
    first = Client()
    first.post("/admin/login/", {"username": "root", "password": PASSWORD})
    token = code(device)
    assert first.post(VERIFY, {"otp_token": token})["Location"] == "/admin/"

    second = Client()
    second.post("/admin/login/", {"username": "root", "password": PASSWORD})
    response = second.post(VERIFY, {"otp_token": token})

    assert response.status_code == 200
    assert "That code does not match" in response.text
    assert second.get("/admin/").status_code == 302


def test_a_code_from_another_time_window_is_refused(
    required: None, clock: Any, signed_in: Client, device: TOTPDevice
) -> None:
    old = code(device)
    clock.shift(timedelta(minutes=5))

    response = signed_in.post(VERIFY, {"otp_token": old})

    assert response.status_code == 200
    assert signed_in.get("/admin/").status_code == 302


def test_next_never_leaves_the_site(
    required: None, clock: Any, signed_in: Client, device: TOTPDevice
) -> None:
    response = signed_in.post(VERIFY, {"otp_token": code(device), "next": "https://evil.example/"})

    assert response["Location"] == "/admin/"


def test_sign_out_works_before_the_code(
    required: None, clock: Any, signed_in: Client, device: TOTPDevice
) -> None:
    response = signed_in.post("/admin/logout/")

    assert response.status_code == 200
    assert "_auth_user_id" not in signed_in.session


def test_without_the_setting_the_password_is_enough(
    settings: Any, signed_in: Client, device: TOTPDevice
) -> None:
    settings.STAFF_REQUIRE_2FA = False

    assert signed_in.get("/admin/").status_code == 200
    assert signed_in.get("/dashboard/").status_code == 200


def test_anonymous_visitors_of_the_2fa_pages_sign_in_first(client: Client) -> None:
    response = client.get(VERIFY)

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/account/2fa/verify/"


def test_the_requirement_covers_signed_in_staff_only(settings: Any, db: None) -> None:
    staff = User(username="s", is_staff=True)
    member = User(username="m", is_staff=False)
    settings.STAFF_REQUIRE_2FA = True
    assert second_factor_required(staff) is True
    assert second_factor_required(member) is False
    assert second_factor_required(AnonymousUser()) is False
    settings.STAFF_REQUIRE_2FA = False
    assert second_factor_required(staff) is False
