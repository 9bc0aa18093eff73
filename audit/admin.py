"""The audit trail in the admin: listed, filtered and searched, never added, changed or
deleted, by anyone (superusers included)."""

from typing import Any

from django.contrib import admin
from django.utils.html import format_html_join

from api.view_only_admin import ViewOnlyAdmin
from audit.models import AuditEntry

ENTRY_FIELDS = (
    "at",
    "actor",
    "actor_user_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
)


@admin.register(AuditEntry)
class AuditEntryAdmin(ViewOnlyAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_repr", "changed_fields"]
    list_filter = ["action", "object_type", "actor", "at"]
    search_fields = ["object_repr", "object_id", "actor"]
    date_hierarchy = "at"
    fields = ENTRY_FIELDS
    readonly_fields = ENTRY_FIELDS

    @admin.display(description="changed fields")
    def changed_fields(self, entry: AuditEntry) -> str:
        return ", ".join(sorted(set(entry.before) | set(entry.after)))

    @admin.display(description="before → after")
    def changes(self, entry: AuditEntry) -> str:
        names = sorted(set(entry.before) | set(entry.after))
        return format_html_join(
            "",
            "<div><strong>{}</strong>: <code>{}</code> → <code>{}</code></div>",
            ((name, _shown(entry.before, name), _shown(entry.after, name)) for name in names),
        )


def _shown(values: dict[str, Any], name: str) -> str:
    return repr(values[name]) if name in values else "—"
