"""Partners' OAuth2 clients in the admin: created with their secret shown once, revoked
(the client and its tokens) or their tokens revoked, never edited or deleted.

django-oauth-toolkit's own admin pages are removed: they would let staff edit a client's
grant type or delete a token without forgetting it in the cache.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken

from api.add_only_admin import AddOnlyAdmin
from oauth.models import PartnerClient
from oauth.services import create_client, revoke_clients, revoke_tokens

for _model in (Application, AccessToken, Grant, IDToken, RefreshToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class NewClientForm(forms.ModelForm):
    name = forms.CharField(max_length=255, initial="production")

    class Meta:
        model = PartnerClient
        fields = ["partner", "is_test"]


@admin.register(PartnerClient)
class PartnerClientAdmin(AddOnlyAdmin):
    """A revoked client stays listed: events name the client that sent them."""

    list_display = ["label", "name", "partner", "is_test", "client_id", "created_at", "revoked"]
    list_filter = ["revoked", "is_test", "partner"]
    list_select_related = ["application", "partner"]
    search_fields = ["label", "application__name", "application__client_id", "partner__slug"]
    fields = ["label", "name", "client_id", "partner", "is_test", "created_at", "revoked"]
    readonly_fields = ["label", "name", "client_id", "partner", "is_test", "created_at", "revoked"]
    actions = ["revoke_selected", "revoke_tokens_of_selected"]
    add_form = NewClientForm
    add_fields = ["partner", "name", "is_test"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Only the add form saves (the change form is read-only), through the service.
        client, secret = create_client(
            partner=form.cleaned_data["partner"],
            name=form.cleaned_data["name"],
            is_test=form.cleaned_data["is_test"],
        )
        obj.pk, obj.application, obj.label = client.pk, client.application, client.label
        obj.created_at = client.created_at
        obj._state.adding = False
        request._oauth_client_secret = secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: Any = None
    ) -> HttpResponse:
        context = self.admin_site.each_context(request) | {
            "opts": self.opts,
            "title": f"New OAuth client for {obj.partner}",
            "client": obj,
            "secret": request._oauth_client_secret,  # type: ignore[attr-defined]
        }
        response = TemplateResponse(request, "admin/oauth/client_created.html", context)
        # The secret must not outlive this page in any cache.
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(ordering="application__name")
    def name(self, obj: PartnerClient) -> str:
        return obj.application.name

    @admin.display(description="client id")
    def client_id(self, obj: PartnerClient) -> str:
        return obj.application.client_id

    @admin.action(description="Revoke selected clients and their tokens (cannot be undone)")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[PartnerClient]) -> None:
        revoked = revoke_clients(list(queryset))
        self.message_user(request, f"Revoked {revoked} client(s).", messages.SUCCESS)

    @admin.action(description="Revoke the current tokens of selected clients")
    def revoke_tokens_of_selected(
        self, request: HttpRequest, queryset: QuerySet[PartnerClient]
    ) -> None:
        deleted = revoke_tokens(
            AccessToken.objects.filter(application__partner_client__in=queryset)
        )
        self.message_user(request, f"Revoked {deleted} token(s).", messages.SUCCESS)
