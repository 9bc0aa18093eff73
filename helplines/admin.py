"""Staff admin of the directory and of partners: helplines (with CSV/XLSX import and
export, pairs, load episodes), topics, partners with their keys and quota use, and keys
(revocation)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ExportForm
from rest_framework_api_key.models import APIKey

from api.view_only_admin import ViewOnlyAdmin
from helplines.models import (
    CONTACT_CHANNEL_FIELDS,
    Helpline,
    LoadEpisode,
    Partner,
    PartnerAPIKey,
    Topic,
)
from helplines.resources import HelplineResource
from helplines.selectors import with_directory_calls_in_window
from helplines.services import issue_key, pair_helplines, revoke_keys

# Episodes listed on a helpline's change page; the rest are a click away.
RECENT_EPISODES = 10

# The library's own key model is unused: partner keys are PartnerAPIKey, managed below.
admin.site.unregister(APIKey)


class HelplineForm(forms.ModelForm):
    """The helpline's fields; its pair is checked here and written on both sides on save."""

    class Meta:
        model = Helpline
        fields = [
            "public_id",
            "name",
            "description",
            "topics",
            "country_code",
            "subdivision",
            "timezone",
            *CONTACT_CHANNEL_FIELDS,
            "is_priority",
            "is_active",
            "hourly_capacity",
            "paired_with",
        ]

    def clean_paired_with(self) -> Helpline | None:
        other: Helpline | None = self.cleaned_data.get("paired_with")
        if other is None:
            return None
        if other.pk is not None and other.pk == self.instance.pk:
            raise forms.ValidationError("A helpline cannot be paired with itself.")
        if other.paired_with_id not in (None, self.instance.pk):
            raise forms.ValidationError(
                f"{other.public_id} is paired with another service: unpair them first."
            )
        return other


