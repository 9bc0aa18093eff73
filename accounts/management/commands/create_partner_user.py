"""python manage.py create_partner_user PARTNER_SLUG USERNAME [--email E]."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.partners import create_partner_user, password_link
from api.commands import get_object_or_command_error
from helplines.models import Partner


class Command(BaseCommand):
    help = (
        "Create a partner user of PARTNER_SLUG and print a one-time link (valid 72 hours) "
        "where they choose their password. Recorded in the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_slug")
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        partner = get_object_or_command_error(Partner, "partner", slug=options["partner_slug"])
        try:
            user = create_partner_user(
                partner=partner, username=options["username"], email=options["email"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created {user.get_username()} for {partner.name}. Give them this link, which "
            "works once within 72 hours, to choose their password:"
        )
        self.stdout.write(password_link(user, base_url=settings.SITE_URL))
