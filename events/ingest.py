"""Partner event ingest: POST /v1/events/helpline_display, helpline_click and batch.

Reading events back is events/readback.py; the stats endpoint, events/stats.py.
"""

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import validation_error_body
from api.schema import AUTH_ERRORS, BODY_ERRORS, CONTENT_ENCODING, THROTTLED, UNAVAILABLE
from events.batch import BatchRequestSerializer, BatchResponseSerializer
from events.incoming import FIELDS, MESSAGES, accepted_window, refusal, validate_event
from events.models import EventType
from events.serializers import (
    ClickEventSerializer,
    DisplayEventSerializer,
    EventSerializer,
    stored_event_body,
)
from events.services import NewEvent, count_refusals, record_events
from events.throttling import EventRateThrottle
from helplines.authentication import request_api_key, request_partner
from helplines.models import PartnerAPIKey
from helplines.selectors import helpline_pks_by_public_id

logger = logging.getLogger(__name__)

INGEST_ERRORS = {**BODY_ERRORS, **AUTH_ERRORS, **THROTTLED, **UNAVAILABLE}


RULES = """
Rules (each refusal is a 400 naming the field and a code):
- `helpline_id`: an id from `GET /v1/helplines` (`unknown_helpline`); retired helplines count.
- `timestamp`: ISO 8601 with an offset, e.g. `2026-11-22T14:05:00Z` (`timezone_required`,
  `invalid`); at most 5 minutes ahead (`in_future`) and at most 7 days old (`too_old`).
- `session_id`: 1-128 of `A-Z a-z 0-9 . _ : -`, opaque (a UUID, a hash, `sess_<random>`);
  anything shaped like an email, phone number, IP address or card number is refused
  (`looks_like_pii`).
- Unknown fields are refused (`unknown_field`); strings must be strings (`wrong_type`).

Sending the same event again (same helpline, session, timestamp and contact method) is safe:
the answer is 200 with the event already stored, never a second event. Event calls do not
count against the directory quota; they are rate limited per key (429 with `Retry-After`).
"""


def _single_schema(
    request_serializer: type[serializers.Serializer], summary: str, description: str
) -> Any:
    return extend_schema(
        tags=["events"],
        summary=summary,
        description=description + RULES,
        request=request_serializer,
        parameters=[CONTENT_ENCODING],
        responses={
            201: OpenApiResponse(EventSerializer, description="Stored."),
            200: OpenApiResponse(
                EventSerializer,
                description="Identical to an event already stored: not stored again.",
            ),
            **INGEST_ERRORS,
        },
    )


