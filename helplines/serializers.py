"""Partner-facing shapes of the directory: helplines, topics and countries.

Optional text (description, subdivision, every contact channel) is `null` when empty,
never `""`, so a client tests one thing. `hourly_capacity` is Throughline's internal
load-management figure and is not shown to partners; `load` says only whether a priority
helpline is busy, from every partner's traffic together.
"""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from helplines.models import CONTACT_CHANNEL_FIELDS, Helpline, Topic, country_name
from helplines.selectors import directory_load, directory_pair


class NullWhenBlankCharField(serializers.CharField):
    def to_representation(self, value: Any) -> Any:
        return str(value) if value else None


def _optional(help_text: str) -> NullWhenBlankCharField:
    return NullWhenBlankCharField(read_only=True, allow_null=True, help_text=help_text)


class TopicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Topic
        fields = ["slug", "name"]


LOAD_STATUSES = ["normal", "busy"]


class LoadSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=LOAD_STATUSES,
        help_text=(
            "`busy`: the helpline's contacts from all partners together went over its hourly "
            "capacity in the last rolling hour measured; consider offering another helpline "
            "as well. Never a reason to hide this one."
        ),
    )
    as_of = serializers.DateTimeField(
        allow_null=True,
        help_text=(
            "End of the rolling hour measured (a UTC quarter-hour): the status counts clicks "
            "before this instant, measured once they were stored, so it lags by up to 15 "
            "minutes plus a minute or two. A measurement over an hour old no longer says "
            "`busy`. null: not measured yet."
        ),
    )


class HelplineSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="public_id", read_only=True, help_text="Send this as `helpline_id` in events."
    )
    description = _optional("Free text, or null.")
    country_code = serializers.CharField(read_only=True, help_text="ISO 3166-1 alpha-2.")
    subdivision = _optional("Region or state within the country, or null.")
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone name.")
    topics = TopicSerializer(many=True, read_only=True)
    phone_number = _optional("Contact channel `phone`, or null.")
    sms_number = _optional("Contact channel `sms`, or null.")
    web_chat_url = _optional("Contact channel `online_chat`, or null.")
    whatsapp_url = _optional("Contact channel `whatsapp`, or null.")
    website = _optional("Contact channel `website`, or null.")
    tty_number = _optional("Contact channel `tty`, or null.")
    reporting_form_url = _optional("Contact channel `reporting_form`, or null.")
    priority = serializers.BooleanField(source="is_priority", read_only=True)
    paired_with = serializers.SerializerMethodField(
        help_text=(
            "The id of the service that belongs with this one (an adult and a youth line, "
            "one line in two languages): display both or neither. null when unpaired."
        )
    )
    load = serializers.SerializerMethodField(
        help_text="Priority helplines with a known capacity only, null for the others."
    )

    class Meta:
        model = Helpline
        fields = [
            "id",
            "name",
            "description",
            "country_code",
            "subdivision",
            "timezone",
            "topics",
            *CONTACT_CHANNEL_FIELDS,
            "priority",
            "paired_with",
            "load",
        ]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_paired_with(self, helpline: Helpline) -> str | None:
        return directory_pair(helpline)

    @extend_schema_field(LoadSerializer(allow_null=True))
    def get_load(self, helpline: Helpline) -> dict[str, Any] | None:
        load = directory_load(helpline, now=self.context.get("now") or timezone.now())
        return None if load is None else LoadSerializer(load).data


# The envelope of a `list` action: one object, not the array drf-spectacular assumes.
@extend_schema_serializer(many=False)
class HelplineListSerializer(serializers.Serializer):
    helplines = HelplineSerializer(many=True)


# The envelope of a `list` action: one object, not the array drf-spectacular assumes.
@extend_schema_serializer(many=False)
class TopicListSerializer(serializers.Serializer):
    topics = TopicSerializer(many=True)


class CountrySerializer(serializers.Serializer):
    code = serializers.CharField(source="country_code", help_text="ISO 3166-1 alpha-2.")
    name = serializers.SerializerMethodField()
    helplines = serializers.IntegerField(help_text="Active helplines in this country.")

    def get_name(self, row: dict[str, Any]) -> str:
        return country_name(row["country_code"])


# The envelope of a `list` action: one object, not the array drf-spectacular assumes.
@extend_schema_serializer(many=False)
class CountryListSerializer(serializers.Serializer):
    countries = CountrySerializer(many=True)
