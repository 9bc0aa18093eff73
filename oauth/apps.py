from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "oauth"
    verbose_name = "OAuth2 clients"

    def ready(self) -> None:
        from oauth import schema  # noqa: F401  (registers the OpenAPI auth scheme)
