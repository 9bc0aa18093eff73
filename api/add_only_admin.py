"""The admin's pages for records that staff add but never edit or delete (partner users,
OAuth clients): the add page has a form and fields of its own, as `UserAdmin`'s has, and
saves through the product's service; the change page only shows `readonly_fields`; what
staff do afterwards (deactivate, revoke) are actions that keep the record."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest


class AddOnlyAdmin(admin.ModelAdmin):
    add_form: type[forms.ModelForm]
    add_fields: list[str]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj is not None else self.add_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
