"""The helpline directory API (SPEC §3.3)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
