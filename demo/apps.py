from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: above events and helplines, which it fills through their services."""

    name = "demo"
