"""The helpline directory API (docs/product.md §3.3)."""

from django.urls import path

from helplines.views import CountryViewSet, HelplineViewSet, TopicViewSet

urlpatterns = [
    path("helplines", HelplineViewSet.as_view({"get": "list"}), name="helpline-list"),
    path(
        "helplines/<str:helpline_id>",
        HelplineViewSet.as_view({"get": "retrieve"}),
        name="helpline-detail",
    ),
    path("topics", TopicViewSet.as_view({"get": "list"}), name="topic-list"),
    path("countries", CountryViewSet.as_view({"get": "list"}), name="country-list"),
]
