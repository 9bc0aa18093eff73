"""python manage.py create_oauth_client PARTNER_SLUG NAME [--test]"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from api.commands import get_object_or_command_error
from helplines.models import Partner
from oauth.services import create_client


class Command(BaseCommand):
    help = (
        "Create an OAuth2 client (client credentials) for PARTNER_SLUG; the client id and "
        "secret are printed on the last line, separated by a space. The secret is shown once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partner_slug")
        parser.add_argument("name")
        parser.add_argument(
            "--test", action="store_true", help="A test client: its events stay out of billing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        partner = get_object_or_command_error(Partner, "partner", slug=options["partner_slug"])
        client, secret = create_client(
            partner=partner, name=options["name"], is_test=options["test"]
        )
        kind = "test client" if options["test"] else "client"
        self.stderr.write(
            f"Created the {kind} {client.label} for {partner.slug!r}. Store the secret now: "
            "it is not shown again."
        )
        self.stdout.write(f"{client.application.client_id} {secret}")
