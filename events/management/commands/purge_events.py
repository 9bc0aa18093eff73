"""python manage.py purge_events [--older-than DAYS]: raw-event retention (SPEC §6)."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from events.models import Event


def purge_events_before(*, cutoff: datetime, chunk_size: int) -> int:
    """Delete the events whose timestamp is before `cutoff`; returns how many.

    In chunks of `chunk_size` rows, each its own transaction, so that a purge of months
    of events neither holds one huge transaction nor locks the table for its duration;
    the `event_time` index finds each chunk.
    """
    deleted = 0
    while True:
        chunk = list(
            Event.objects.filter(timestamp__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:chunk_size]
        )
        if not chunk:
            return deleted
        count, _ = Event.objects.filter(pk__in=chunk).delete()
        deleted += count


class Command(BaseCommand):
    help = (
        "Delete raw events whose timestamp is more than DAYS days old (default: the "
        "EVENTS_RETENTION_DAYS setting, 395). There is no rollup table yet: raw events are "
        "the source of every dashboard, export and stats figure, so purged days disappear "
        "from them too. Run it from cron, e.g. daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            help="Retention in days (default: EVENTS_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=10_000, help="Rows deleted per transaction."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days is None:
            days = settings.EVENTS_RETENTION_DAYS
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        if options["dry_run"]:
            count = Event.objects.filter(timestamp__lt=cutoff).count()
            self.stdout.write(
                f"Would delete {count} events older than {cutoff:%Y-%m-%d %H:%M:%S} UTC."
            )
            return
        count = purge_events_before(cutoff=cutoff, chunk_size=options["chunk_size"])
        self.stdout.write(f"Deleted {count} events older than {cutoff:%Y-%m-%d %H:%M:%S} UTC.")
