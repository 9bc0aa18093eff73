"""Partner users in the admin: created with a one-time link to set their password,
deactivated (never deleted), and sent a new link when they forget it."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.models import PartnerMembership
from accounts.partners import (
    create_partner_user,
    deactivate_partner_users,
    password_link,
    request_base_url,
)
from api.add_only_admin import AddOnlyAdmin


class NewPartnerUserForm(forms.ModelForm):
    """Partner, username and email: the user is created by `create_partner_user`."""

    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)

    class Meta:
        model = PartnerMembership
        fields = ["partner"]

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        user_model = get_user_model()
        if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
            raise ValidationError("This username is taken.", code="username_taken")
        return username


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(AddOnlyAdmin):
    """Deactivated, never deleted: the audit trail and last sign-in stay readable."""

    list_display = ["username", "partner", "email", "is_active", "last_login", "created_at"]
    list_filter = ["partner", "user__is_active"]
    list_select_related = ["user", "partner"]
    search_fields = ["user__username", "user__email", "partner__name", "partner__slug"]
    fields = ["user", "partner", "created_at"]
    readonly_fields = ["user", "partner", "created_at"]
    actions = ["password_links", "deactivate"]
    add_form = NewPartnerUserForm
    add_fields = ["partner", "username", "email"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Only the add form saves (the change form is read-only): through the one service.
        user = create_partner_user(
            partner=form.cleaned_data["partner"],
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
        )
        membership = user.partner_membership
        obj.pk, obj.user, obj.created_at = membership.pk, user, membership.created_at
        obj._state.adding = False

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: Any = None
    ) -> HttpResponse:
        return self._links_page(request, [obj], created=True)

    @admin.display(ordering="user__username")
    def username(self, obj: PartnerMembership) -> str:
        return obj.user.get_username()

    @admin.display(ordering="user__email")
    def email(self, obj: PartnerMembership) -> str:
        return obj.user.email

    @admin.display(boolean=True, ordering="user__is_active")
    def is_active(self, obj: PartnerMembership) -> bool:
        return obj.user.is_active

    @admin.display(ordering="user__last_login")
    def last_login(self, obj: PartnerMembership) -> Any:
        return obj.user.last_login

    @admin.action(description="Print a set-password link (72 hours, one use)")
    def password_links(
        self, request: HttpRequest, queryset: QuerySet[PartnerMembership]
    ) -> HttpResponse | None:
        active = [membership for membership in queryset if membership.user.is_active]
        if not active:
            self.message_user(request, "Only active partner users get a link.", messages.ERROR)
            return None
        return self._links_page(request, active, created=False)

    @admin.action(description="Deactivate selected partner users")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[PartnerMembership]) -> None:
        count = deactivate_partner_users(list(queryset))
        self.message_user(request, f"Deactivated {count} partner user(s).", messages.SUCCESS)

    def _links_page(
        self, request: HttpRequest, memberships: list[PartnerMembership], *, created: bool
    ) -> HttpResponse:
        base_url = request_base_url(request)
        context = self.admin_site.each_context(request) | {
            "title": "Partner user created" if created else "Set-password links",
            "opts": self.opts,
            "links": [(m, password_link(m.user, base_url=base_url)) for m in memberships],
        }
        response = TemplateResponse(request, "accounts/password_links.html", context)
        # A link is as good as a password for 72 hours: no cache keeps the page.
        response["Cache-Control"] = "no-store"
        return response
