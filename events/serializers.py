"""Incoming events as the API documents them, and the stored event as partners read it."""

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from events.incoming import FieldRefused, accepted_window, offset_timestamp, validate_event
from events.models import ContactMethod, EventType
from events.services import StoredEvent


class OffsetDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit offset (`Z` or `+hh:mm`); a naive timestamp is refused."""

    def to_internal_value(self, value: Any) -> datetime:
        try:
            return offset_timestamp(value)
        except FieldRefused as refused:
            raise serializers.ValidationError(refused.errors) from None


# The rules themselves are `events.incoming.validate_event`, which the ingest views call
# directly; validating through these classes applies the same function. The context
# carries `helplines`: public id -> primary key of the helplines the request names.
class IncomingEventSerializer(serializers.Serializer):
    """An event as a partner sends it; the rules are in the endpoint's description."""

    event_type: EventType

    helpline_id = serializers.CharField(trim_whitespace=False)
    session_id = serializers.CharField(trim_whitespace=False, allow_blank=True)
    timestamp = OffsetDateTimeField()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        window = accepted_window(timezone.now())
        event = validate_event(
            data, self.event_type, helplines=self.context["helplines"], window=window
        )
        return event._asdict()


class DisplayEventSerializer(IncomingEventSerializer):
    event_type = EventType.DISPLAY


class ClickEventSerializer(IncomingEventSerializer):
    event_type = EventType.CLICK

    contact_method = serializers.ChoiceField(choices=ContactMethod.choices)


class EventSerializer(serializers.Serializer):
    """A stored event, as returned by ingest and by GET /v1/events."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=EventType.choices)
    helpline_id = serializers.CharField()
    session_id = serializers.CharField()
    timestamp = OffsetDateTimeField()
    contact_method = serializers.ChoiceField(
        choices=ContactMethod.choices, allow_null=True, help_text="null on displays."
    )
    received_at = serializers.DateTimeField()


class EventRowSerializer(EventSerializer):
    """EventSerializer over the rows of `events.selectors.partner_events`."""

    helpline_id = serializers.CharField(source="helpline_public_id")
    contact_method = serializers.ChoiceField(
        choices=ContactMethod.choices,
        allow_null=True,
        source="contact_method_or_null",
        help_text="null on displays.",
    )


def stored_event_body(event: StoredEvent) -> dict[str, Any]:
    """`EventSerializer`'s representation of `event`, built directly for the ingest answers.

    A serializer walks its fields generically at about ten times this cost, which a single
    event pays on every answer; tests/api/test_ingest_answers.py holds the two equal.
    """
    return {
        "id": event.id,
        "type": event.type,
        "helpline_id": event.helpline_id,
        "session_id": event.session_id,
        "timestamp": _iso_utc(event.timestamp),
        "contact_method": event.contact_method,
        "received_at": _iso_utc(event.received_at),
    }


def _iso_utc(value: Any) -> str:
    """DRF's DateTimeField output for an aware datetime under TIME_ZONE = UTC."""
    text: str = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
