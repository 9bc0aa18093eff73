"""Partner event endpoints. Each ingest route names its serializer so OPTIONS can describe it."""

from django.urls import path

from events.batch import BatchRequestSerializer
from events.ingest import EventIngestViewSet
from events.readback import EventListViewSet
from events.serializers import ClickEventSerializer, DisplayEventSerializer
from events.stats import EventStatsViewSet

urlpatterns = [
    path("events/stats", EventStatsViewSet.as_view({"get": "summary"}), name="event-stats"),
    path("events", EventListViewSet.as_view({"get": "list"}), name="event-list"),
    path(
        "events/helpline_display",
        EventIngestViewSet.as_view({"post": "display"}, serializer_class=DisplayEventSerializer),
        name="event-display",
    ),
    path(
        "events/helpline_click",
        EventIngestViewSet.as_view({"post": "click"}, serializer_class=ClickEventSerializer),
        name="event-click",
    ),
    path(
        "events/batch",
        EventIngestViewSet.as_view({"post": "batch"}, serializer_class=BatchRequestSerializer),
        name="event-batch",
    ),
]