class EventIngestViewSet(viewsets.GenericViewSet):
    """Validates each event alone (docs/product.md §3.1), stores the valid ones (`record_events`).

    Quota exempt: never counts against the directory quota; rate limited per key instead.
    """

    throttle_classes = [EventRateThrottle]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if 400 <= response.status_code < 500 and isinstance(self.request.auth, PartnerAPIKey):
            _count_refusals(self.request, [_refusal_code(response.data["error"])])
        return response

    @property
    def max_body_bytes(self) -> int:
        if self.action == "batch":
            return settings.EVENTS_MAX_BATCH_BODY_BYTES
        return settings.EVENTS_MAX_BODY_BYTES

    @_single_schema(
        DisplayEventSerializer,
        "Report that a helpline was displayed",
        "Call when a helpline is shown to a user. No contact_method on displays.\n",
    )
    def display(self, request: Request) -> Response:
        return self._ingest_one(request, EventType.DISPLAY)

    @_single_schema(
        ClickEventSerializer,
        "Report that a user clicked to contact a helpline",
        "Call when a user clicks a contact method of a helpline; `contact_method` is required.\n",
    )
    def click(self, request: Request) -> Response:
        return self._ingest_one(request, EventType.CLICK)

    @extend_schema(
        tags=["events"],
        summary="Report up to 1,000 events at once",
        description=(
            '`{"events": [...]}` where each event carries `type` (`helpline_display` or '
            "`helpline_click`) and the fields of that type. Each event is validated alone by "
            "the same rules; valid events are stored even when others are rejected. The answer "
            "has one result per event, in order: `created` or `duplicate` with the event's "
            "`id`, or `rejected` with the error. An empty batch or more than 1,000 events is a "
            "400; a body over 1 MB (decompressed, with `Content-Encoding: gzip`) a 413.\n" + RULES
        ),
        request=BatchRequestSerializer,
        parameters=[CONTENT_ENCODING],
        responses={
            200: OpenApiResponse(
                BatchResponseSerializer,
                description="One result per event, in order; valid events are stored even "
                "when others are rejected.",
            ),
            **INGEST_ERRORS,
        },
    )
    def batch(self, request: Request) -> Response:
        envelope = BatchRequestSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items = envelope.validated_data["events"]
        helplines = helpline_pks_by_public_id(
            item.get("helpline_id") for item in items if isinstance(item, dict)
        )
        window = accepted_window(timezone.now())
        results: list[dict[str, Any]] = []
        valid: list[tuple[int, NewEvent]] = []
        for index, item in enumerate(items):
            error = _batch_item_error(item)
            if error is None:
                try:
                    event = validate_event(
                        item, item["type"], helplines=helplines, window=window, in_batch=True
                    )
                except serializers.ValidationError as exc:
                    error = validation_error_body(exc.detail)["error"]
                else:
                    results.append({"index": index})
                    valid.append((index, event))
                    continue
            results.append({"index": index, "status": "rejected", "error": error})

        stored = record_events(
            partner=request_partner(request),
            api_key=request_api_key(request),
            events=[new for _, new in valid],
        )
        for (index, _), one in zip(valid, stored, strict=True):
            result = results[index]
            result["status"] = "created" if one.created else "duplicate"
            result["id"] = one.id
        statuses = [result["status"] for result in results]
        _count_refusals(
            request, [_refusal_code(r["error"]) for r in results if r["status"] == "rejected"]
        )
        return Response(
            {
                "results": results,
                "created": statuses.count("created"),
                "duplicates": statuses.count("duplicate"),
                "rejected": statuses.count("rejected"),
            }
        )

    def _ingest_one(self, request: Request, event_type: EventType) -> Response:
        data = request.data
        helplines = helpline_pks_by_public_id(
            [data.get("helpline_id")] if isinstance(data, dict) else []
        )
        window = accepted_window(timezone.now())
        event = validate_event(data, event_type, helplines=helplines, window=window)
        [stored] = record_events(
            partner=request_partner(request), api_key=request_api_key(request), events=[event]
        )
        return Response(
            stored_event_body(stored),
            status=status.HTTP_201_CREATED if stored.created else status.HTTP_200_OK,
        )


def _refusal_code(error: dict[str, Any]) -> str:
    """The code a refusal is counted under: the first field's code for a validation error
    (`looks_like_pii`, `timezone_required`, ...), else the error's own (`throttled`, ...)."""
    for field_errors in error.get("fields", {}).values():
        if field_errors:
            return str(field_errors[0]["code"])
    return str(error["code"])


def _count_refusals(request: Request, codes: list[str]) -> None:
    # Integration health only: losing a count must never turn the partner's answer into
    # an error, so a database failure here is logged and swallowed.
    try:
        count_refusals(partner=request_partner(request), codes=codes, at=timezone.now())
    except DatabaseError:
        logger.warning("Could not count refused events", exc_info=True)


def _batch_item_error(item: Any) -> dict[str, Any] | None:
    """The error of a batch item whose `type` alone already makes it unusable."""
    if type(item) is dict and type(item.get("type")) is str and item["type"] in FIELDS:
        return None  # the common case, settled at once
    if not isinstance(item, dict):
        refused = refusal("non_field_errors", "Must be an object.", "invalid")
    elif (event_type := item.get("type")) is None:
        refused = refusal("type", MESSAGES["required"], "required")
    elif not isinstance(event_type, str) or event_type not in FIELDS:
        refused = refusal("type", f"Must be one of: {', '.join(FIELDS)}.", "invalid_choice")
    else:
        return None
    error: dict[str, Any] = validation_error_body(refused)["error"]
    return error
