"""Named reads of raw events."""

from django.db.models import F, QuerySet, Value
from django.db.models.functions import NullIf

from events.models import Event
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
