"""Every page and answer carries the security headers: Permissions-Policy, Referrer-Policy,
Cross-Origin-Opener-Policy, and a Content-Security-Policy on the HTML pages."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings


@pytest.mark.parametrize(
    ("url", "status", "html"),
    [
        ("/admin/login/", 200, True),
        ("/dashboard/", 302, True),
        ("/dashboard/partners/acme/report/", 302, True),
        ("/dashboard/helplines/any-line/", 302, True),
        ("/account/2fa/enrol/", 302, True),
        ("/account/2fa/verify/", 302, True),
        ("/account/password/forgot/", 200, True),
        ("/account/password/set/MQ/bad-token/", 200, True),
        ("/partner/", 302, True),
        ("/v1/topics", 401, False),
        ("/healthz", 200, False),
        ("/no-such-page", 404, False),
    ],
)
def test_every_answer_carries_the_security_headers(
    client: Client, db: None, url: str, status: int, html: bool
) -> None:
    response = client.get(url)

    assert response.status_code == status
    assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    if html:
        assert "default-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("page", ["/account/2fa/enrol/", "/account/2fa/verify/", "locked"])
def test_the_sign_in_pages_carry_the_headers_when_rendered(
    client: Client, db: None, settings: Settings, page: str
) -> None:
    settings.STAFF_REQUIRE_2FA = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = User.objects.create_user("alice", password="staff-pass-123", is_staff=True)
    if page == "locked":
        for _ in range(settings.AXES_FAILURE_LIMIT):
            response = client.post("/admin/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 429
    else:
        if page.endswith("verify/"):
            TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        client.force_login(user)
        response = client.get(page)
        assert response.status_code == 200

    assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_the_partner_page_carries_the_headers_when_rendered(client: Client, db: None) -> None:
    from accounts.partners import create_partner_user
    from helplines.models import Partner

    partner = Partner.objects.create(name="Acme Chat", slug="acme")
    client.force_login(create_partner_user(partner=partner, username="pat"))

    response = client.get("/partner/")

    assert response.status_code == 200
    assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert b"<script>" not in response.content and b" style=" not in response.content
