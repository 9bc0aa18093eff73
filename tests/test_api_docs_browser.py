"""/v1/docs/ renders in a real browser under the site's strict Content-Security-Policy."""

from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

OPERATIONS = {
    "POST /v1/events/helpline_display",
    "POST /v1/events/helpline_click",
    "POST /v1/events/batch",
    "GET /v1/events",
    "GET /v1/events/stats",
    "GET /v1/helplines",
    "GET /v1/helplines/{helpline_id}",
    "GET /v1/topics",
    "GET /v1/countries",
}


@pytest.mark.django_db(transaction=True)
def test_docs_list_every_operation_with_no_console_error_or_csp_violation(
    browser_page: Any, live_server: LiveServer
) -> None:
    page = browser_page
    response = page.goto(f"{live_server.url}/v1/docs/")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary", timeout=20_000)
    shown = {
        " ".join(summary.inner_text().split()[:2])
        for summary in page.locator(".opblock-summary").all()
    }
    assert shown == OPERATIONS
    assert page.console_errors == []
    assert page.evaluate("window.__cspViolations") == []
