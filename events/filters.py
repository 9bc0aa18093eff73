"""Query parameters of GET /v1/events."""

from datetime import datetime
from typing import Any

import django_filters
from django import forms

from events.models import ContactMethod, EventType
from events.timestamps import parse_iso_timestamp


class TimestampField(forms.Field):
    default_error_messages = {
        "invalid": "Must be an ISO 8601 timestamp with an offset, e.g. 2026-11-22T14:05:00Z."
    }

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        try:
            return parse_iso_timestamp(str(value))
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class TimestampFilter(django_filters.Filter):
    field_class = TimestampField


class ReadBackFilter(django_filters.FilterSet):
    start_time = TimestampFilter(
        field_name="timestamp",
        lookup_expr="gte",
        required=True,
        help_text="Inclusive. ISO 8601 with an offset, e.g. 2026-11-01T00:00:00Z.",
    )
    end_time = TimestampFilter(
        field_name="timestamp",
        lookup_expr="lt",
        required=True,
        help_text="Exclusive. ISO 8601 with an offset.",
    )
    type = django_filters.ChoiceFilter(choices=EventType.choices)
    helpline_id = django_filters.CharFilter(field_name="helpline__public_id")
    session_id = django_filters.CharFilter()
    contact_method = django_filters.ChoiceFilter(choices=ContactMethod.choices)
