"""The product's URLs plus the benchmark's ceiling route, for the benchmark's server only."""

from django.urls import URLPattern, URLResolver, include, path

from bench.views import CeilingView, FloorView

urlpatterns: list[URLPattern | URLResolver] = [
    # Before the product's tree: its /v1/ catch-all would answer 404 for anything else.
    path("bench/ceiling", CeilingView.as_view(), name="bench-ceiling"),
    path("bench/floor", FloorView.as_view(), name="bench-floor"),
    path("", include("config.urls")),
]
