"""Partners read their own events back: GET /v1/events (docs/product.md §3.2)."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets

from api.schema import AUTH_ERRORS, BODY_ERRORS, THROTTLED, UNAVAILABLE
from events.filters import ReadBackFilter
from events.models import Event
from events.pagination import EventCursorPagination
from events.selectors import partner_events
from events.serializers import EventRowSerializer
from events.throttling import EventRateThrottle
from helplines.authentication import request_api_key, request_partner


@extend_schema(
    tags=["events"],
    summary="Read back your events",
    description=(
        "Your own events with `start_time` <= timestamp < `end_time`, oldest first, a page "
        "at a time: pass `next_page_token` back as `page_token` until it is null. A live key "
        "reads live events; a test key reads test events."
    ),
    responses={
        200: EventRowSerializer(many=True),
        400: BODY_ERRORS[400],
        **AUTH_ERRORS,
        **THROTTLED,
        **UNAVAILABLE,
    },
)
class EventListViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = EventRowSerializer
    filterset_class = ReadBackFilter
    pagination_class = EventCursorPagination
    throttle_classes = [EventRateThrottle]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request key
            return Event.objects.none()
        return partner_events(
            partner=request_partner(self.request), is_test=request_api_key(self.request).is_test
        )
