"""The audit trail: who changed which partner, key, user, group, helpline or quota, when,
and the changed fields before and after. Append-only (see AuditEntry)."""

from datetime import datetime
from typing import Any, ClassVar

from django.db import connections, models, transaction
from django.utils import timezone


class AppendOnlyError(Exception):
    """An audit entry cannot be changed or deleted (only purged after the retention)."""


class Action(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries cannot be deleted (purge_audit removes old ones).")


class AuditEntryManager(models.Manager["AuditEntry"]):
    def get_queryset(self) -> AuditEntryQuerySet:
        return AuditEntryQuerySet(self.model, using=self._db)

    def purge_before(self, cutoff: datetime) -> int:
        """Delete the entries older than `cutoff`: the one way an entry ever leaves.

        On PostgreSQL a trigger (migration 0002) refuses every UPDATE, and every DELETE
        unless the transaction set `throughline.audit_purge`; this sets it, for this
        transaction only.
        """
        connection = connections[self.db]
        table = connection.ops.quote_name(self.model._meta.db_table)
        with transaction.atomic(using=self.db), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL throughline.audit_purge = 'on'")
            cursor.execute(f"DELETE FROM {table} WHERE at < %s", [cutoff])
            return cursor.rowcount


class AuditEntry(models.Model):
    """One change to an audited object. Never a secret: see audit.trail.AUDITED."""

    at = models.DateTimeField(default=timezone.now)
    # Not a foreign key: the entry outlives the user, and names them as they were then.
    actor_user_id = models.BigIntegerField(
        null=True, blank=True, help_text="The staff user's id; empty for the system."
    )
    actor = models.CharField(
        max_length=150,
        help_text="Username at the time, `system:<command>` or `partner:<slug>`.",
    )
    action = models.CharField(max_length=6, choices=Action.choices)
    object_type = models.CharField(max_length=100, help_text="app_label.model")
    object_id = models.CharField(max_length=64, help_text="Primary key (a key's prefix).")
    object_repr = models.CharField(max_length=200)
    before = models.JSONField(default=dict, blank=True, help_text="Changed fields, before.")
    after = models.JSONField(default=dict, blank=True, help_text="Changed fields, after.")

    objects: ClassVar[AuditEntryManager] = AuditEntryManager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=Action.values), name="audit_entry_action_valid"
            ),
        ]
        indexes = [
            # The admin's list (newest first, by date) and the purge (at < cutoff).
            models.Index(fields=["at"], name="audit_entry_at"),
            # One object's history.
            models.Index(fields=["object_type", "object_id"], name="audit_entry_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries cannot be deleted (purge_audit removes old ones).")
