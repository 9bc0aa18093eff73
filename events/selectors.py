"""Named reads of raw events."""

from datetime import datetime

from django.db.models import F, QuerySet, Sum, Value
from django.db.models.functions import NullIf

from events.models import Event, RefusedEventCount
from helplines.models import Partner


def partner_events(*, partner: Partner, is_test: bool) -> QuerySet:
    """One partner's events as partners see them: live or test, never the other's.

    A live key reads live events and a test key test events, so an integration under test
    never sees (or is confused by) production traffic, and the reverse.
    """
    return (
        Event.objects.filter(partner=partner, is_test=is_test)
        .values("id", "type", "session_id", "timestamp", "received_at")
        # Named apart from the model's fields, which values() may not shadow.
        .annotate(
            helpline_public_id=F("helpline__public_id"),
            contact_method_or_null=NullIf("contact_method", Value("")),
        )
    )


def refusals_by_code(*, partner_id: int, since: datetime) -> list[tuple[str, int]]:
    """The partner's refused events since `since`, per error code, most frequent first."""
    return list(
        RefusedEventCount.objects.filter(partner_id=partner_id, hour__gte=since)
        .values("code")
        .annotate(total=Sum("count"))
        .order_by("-total", "code")
        .values_list("code", "total")
    )
