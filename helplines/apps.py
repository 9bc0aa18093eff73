from django.apps import AppConfig


class HelplinesConfig(AppConfig):
    name = "helplines"
    verbose_name = "Directory and partners"

    def ready(self) -> None:
        from helplines import schema  # noqa: F401  (registers the OpenAPI auth scheme)
