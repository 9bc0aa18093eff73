"""python manage.py purge_audit [--older-than DAYS]: the audit trail's retention."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from api.commands import RetentionCommand
from audit.models import AuditEntry


class Command(RetentionCommand):
    help = (
        "Delete audit entries more than DAYS days old (default: AUDIT_RETENTION_DAYS, which "
        "defaults to EVENTS_RETENTION_DAYS). The only way an entry is ever deleted; run it "
        "daily from cron beside purge_events."
    )
    retention_setting = "AUDIT_RETENTION_DAYS"

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - timedelta(days=self.retention_days(options))
        deleted = AuditEntry.objects.purge_before(cutoff)
        self.stdout.write(
            f"Deleted {deleted} audit entries older than {cutoff:%Y-%m-%d %H:%M:%S} UTC."
        )
