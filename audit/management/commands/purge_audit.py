"""python manage.py purge_audit [--older-than DAYS]: the audit trail's retention."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.models import AuditEntry


class Command(BaseCommand):
    help = (
        "Delete audit entries more than DAYS days old (default: AUDIT_RETENTION_DAYS, which "
        "defaults to EVENTS_RETENTION_DAYS). The only way an entry is ever deleted; run it "
        "daily from cron beside purge_events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            help="Retention in days (default: AUDIT_RETENTION_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days is None:
            days = settings.AUDIT_RETENTION_DAYS
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        cutoff = timezone.now() - timedelta(days=days)
        deleted = AuditEntry.objects.purge_before(cutoff)
        self.stdout.write(
            f"Deleted {deleted} audit entries older than {cutoff:%Y-%m-%d %H:%M:%S} UTC."
        )
