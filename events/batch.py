"""The batch envelope: `{"events": [...]}` in, one result per event out (docs/product.md §3.1)."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.schema import ErrorDetailSerializer
from events.incoming import unknown_field_errors


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": 1000,
        "description": (
            'The events, each `{"type": "helpline_display" | "helpline_click", '
            '"helpline_id", "session_id", "timestamp"[, "contact_method"]}`. Items '
            "are validated one by one: an invalid item is reported as `rejected` in the 200 "
            "answer, never a 400 for the whole batch, so any JSON value is accepted here."
        ),
        "items": {},
        "example": [
            {
                "type": "helpline_display",
                "helpline_id": "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b",
                "session_id": "sess_8f14e45fceea167a",
                "timestamp": "2026-11-22T14:05:00Z",
            },
            {
                "type": "helpline_click",
                "helpline_id": "3f1c2a9e-6b7d-4e8f-9a0b-1c2d3e4f5a6b",
                "session_id": "sess_8f14e45fceea167a",
                "timestamp": "2026-11-22T14:05:09Z",
                "contact_method": "phone",
            },
        ],
    }
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
    events = _EventsListField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = set(data) - {"events"}
            if unknown:
                raise serializers.ValidationError(
                    unknown_field_errors(sorted(unknown), lambda name: "Unknown field.")
                )
        return super().to_internal_value(data)


# Published in the schema as `StatusEnum` (config/settings.py, ENUM_NAME_OVERRIDES): the
# name partners' generated clients know, whatever other `status` fields appear later.
BATCH_RESULT_STATUSES = ["created", "duplicate", "rejected"]


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BATCH_RESULT_STATUSES)
    id = serializers.IntegerField(required=False, help_text="When created or duplicate.")
    error = ErrorDetailSerializer(required=False, help_text="When rejected.")


class BatchResponseSerializer(serializers.Serializer):
    results = BatchResultSerializer(many=True)
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
