"""GET /v1/events/stats: a partner's own figures, from the one metrics module.

docs/product.md §3.2.
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api.schema import AUTH_ERRORS, BODY_ERRORS, THROTTLED, UNAVAILABLE
from events.metrics import (
    Dimension,
    EventFilter,
    MetricRow,
    Metrics,
    fill_days,
    format_ratio,
    metric_rows,
)
from events.serializers import OffsetDateTimeField
from events.throttling import EventRateThrottle
from helplines.authentication import request_api_key, request_partner
from helplines.models import validate_timezone

GROUPINGS = {
    "day": Dimension.DAY,
    "helpline": Dimension.HELPLINE,
    "country": Dimension.COUNTRY,
    "contact_method": Dimension.CONTACT_METHOD,
}
MAX_RANGE_DAYS = 400
# Figures are read by calendar days of `timezone`, and a day past the last: near year 1
# or year 9999 such days do not exist in every zone.
EARLIEST = datetime(1, 1, 3, tzinfo=UTC)
LATEST = datetime(9999, 12, 29, tzinfo=UTC)


class StatsQuerySerializer(serializers.Serializer):
    start_time = OffsetDateTimeField(help_text="Inclusive, ISO 8601 with an offset.")
    end_time = OffsetDateTimeField(help_text="Exclusive, ISO 8601 with an offset.")
    group_by = serializers.ChoiceField(choices=list(GROUPINGS), required=False)
    timezone = serializers.CharField(
        required=False,
        help_text="IANA time zone of the days (sessions are counted per day); "
        "default: your billing time zone.",
    )

    def validate_timezone(self, value: str) -> str:
        try:
            validate_timezone(value)
        except Exception as exc:
            raise serializers.ValidationError(
                "Not an IANA time zone name.", code="invalid_timezone"
            ) from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs["start_time"], attrs["end_time"]
        for name in ("start_time", "end_time"):
            if not EARLIEST <= attrs[name] <= LATEST:
                message = f"Must be between {EARLIEST.date()} and {LATEST.date()}."
                raise serializers.ValidationError(
                    {name: [serializers.ErrorDetail(message, code="invalid")]}
                )
        if end <= start:
            raise serializers.ValidationError(
                {"end_time": [serializers.ErrorDetail("Must be after start_time.", code="invalid")]}
            )
        if (end - start).days > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {
                    "end_time": [
                        serializers.ErrorDetail(
                            f"The range is at most {MAX_RANGE_DAYS} days.", code="range_too_long"
                        )
                    ]
                }
            )
        return attrs


class FiguresSerializer(serializers.Serializer):
    displays = serializers.IntegerField(allow_null=True)
    clicks = serializers.IntegerField()
    ctr = serializers.FloatField(allow_null=True, help_text="clicks / displays; null at 0.")
    sessions_reached = serializers.IntegerField(allow_null=True)
    sessions_converted = serializers.IntegerField(allow_null=True)
    conversion_rate = serializers.FloatField(
        allow_null=True, help_text="converted / reached; null at 0."
    )


class StatsRowSerializer(FiguresSerializer):
    day = serializers.DateField(required=False)
    helpline_id = serializers.CharField(required=False)
    helpline_name = serializers.CharField(required=False)
    country_code = serializers.CharField(required=False)
    contact_method = serializers.CharField(required=False)


class StatsSerializer(serializers.Serializer):
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    timezone = serializers.CharField()
    group_by = serializers.CharField(allow_null=True)
    totals = FiguresSerializer()
    rows = StatsRowSerializer(many=True)


def _figures(metrics: Metrics, *, by_method: bool = False) -> dict[str, Any]:
    def number(value: Any) -> float | None:
        text = format_ratio(value)
        return float(text) if text else None

    return {
        # A click has a contact method, a display does not: per-method rows carry clicks.
        "displays": None if by_method else metrics.displays,
        "clicks": metrics.clicks,
        "ctr": None if by_method else number(metrics.ctr),
        "sessions_reached": metrics.sessions_reached,
        "sessions_converted": metrics.sessions_converted,
        "conversion_rate": number(metrics.conversion_rate),
    }


def _row(row: MetricRow, grouping: str) -> dict[str, Any]:
    if grouping == "day":
        assert row.day is not None
        return {"day": row.day.isoformat(), **_figures(row.metrics)}
    if grouping == "helpline":
        assert row.helpline is not None
        return {
            "helpline_id": row.helpline.public_id,
            "helpline_name": row.helpline.name,
            **_figures(row.metrics),
        }
    if grouping == "country":
        return {"country_code": row.country, **_figures(row.metrics)}
    return {"contact_method": row.contact_method, **_figures(row.metrics, by_method=True)}


def _own_traffic(
    event_filter: EventFilter, dims: list[Dimension], tz: ZoneInfo, is_test: bool
) -> list[MetricRow]:
    """Rows of the key's own kind of traffic only: live for a live key, test for a test key."""
    rows = metric_rows(event_filter, [Dimension.TRAFFIC, *dims], tz)
    return [row for row in rows if row.is_test == is_test]


class EventStatsViewSet(viewsets.ViewSet):
    throttle_classes = [EventRateThrottle]

    @extend_schema(
        tags=["events"],
        summary="Your displays, clicks, CTR and session conversion",
        description=(
            "Figures over `start_time` <= timestamp < `end_time`, the same numbers Throughline "
            "bills on. Sessions are counted per calendar day in `timezone` and summed over the "
            "range. With `group_by`, one row per day (every day of the range, zeros "
            "included), helpline, country or contact method (contact-method rows carry clicks "
            "only: a display has no contact method). A live key reads live traffic, a test "
            "key test traffic."
        ),
        parameters=[
            OpenApiParameter("start_time", datetime, required=True),
            OpenApiParameter("end_time", datetime, required=True),
            OpenApiParameter("group_by", str, enum=list(GROUPINGS)),
            OpenApiParameter("timezone", str, description="IANA name; default your billing zone."),
        ],
        responses={
            200: StatsSerializer,
            400: BODY_ERRORS[400],
            **AUTH_ERRORS,
            **THROTTLED,
            **UNAVAILABLE,
        },
    )
    def summary(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        partner, api_key = request_partner(request), request_api_key(request)
        params = query.validated_data
        tz_name = params.get("timezone") or partner.billing_timezone
        tz = ZoneInfo(tz_name)
        grouping = params.get("group_by")
        event_filter = EventFilter(
            start=params["start_time"],
            end=params["end_time"],
            partner_ids=frozenset({partner.pk}),
            include_test=api_key.is_test,
        )
        is_test = api_key.is_test
        [total] = _own_traffic(event_filter, [], tz, is_test) or [MetricRow(metrics=Metrics())]
        rows = _own_traffic(event_filter, [GROUPINGS[grouping]], tz, is_test) if grouping else []
        if grouping == "day":
            last_moment = params["end_time"] - timedelta(microseconds=1)  # end is exclusive
            rows = fill_days(
                rows,
                params["start_time"].astimezone(tz).date(),
                last_moment.astimezone(tz).date(),
            )
        return Response(
            {
                "start_time": params["start_time"],
                "end_time": params["end_time"],
                "timezone": tz_name,
                "group_by": grouping,
                "totals": _figures(total.metrics),
                "rows": [_row(row, grouping) for row in rows] if grouping else [],
            }
        )
