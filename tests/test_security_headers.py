"""Every page and answer carries the security headers: Permissions-Policy, Referrer-Policy,
Cross-Origin-Opener-Policy, and a Content-Security-Policy on the HTML pages."""

import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.parametrize(
    ("url", "status", "html"),
    [
        ("/admin/login/", 200, True),
        ("/dashboard/", 302, True),
        ("/dashboard/partners/acme/report/", 302, True),
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