@admin.register(Helpline)
class HelplineAdmin(ImportExportModelAdmin):
    form = HelplineForm
    resource_classes = [HelplineResource]
    import_formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]
    # The plain export form: every column of docs/product.md §6, none left out by a checkbox.
    export_form_class = ExportForm
    list_display = [
        "public_id",
        "name",
        "country_code",
        "subdivision",
        "is_priority",
        "is_active",
        "hourly_capacity",
        "paired_with",
    ]
    list_select_related = ["paired_with"]
    list_filter = ["is_active", "is_priority", "country_code", "topics"]
    search_fields = ["public_id", "name", "description"]
    filter_horizontal = ["topics"]
    fieldsets = [
        (None, {"fields": ["public_id", "name", "description", "topics"]}),
        ("Where", {"fields": ["country_code", "subdivision", "timezone"]}),
        (
            "Contact channels",
            {"fields": CONTACT_CHANNEL_FIELDS},
        ),
        (
            "Status and load",
            {
                "fields": [
                    "is_priority",
                    "is_active",
                    "hourly_capacity",
                    "paired_with",
                    "load_episodes",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Helpline]:
        # The export renders every helpline's topics: one prefetch, not a query per row.
        return super().get_queryset(request).prefetch_related("topics")

    # Partners hold helpline ids and events name them: an id is fixed once created, and a
    # helpline is retired by unticking "active", never deleted.
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = [*super().get_readonly_fields(request, obj), "load_episodes"]
        return [*readonly, "public_id"] if obj is not None else readonly

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Helpline, form: Any, change: bool) -> None:
        other = obj.paired_with
        # The row is saved with the pair it had; `pair_helplines` then writes the new pair
        # on both sides (and breaks the old one on both sides).
        obj.paired_with_id = (
            Helpline.objects.filter(pk=obj.pk).values_list("paired_with", flat=True).first()
            if change
            else None
        )
        super().save_model(request, obj, form, change)
        pair_helplines(helpline=obj, other=other)

    @admin.display(description="load episodes")
    def load_episodes(self, helpline: Helpline) -> str:
        """The helpline's latest episodes over capacity (check_load), newest first."""
        if helpline.pk is None:
            return "None yet."
        episodes = list(helpline.load_episodes.order_by("-started_at")[:RECENT_EPISODES])
        if not episodes:
            return "None recorded."
        rows = format_html_join(
            "",
            "<li>{} to {}: peak {} clicks in an hour (capacity {})</li>",
            (
                (
                    f"{episode.started_at:%Y-%m-%d %H:%M} UTC",
                    f"{episode.ended_at:%Y-%m-%d %H:%M} UTC" if episode.ended_at else "ongoing",
                    episode.peak_clicks,
                    episode.capacity,
                )
                for episode in episodes
            ),
        )
        url = (
            reverse("admin:helplines_loadepisode_changelist")
            + f"?helpline__id__exact={helpline.pk}"
        )
        return format_html(
            '<ul class="load-episodes">{}</ul><a href="{}">All episodes</a>', rows, url
        )


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "helpline_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Topic]:
        return super().get_queryset(request).annotate(helpline_count=Count("helplines"))

    @admin.display(description="helplines", ordering="helpline_count")
    def helpline_count(self, topic: Topic) -> int:
        return topic.helpline_count  # type: ignore[attr-defined]


class KeyChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.prefix} ({obj.name}{', test' if obj.is_test else ''})"


class PartnerForm(forms.ModelForm):
    """The partner's fields, plus the choice of its live keys to revoke on save.

    Keys are offered by prefix: a key's primary key embeds its hash, which the page
    must never show, so a regular inline (it renders the primary key) is not used.
    """

    revoke_keys = KeyChoiceField(
        queryset=PartnerAPIKey.objects.none(),
        to_field_name="prefix",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Revoke keys",
        help_text="Ticked keys are revoked when you save. This cannot be undone.",
    )

    class Meta:
        model = Partner
        fields = ["name", "slug", "is_active", "billing_timezone", "daily_quota", "notes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["revoke_keys"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        if self.instance.pk is None:
            field.queryset = PartnerAPIKey.objects.none()
        else:
            field.queryset = PartnerAPIKey.objects.filter(
                partner=self.instance, revoked=False
            ).order_by("-created")


class IssueKeyForm(forms.Form):
    name = forms.CharField(
        max_length=50, help_text="What the key is for, e.g. `production` or `staging`."
    )
    is_test = forms.BooleanField(
        required=False,
        label="Test key",
        help_text="Events sent with a test key are stored but kept out of billing.",
    )
    expiry_date = forms.DateTimeField(
        required=False, help_text="Optional, e.g. 2027-01-31 00:00 (UTC). Empty: never."
    )


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "daily_quota", "quota_used", "billing_timezone"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    form = PartnerForm
    fields = [
        "name",
        "slug",
        "is_active",
        "billing_timezone",
        "daily_quota",
        "quota_used",
        "notes",
        "created_at",
        "keys",
        "new_key",
        "revoke_keys",
    ]
    readonly_fields = ["quota_used", "created_at", "keys", "new_key"]
    actions = ["issue_key_for_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return with_directory_calls_in_window(super().get_queryset(request), timezone.now())

    @admin.display(description="directory calls, last 24 h", ordering="calls_in_window")
    def quota_used(self, partner: Partner) -> str:
        if partner.pk is None:
            return "-"
        used = partner.calls_in_window  # type: ignore[attr-defined]
        return f"{used:,} of {partner.daily_quota:,}"

    def get_fields(self, request: HttpRequest, obj: Partner | None = None) -> Any:
        fields = list(super().get_fields(request, obj))
        return fields if obj is not None else [f for f in fields if f != "revoke_keys"]

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        to_revoke = list(form.cleaned_data.get("revoke_keys") or [])
        if to_revoke:
            revoked = revoke_keys(to_revoke)
            self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)

    @admin.display(description="API keys")
    def keys(self, partner: Partner) -> str:
        if partner.pk is None:
            return "-"
        keys = partner.api_keys.order_by("-created")
        if not keys:
            return "No keys yet."
        now = timezone.now()
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    key.prefix,
                    key.name,
                    "test" if key.is_test else "live",
                    f"{key.created:%Y-%m-%d %H:%M}",
                    f"{key.expiry_date:%Y-%m-%d %H:%M}" if key.expiry_date else "never",
                    key.status(now),
                )
                for key in keys
            ),
        )
        return format_html(
            "<table><thead><tr><th>Prefix</th><th>Name</th><th>Kind</th><th>Created (UTC)</th>"
            "<th>Expires</th><th>Status</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="API key")
    def new_key(self, partner: Partner) -> str:
        if partner.pk is None:
            return "Save the partner first, then issue its keys here."
        return format_html(
            '<a class="button" href="{}">Issue a new API key…</a>',
            reverse("admin:helplines_partner_issue_key", args=[partner.pk]),
        )

    @admin.action(description="Issue a new API key for the selected partner")
    def issue_key_for_selected(
        self, request: HttpRequest, queryset: QuerySet[Partner]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one partner.", messages.WARNING)
            return None
        partner = queryset.get()
        return HttpResponseRedirect(reverse("admin:helplines_partner_issue_key", args=[partner.pk]))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/issue-key/",
                self.admin_site.admin_view(self.issue_key_view),
                name="helplines_partner_issue_key",
            ),
            *super().get_urls(),
        ]

    def issue_key_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A form for a new key; its answer shows the raw key once and stores it nowhere."""
        partner = get_object_or_404(Partner, pk=object_id)
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        form = IssueKeyForm(request.POST or None, initial={"name": "production"})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "partner": partner,
            "form": form,
            "title": f"Issue an API key for {partner}",
        }
        if request.method == "POST" and form.is_valid():
            api_key, raw_key = issue_key(
                partner=partner,
                name=form.cleaned_data["name"],
                is_test=form.cleaned_data["is_test"],
                expiry_date=form.cleaned_data["expiry_date"],
            )
            assert request.user.pk is not None  # admin_view: a logged-in staff user
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=[api_key],
                action_flag=ADDITION,
                change_message=f"Issued from the admin for {partner}.",
                single_object=True,
            )
            context.update(api_key=api_key, raw_key=raw_key, title=f"New API key for {partner}")
            response = TemplateResponse(request, "admin/helplines/partner/key_issued.html", context)
            # The raw key must not outlive this page in any cache.
            response["Cache-Control"] = "no-store"
            return response
        return TemplateResponse(request, "admin/helplines/partner/issue_key.html", context)


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "partner", "is_test", "created", "expiry_date", "revoked"]
    list_filter = ["revoked", "is_test", "partner"]
    list_select_related = ["partner"]
    search_fields = ["prefix", "name", "partner__name", "partner__slug"]
    fields = ["partner", "prefix", "name", "is_test", "created", "expiry_date", "revoked"]
    readonly_fields = ["partner", "prefix", "is_test", "created", "revoked"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are issued from their partner's page, where the raw key is shown once.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A revoked key stays listed: events name the key that sent them.
        return False

    @admin.action(description="Revoke selected keys (cannot be undone)")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[PartnerAPIKey]) -> None:
        revoked = revoke_keys(list(queryset))
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)


@admin.register(LoadEpisode)
class LoadEpisodeAdmin(ViewOnlyAdmin):
    """Episodes over capacity as `check_load` recorded them: read-only for everyone."""

    list_display = [
        "helpline",
        "started_at",
        "last_over_at",
        "ended_at",
        "peak_clicks",
        "peak_at",
        "capacity",
        "alert_sent_at",
        "recovery_sent_at",
    ]
    list_filter = ["helpline"]
    list_select_related = ["helpline"]
    date_hierarchy = "started_at"
