from django.urls import path

from events.views import EventIngestViewSet, EventListViewSet

urlpatterns = [
    path("events", EventListViewSet.as_view({"get": "list"}), name="event-list"),
    path(
        "events/helpline_display",
        EventIngestViewSet.as_view({"post": "display"}),
        name="event-display",
    ),
    path(
        "events/helpline_click",
        EventIngestViewSet.as_view({"post": "click"}),
        name="event-click",
    ),
    path("events/batch", EventIngestViewSet.as_view({"post": "batch"}), name="event-batch"),
]
