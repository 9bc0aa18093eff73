"""python manage.py create_event_partitions [--months-ahead N]: the raw events' monthly
partitions (PostgreSQL), created ahead of the events that will need them."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.partitions import MONTHS_AHEAD, create_ahead, is_partitioned


class Command(BaseCommand):
    help = (
        "Create the monthly partitions of the raw events table (PostgreSQL) from the oldest "
        "month an event may still arrive for up to MONTHS months ahead (default 3). Idempotent "
        "and cheap when they exist: run it from the scheduler beside rollup_events (daily is "
        "enough; every few minutes is harmless). purge_events runs it too. Does nothing on SQLite."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=MONTHS_AHEAD,
            metavar="MONTHS",
            help=f"Months after the current one to create (default {MONTHS_AHEAD}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["months_ahead"] < 1:
            raise CommandError("--months-ahead must be at least 1.")
        if not is_partitioned():
            self.stdout.write("The events table is not partitioned here (SQLite): nothing to do.")
            return
        created = create_ahead(months_ahead=options["months_ahead"])
        if created:
            self.stdout.write(f"Created {', '.join(created)}.")
        else:
            self.stdout.write("Every partition needed exists.")
