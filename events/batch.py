"""The batch envelope: `{"events": [...]}` in, one result per event out (SPEC §3.1)."""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from api.schema import ErrorDetailSerializer
from events.models import ContactMethod, EventType


class BatchItemSerializer(serializers.Serializer):
    """Documentation of one batch item; each is validated by its type's own serializer."""

    type = serializers.ChoiceField(choices=EventType.choices)
    helpline_id = serializers.CharField()
    session_id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    contact_method = serializers.ChoiceField(
        choices=ContactMethod.choices, required=False, help_text="Clicks only."
    )


class _EventsListField(serializers.ListField):
    """The raw items, unvalidated: a bad item is rejected alone, never the whole batch."""

    default_error_messages = {
        "empty": "A batch holds at least one event.",
        "max_length": "A batch holds at most {max_length} events.",
    }

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        if len(data) > settings.EVENTS_MAX_BATCH:
            self.fail("max_length", max_length=settings.EVENTS_MAX_BATCH)
        return data


class BatchRequestSerializer(serializers.Serializer):
    events = _EventsListField(child=BatchItemSerializer())

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = set(data) - {"events"}
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                        for name in sorted(unknown)
                    }
                )
        return super().to_internal_value(data)


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    id = serializers.IntegerField(required=False, help_text="When created or duplicate.")
    error = ErrorDetailSerializer(required=False, help_text="When rejected.")


class BatchResponseSerializer(serializers.Serializer):
    results = BatchResultSerializer(many=True)
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
