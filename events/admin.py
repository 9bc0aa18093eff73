"""Events in the admin: read-only, filterable, exportable by staff with the export permission."""

from typing import Any

from django.contrib import admin
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.widgets import ForeignKeyWidget

from api.view_only_admin import ViewOnlyAdmin
from events.columns import EVENT_EXPORT_COLUMNS
from events.models import BillingStatement, Event
from helplines.models import Helpline, Partner


class EventResource(resources.ModelResource):
    """The export columns: the partner's slug and the helpline's public id, as in events.csv."""

    partner = fields.Field(
        attribute="partner", column_name="partner", widget=ForeignKeyWidget(Partner, "slug")
    )
    helpline_id = fields.Field(
        attribute="helpline",
        column_name="helpline_id",
        widget=ForeignKeyWidget(Helpline, "public_id"),
    )

    class Meta:
        model = Event
        fields = (*EVENT_EXPORT_COLUMNS, "is_test")
        export_order = fields

    def filter_export(self, queryset: Any, **kwargs: Any) -> Any:
        return queryset.select_related("partner", "helpline")


@admin.register(Event)
class EventAdmin(ExportMixin, ViewOnlyAdmin):
    """Events are immutable (written only by `events.services.record_events`): view only.

    Export goes through django-import-export, which builds the file in memory: fine for a
    filtered changelist; the dashboard's streamed events.csv is the tool for large ranges.
    Its permission is IMPORT_EXPORT_EXPORT_PERMISSION_CODE ("export" -> events.export_event).
    """

    resource_classes = [EventResource]
    list_display = [
        "timestamp",
        "type",
        "partner",
        "helpline_public_id",
        "contact_method",
        "session_id",
        "is_test",
        "received_at",
    ]
    list_filter = [
        ("partner", admin.RelatedOnlyFieldListFilter),
        "type",
        "contact_method",
        "is_test",
        "timestamp",
    ]
    # Exact matches: they use the identity and helpline indexes instead of a table scan.
    search_fields = ["=session_id", "=helpline__public_id"]
    search_help_text = "Exact session id or helpline id."
    date_hierarchy = "timestamp"
    list_select_related = ["partner", "helpline"]
    ordering = ["-timestamp", "-id"]
    # COUNT(*) over the whole event table on every page view is the slow part of a changelist.
    show_full_result_count = False
    list_per_page = 100

    @admin.display(description="helpline id", ordering="helpline__public_id")
    def helpline_public_id(self, event: Event) -> str:
        return event.helpline.public_id


@admin.register(BillingStatement)
class BillingStatementAdmin(ViewOnlyAdmin):
    """Closed monthly statements: stored by the rollup when a month closes, never changed
    afterwards (events.statements), so view only for everyone, superusers included."""

    list_display = [
        "month_label",
        "partner_name",
        "partner_slug",
        "timezone",
        "displays",
        "clicks",
        "sessions_reached",
        "sessions_converted",
        "closed_at",
        "sha256",
    ]
    list_filter = [("partner", admin.RelatedOnlyFieldListFilter), "month"]
    search_fields = ["=partner_slug"]
    ordering = ["-month", "partner_slug"]
    list_per_page = 100

    @admin.display(description="month", ordering="month")
    def month_label(self, statement: BillingStatement) -> str:
        return f"{statement.month:%Y-%m}"
