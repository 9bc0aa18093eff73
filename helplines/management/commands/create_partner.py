"""python manage.py create_partner NAME [--slug S] [--quota N] [--test]"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from helplines.services import create_partner


class Command(BaseCommand):
    help = "Create a partner and one API key; the key alone is printed on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--slug", help="Unique slug (default: from the name).")
        parser.add_argument("--quota", type=int, help="Directory calls per rolling 24 h.")
        parser.add_argument(
            "--test", action="store_true", help="Issue a test key: its events stay out of billing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["quota"] is not None and options["quota"] < 0:
            raise CommandError("--quota must be zero or more.")
        try:
            partner, raw_key = create_partner(
                name=options["name"],
                slug=options["slug"],
                daily_quota=options["quota"],
                is_test=options["test"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        kind = "test key" if options["test"] else "key"
        self.stderr.write(
            f"Created partner {partner.slug!r} with a {kind}. Store it now: it is not shown again."
        )
        self.stdout.write(raw_key)
