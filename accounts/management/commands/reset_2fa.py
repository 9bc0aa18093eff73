"""python manage.py reset_2fa USERNAME: forget a user's authenticator (a lost device)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.commands import get_object_or_command_error


class Command(BaseCommand):
    help = (
        "Delete USERNAME's TOTP devices: at the next sign-in they enrol a new authenticator "
        "(only do this once you know the request comes from them). Recorded in the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user = get_object_or_command_error(
            user_model, "user", **{user_model.USERNAME_FIELD: options["username"]}
        )
        # A queryset delete still signals each row: every device leaves an audit entry.
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        self.stdout.write(
            f"Deleted {deleted} device(s) of {user.get_username()}; "
            "they enrol a new one at their next sign-in."
        )
