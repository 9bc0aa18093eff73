"""The partner's integration health, for the engineer who integrates (docs/product.md §3.1).

Events received per clock hour over the last 48 hours, live and test apart; when the last
event arrived; events refused per code and hour, each code with its meaning and its fix
(`events.incoming.REFUSAL_HELP`), never what was refused (only counts are kept); and a
test-traffic view, to watch a sandbox integration work before it goes live. Read from the
aggregates and counters only (`events.metrics`, `events.selectors`), never from raw events.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.partner_views import partner_page
from dashboard import charts
from dashboard.pages import traffic_window
from events.days import UTC_ZONE
from events.metrics import traffic_by_hour
from events.selectors import SenderUse, refusal_summary, refusals_by_hour, usage_by_sender
from helplines.models import Partner, PartnerAPIKey
from oauth.models import PartnerClient


def last_received(partner: Partner, used: dict[str, SenderUse]) -> dict[bool, datetime | None]:
    """When the last live (False) and test (True) event arrived, from each key's and OAuth
    client's last use (two small queries: the partner's keys and clients)."""
    senders = [
        *PartnerAPIKey.objects.filter(partner=partner).values_list("prefix", "is_test"),
        *PartnerClient.objects.filter(partner=partner).values_list("label", "is_test"),
    ]
    last: dict[bool, datetime | None] = {False: None, True: None}
    for name, is_test in senders:
        if name in used:
            seen = last[is_test]
            last[is_test] = used[name].last if seen is None else max(seen, used[name].last)
    return last


def health(partner: Partner, *, now: datetime) -> dict[str, Any]:
    """The page's figures (5 queries)."""
    since, end = traffic_window(now)
    hours = traffic_by_hour(partner.pk, since, end, UTC_ZONE)
    refusals = refusals_by_hour(partner_id=partner.pk, since=since)
    last = last_received(partner, usage_by_sender(partner.pk))
    return {
        "since": since,
        "hours": list(reversed(hours)),  # the table: newest hour first
        "live_total": sum(slot.live_events for slot in hours),
        "test_total": sum(slot.test_events for slot in hours),
        "last_live": last[False],
        "last_test": last[True],
        "refusal_rows": refusals,
        "refusal_codes": refusal_summary(refusals),
        "refused_total": sum(count for _, _, count in refusals),
        "hours_chart": hours,
    }


@require_safe
@partner_page
def integration(request: HttpRequest, partner: Partner, *, test_only: bool = False) -> HttpResponse:
    """`test_only`: the test-traffic view (its own URL; no query parameter changes whose
    figures are read)."""
    context = health(partner, now=timezone.now())
    hours = context.pop("hours_chart")
    if test_only:
        chart = charts.traffic_chart([(slot.hour, 0, slot.test_events) for slot in hours])
        chart.label = "Test events received per hour"
        chart.legend = [("legend-test", "Test")]
    else:
        chart = charts.traffic_chart([(s.hour, s.live_events, s.test_events) for s in hours])
    context |= {
        "partner": partner,
        "title": "Test traffic" if test_only else "Integration health",
        "test_only": test_only,
        "chart": chart,
    }
    return render(request, "partner/integration.html", context)
