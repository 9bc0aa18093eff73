"""The partner page lists the partner's refused events per error code (integration health)."""

import json
import re

from django.test import Client
from rest_framework.test import APIClient

from helplines.models import Helpline, Partner


def test_partner_page_lists_refusals_by_code(
    staff_client: Client, client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    def display(session_id: str, timestamp: str = "2026-11-22T00:00:00") -> None:
        body = {"helpline_id": helpline.public_id, "session_id": session_id, "timestamp": timestamp}
        client_live.post(
            "/v1/events/helpline_display", json.dumps(body), content_type="application/json"
        )

    display("jane@example.com")
    display("+44 20 7946 0958")
    display("sess_ok")  # naive timestamp

    html = staff_client.get(f"/dashboard/partners/{partner.slug}/").content.decode()
    table = html[
        html.index('id="refusals-table"') : html.index(
            "</table>", html.index('id="refusals-table"')
        )
    ]
    rows = re.findall(r"<code>(\w+)</code></th><td class=\"n\">(\d+)</td>", table)

    assert rows == [("looks_like_pii", "2"), ("timezone_required", "1")]


def test_partner_page_says_when_nothing_was_refused(staff_client: Client, partner: Partner) -> None:
    html = staff_client.get(f"/dashboard/partners/{partner.slug}/").content.decode()
    assert "No event from this partner was refused." in html
