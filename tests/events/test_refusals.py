"""Refused events are counted per partner, hour and code, for integration health."""

from datetime import UTC, datetime

import time_machine
from rest_framework.test import APIClient

from events.models import RefusedEventCount
from events.selectors import refusal_summary, refusals_by_hour
from helplines.models import Helpline, Partner
from tests.api.bodies import post_json

NOW = datetime(2026, 11, 22, 14, 35, tzinfo=UTC)
HOUR = NOW.replace(minute=0)


def counters(partner: Partner) -> dict[tuple[datetime, str], int]:
    return {
        (row.hour, row.code): row.count for row in RefusedEventCount.objects.filter(partner=partner)
    }


def test_refusals_are_counted_under_their_first_code(
    client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    display = {"helpline_id": helpline.public_id, "session_id": "s", "timestamp": NOW.isoformat()}
    with time_machine.travel(NOW, tick=False):
        post_json(client_live, "/v1/events/helpline_display", {**display, "session_id": "a@b.com"})
        post_json(client_live, "/v1/events/helpline_display", {**display, "session_id": "c@d.org"})
        post_json(client_live, "/v1/events/helpline_click", display)  # no contact_method
        client_live.post("/v1/events/helpline_display", "x", content_type="text/plain")
        assert post_json(client_live, "/v1/events/helpline_display", display).status_code == 201

    assert counters(partner) == {
        (HOUR, "looks_like_pii"): 2,
        (HOUR, "required"): 1,
        (HOUR, "unsupported_media_type"): 1,
    }


def test_each_rejected_event_of_a_batch_counts(
    client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    good = {
        "type": "helpline_display",
        "helpline_id": helpline.public_id,
        "session_id": "s",
        "timestamp": NOW.isoformat(),
    }
    with time_machine.travel(NOW, tick=False):
        post_json(
            client_live,
            "/v1/events/batch",
            {"events": [good, {**good, "helpline_id": "nope"}, {**good, "type": "x"}]},
        )

    assert counters(partner) == {(HOUR, "unknown_helpline"): 1, (HOUR, "invalid_choice"): 1}


def test_requests_without_a_valid_key_are_not_attributed(
    partner: Partner, helpline: Helpline
) -> None:
    APIClient().post("/v1/events/helpline_display", "{}", content_type="application/json")
    assert RefusedEventCount.objects.count() == 0


def test_refusals_per_code_sum_the_hours_most_frequent_first(
    client_live: APIClient, partner: Partner, helpline: Helpline
) -> None:
    display = {"helpline_id": helpline.public_id, "session_id": "a@b.com"}
    for hour in (9, 10, 11):
        moment = NOW.replace(hour=hour)
        with time_machine.travel(moment, tick=False):
            post_json(
                client_live,
                "/v1/events/helpline_display",
                {**display, "timestamp": moment.isoformat()},
            )
    with time_machine.travel(NOW, tick=False):
        naive = {**display, "session_id": "sess_1", "timestamp": "2026-11-22T14:00:00"}
        post_json(client_live, "/v1/events/helpline_display", naive)

    rows = refusals_by_hour(partner_id=partner.pk, since=HOUR.replace(hour=10))
    summary = [(row.code, row.total, row.last_hour.hour) for row in refusal_summary(rows)]
    assert summary == [("looks_like_pii", 2, 11), ("timezone_required", 1, 14)]
