"""Validation of incoming events (SPEC §3.1) and the stored event as partners read it."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from events.models import ContactMethod, EventType
from events.pii import SESSION_ID_MAX_LENGTH, SESSION_ID_PATTERN, pii_kind
from events.timestamps import NaiveTimestamp, parse_iso_timestamp


class StrictCharField(serializers.CharField):
    """A string and only a string: DRF's CharField would take the integer 0 as "0"."""

    default_error_messages = {"wrong_type": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("wrong_type")
        return super().to_internal_value(data)


class OffsetDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit offset (`Z` or `+hh:mm`); a naive timestamp is refused."""

    default_error_messages = {
        "wrong_type": "Must be an ISO 8601 string.",
        "invalid": "Must be an ISO 8601 timestamp, e.g. 2026-11-22T14:05:00Z.",
        "timezone_required": "Must include a UTC offset, e.g. Z or +01:00.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("wrong_type")
        try:
            return parse_iso_timestamp(value)
        except NaiveTimestamp:
            self.fail("timezone_required")
        except ValueError:
            self.fail("invalid")


# An error names at most this many unknown fields of one object: a body of thousands of
# unknown keys would otherwise cost seconds of CPU and an answer several times its size.
MAX_UNKNOWN_FIELDS_NAMED = 10


class IncomingEventSerializer(serializers.Serializer):
    """The fields shared by both event types, and the rules every event obeys.

    The view passes `helplines` in the context: public id -> primary key of every
    helpline the request names, fetched in one query (inactive helplines included: a late
    event about a helpline since retired must not be lost).
    """

    event_type: EventType

    helpline_id = StrictCharField(trim_whitespace=False)
    session_id = StrictCharField(trim_whitespace=False, allow_blank=True)
    timestamp = OffsetDateTimeField()

    default_error_messages = {"unknown_field": "Unknown field: it is not part of this event."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown = {}
        if isinstance(data, Mapping):
            for name in data:
                if name not in self.fields:
                    unknown[name] = [self._unknown_field_error(name)]
                    if len(unknown) == MAX_UNKNOWN_FIELDS_NAMED:
                        break
        try:
            validated = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        validated["type"] = self.event_type
        validated["helpline_pk"] = self.context["helplines"][validated["helpline_id"]]
        return validated

    def _unknown_field_error(self, name: str) -> serializers.ErrorDetail:
        message = self.error_messages["unknown_field"]
        if name == "contact_method":
            message = "contact_method is only accepted on helpline_click events."
        return serializers.ErrorDetail(str(message), code="unknown_field")

    def validate_helpline_id(self, value: str) -> str:
        if value not in self.context["helplines"]:
            raise serializers.ValidationError(
                "No helpline in the directory has this id.", code="unknown_helpline"
            )
        return value

    def validate_session_id(self, value: str) -> str:
        kind = pii_kind(value)
        if kind is not None:
            raise serializers.ValidationError(
                f"Looks like {kind}: send an opaque id such as a UUID or a hash, never "
                "personal data.",
                code="looks_like_pii",
            )
        if not value:
            raise serializers.ValidationError("This field may not be blank.", code="blank")
        if len(value) > SESSION_ID_MAX_LENGTH:
            raise serializers.ValidationError(
                f"At most {SESSION_ID_MAX_LENGTH} characters.", code="max_length"
            )
        if not SESSION_ID_PATTERN.fullmatch(value):
            raise serializers.ValidationError(
                "Only letters, digits and . _ : - are allowed.", code="invalid_characters"
            )
        return value

    def validate_timestamp(self, value: datetime) -> datetime:
        now = timezone.now()
        if value > now + timedelta(seconds=settings.EVENTS_FUTURE_TOLERANCE_SECONDS):
            raise serializers.ValidationError(
                "More than 5 minutes in the future: check the client's clock.", code="in_future"
            )
        if value < now - timedelta(days=settings.EVENTS_LATE_ARRIVAL_DAYS):
            raise serializers.ValidationError(
                f"Older than the late-arrival window of {settings.EVENTS_LATE_ARRIVAL_DAYS} days.",
                code="too_old",
            )
        return value


class DisplayEventSerializer(IncomingEventSerializer):
    event_type = EventType.DISPLAY


class ClickEventSerializer(IncomingEventSerializer):
    event_type = EventType.CLICK

    contact_method = serializers.ChoiceField(choices=ContactMethod.choices)


INCOMING_SERIALIZERS: dict[str, type[IncomingEventSerializer]] = {
    EventType.DISPLAY: DisplayEventSerializer,
    EventType.CLICK: ClickEventSerializer,
}


class EventSerializer(serializers.Serializer):
    """A stored event, as returned by ingest and by GET /v1/events."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=EventType.choices)
    helpline_id = serializers.CharField()
    session_id = serializers.CharField()
    timestamp = serializers.DateTimeField()
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
