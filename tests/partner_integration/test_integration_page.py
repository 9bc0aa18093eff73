"""The partner's integration health page: its events per hour (live and test), its last
events, its refusals per code and hour with what each code means and how to fix it (never
what was refused), the test-traffic view, and nothing of another partner's."""

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape
from rest_framework.test import APIClient

from events.incoming import refusal_help
from helplines.models import Helpline, Partner
from tests.api.bodies import post_json
from tests.conftest import IssuedKey, Send

VIEWED = datetime(2026, 11, 22, 14, 35, tzinfo=UTC)
PII = "jane.doe@example.com"


def at(hour: int, minute: int) -> datetime:
    return VIEWED.replace(hour=hour, minute=minute)


def refuse(client: APIClient, helpline: Helpline, when: datetime, **fields: str) -> None:
    body = {
        "helpline_id": helpline.public_id,
        "session_id": "sess_1",
        "timestamp": when.isoformat(),
    }
    with time_machine.travel(when, tick=False):
        response = post_json(client, "/v1/events/helpline_display", body | fields)
    assert response.status_code == 400, response.content


def traffic(send: Send, helpline: Helpline, live: IssuedKey, test: IssuedKey, b: IssuedKey) -> None:
    """A: 2 live displays at 12:xx, a live click at 13:20, a test display and click at
    13:40 and 13:50; B: a live display at 13:05. Each received at its own timestamp."""
    for key, session, when, method in [
        (live.key, "s1", at(12, 10), ""),
        (live.key, "s2", at(12, 15), ""),
        (live.key, "s1", at(13, 20), "phone"),
        (test.key, "t1", at(13, 40), ""),
        (test.key, "t1", at(13, 50), "sms"),
        (b.key, "b1", at(13, 5), ""),
    ]:
        with time_machine.travel(when, tick=False):
            send(key, helpline, session, when, method)


@pytest.fixture
def sent(
    send: Send, helpline: Helpline, live_key: IssuedKey, test_key: IssuedKey, key_b: IssuedKey
) -> None:
    traffic(send, helpline, live_key, test_key, key_b)


def view(page: Client, path: str) -> Any:
    with time_machine.travel(VIEWED, tick=False):
        response = page.get(path)
    assert response.status_code == 200
    return response


def by_hour(response: Any) -> dict[datetime, tuple[int, int]]:
    return {
        slot.hour.astimezone(UTC): (slot.live_events, slot.test_events)
        for slot in response.context["hours"]
    }


def test_events_per_hour_live_and_test_and_the_last_ones(sent: None, page_a: Client) -> None:
    response = view(page_a, "/partner/integration/")

    hours = by_hour(response)
    assert len(hours) == 48
    assert min(hours) == datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert max(hours) == datetime(2026, 11, 22, 14, tzinfo=UTC)
    assert {hour: n for hour, n in hours.items() if n != (0, 0)} == {
        at(12, 0): (2, 0),
        at(13, 0): (1, 2),
    }
    context = response.context
    assert (context["live_total"], context["test_total"]) == (3, 2)
    assert (context["last_live"], context["last_test"]) == (at(13, 20), at(13, 50))
    html = response.content.decode()
    assert '<tr data-hour="2026-11-22T13:00"><th scope="row">2026-11-22 13:00</th>' in html
    assert '<td class="n" data-col="live">1</td><td class="n" data-col="test">2</td>' in html
    assert (
        '<td class="n" data-col="test-displays">1</td><td class="n" data-col="test-clicks">1</td>'
        in html
    )
    assert "2026-11-22 13:50:00 UTC" in html  # the last test event


def test_refusals_per_code_and_hour_with_meaning_and_fix_never_the_content(
    partner: Partner,
    helpline: Helpline,
    client_live: APIClient,
    api_client: Any,
    key_b: IssuedKey,
    page_a: Client,
) -> None:
    refuse(client_live, helpline, at(13, 5), session_id=PII)
    refuse(client_live, helpline, at(13, 6), session_id="+44 20 7946 0958")
    refuse(client_live, helpline, at(14, 10), timestamp="2026-11-22T14:09:00")
    refuse(api_client(key_b.secret), helpline, at(14, 11), helpline_id="nope")  # B's

    response = view(page_a, "/partner/integration/")

    assert response.context["refusal_rows"] == [
        (at(14, 0), "timezone_required", 1),
        (at(13, 0), "looks_like_pii", 2),
    ]
    summary = [(row.code, row.total, row.last_hour) for row in response.context["refusal_codes"]]
    assert summary == [("looks_like_pii", 2, at(13, 0)), ("timezone_required", 1, at(14, 0))]
    assert response.context["refused_total"] == 3
    html = response.content.decode()
    for code in ("looks_like_pii", "timezone_required"):
        meaning, fix = refusal_help(code)
        assert f"<td>{escape(meaning)}</td><td>{escape(fix)}</td>" in html
    assert "unknown_helpline" not in html  # B's refusal
    for refused in (PII, "7946", "2026-11-22T14:09"):
        assert refused not in html


def test_the_test_traffic_view_shows_test_events_only(sent: None, page_a: Client) -> None:
    response = view(page_a, "/partner/integration/test/")

    assert response.context["test_only"] is True
    html = response.content.decode()
    assert 'data-col="live"' not in html
    assert 'data-kpi="last-live"' not in html
    assert (
        '<tr data-hour="2026-11-22T13:00"><th scope="row">2026-11-22 13:00</th>'
        '<td class="n" data-col="test">2</td>'
    ) in html
    assert (
        '<tr data-hour="2026-11-22T12:00"><th scope="row">2026-11-22 12:00</th>'
        '<td class="n" data-col="test">0</td>'
    ) in html
    assert response.context["test_total"] == 2
    assert "Test events received per hour" in html


def test_no_url_query_or_form_shows_another_partners_figures(
    sent: None, other_partner: Partner, page_a: Client, page_b: Client
) -> None:
    for path in (
        f"/partner/integration/?partner={other_partner.slug}&partner_id={other_partner.pk}",
        f"/partner/integration/test/?partner={other_partner.slug}",
    ):
        response = view(page_a, path)
        assert response.context["live_total"] == 3
        assert response.context["partner"].slug == "acme"

    response = view(page_b, "/partner/integration/")
    assert by_hour(response)[at(13, 0)] == (1, 0)
    assert (response.context["live_total"], response.context["test_total"]) == (1, 0)
    assert response.context["last_live"] == at(13, 5)


def test_only_signed_in_partner_users_reach_it(
    page_a: Client, client: Client, admin_client: Client
) -> None:
    assert client.get("/partner/integration/")["Location"].startswith("/admin/login/")
    assert admin_client.get("/partner/integration/").status_code == 403
    assert page_a.post("/partner/integration/").status_code == 405  # read only
