"""Query parameters of GET /v1/events."""

import django_filters

from events.models import ContactMethod, EventType


class EventFilter(django_filters.FilterSet):
    start_time = django_filters.IsoDateTimeFilter(
        field_name="timestamp",
        lookup_expr="gte",
        required=True,
        help_text="Inclusive. ISO 8601, e.g. 2026-11-01T00:00:00Z (no offset means UTC).",
    )
    end_time = django_filters.IsoDateTimeFilter(
        field_name="timestamp",
        lookup_expr="lt",
        required=True,
        help_text="Exclusive. ISO 8601.",
    )
    type = django_filters.ChoiceFilter(choices=EventType.choices)
    helpline_id = django_filters.CharFilter(field_name="helpline__public_id")
    session_id = django_filters.CharFilter()
    contact_method = django_filters.ChoiceFilter(choices=ContactMethod.choices)
