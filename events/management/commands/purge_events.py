"""python manage.py purge_events [--older-than DAYS]: raw-event retention (docs/product.md §6)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from api.commands import RetentionCommand
from events.partitions import create_ahead
from events.services import count_purgeable, purge_events_before


class Command(RetentionCommand):
    help = (
        "Delete raw events whose timestamp is more than DAYS days old (default: the "
        "EVENTS_RETENTION_DAYS setting, 395). The aggregates are brought up to date first and "
        "kept: the dashboard, the stats API, report.csv and billing.csv answer for purged days "
        "as before; events.csv and GET /v1/events no longer can. On PostgreSQL whole months "
        "are dropped: events of the month the cutoff falls in stay until it is wholly past. "
        "Run it from cron, e.g. daily."
    )
    retention_setting = "EVENTS_RETENTION_DAYS"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--chunk-size", type=int, default=10_000, help="Rows deleted per transaction."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = self.retention_days(options)
        # Events of a purged day could still arrive within the late-arrival window, and the
        # rollup reads a session's earlier events of the day to count it once: they must
        # still be there. A day's margin covers the time zones' days around the UTC one.
        if days <= settings.EVENTS_LATE_ARRIVAL_DAYS + 1:
            raise CommandError(
                f"--older-than must be more than {settings.EVENTS_LATE_ARRIVAL_DAYS + 1} days: "
                "events of younger days may still arrive (EVENTS_LATE_ARRIVAL_DAYS, plus a day)."
            )
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        if options["dry_run"]:
            count = count_purgeable(cutoff=cutoff)
            self.stdout.write(
                f"Would delete {count} events older than {cutoff:%Y-%m-%d %H:%M:%S} UTC."
            )
            return
        # Retention runs daily, so the partitions of the months ahead are kept here too,
        # should the scheduler lack a create_event_partitions line.
        create_ahead()
        count = purge_events_before(cutoff=cutoff, chunk_size=options["chunk_size"])
        self.stdout.write(f"Deleted {count} events older than {cutoff:%Y-%m-%d %H:%M:%S} UTC.")
