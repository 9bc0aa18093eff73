from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in and partner users"

    def ready(self) -> None:
        # Connects the sign-in signal that starts a session's clocks.
        from accounts import sessions  # noqa: F401
