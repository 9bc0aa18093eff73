"""The forms of the sign-in pages: signing in, the second factor, a forgotten password."""

import unicodedata
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError

from accounts.models import PartnerMembership


class TokenForm(forms.Form):
    otp_token = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="Code from your authenticator app",
        error_messages={"invalid": "Enter the 6-digit code your app shows now."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_otp_token(self) -> str:
        return str(self.cleaned_data["otp_token"]).strip()


class SignInForm(AuthenticationForm):
    """The one sign-in page's form (the admin's login): staff, and partner users of an
    active partner. Anyone else is refused with the words of a wrong password, which do
    not say whether the account exists."""

    # The admin's words without "for a staff account": partner users sign in here too.
    error_messages = AdminAuthenticationForm.error_messages | {
        "invalid_login": (
            "Please enter the correct %(username)s and password. Note that both fields may "
            "be case-sensitive."
        )
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        membership = PartnerMembership.objects.select_related("partner").filter(user=user).first()
        if user.is_staff and membership is None:
            return
        # A staff account with a membership is a mistake of the admin: refused, not guessed.
        if membership is not None and not user.is_staff and membership.partner.is_active:
            return
        raise ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"username": self.username_field.verbose_name},
        )


class PartnerPasswordResetForm(PasswordResetForm):
    """ "Forgot your password?": mails a set-password link to the active partner users with
    that address. The page answers the same whether or not any exists (no enumeration);
    staff reset through an administrator."""

    def get_users(self, email: str) -> Iterator[Any]:
        memberships = PartnerMembership.objects.select_related("user").filter(
            user__email__iexact=email,
            user__is_active=True,
            user__is_staff=False,
            partner__is_active=True,
        )
        for membership in memberships:
            user = membership.user
            # As Django's own form: iexact in SQL is not Unicode-aware on every database.
            if _folded(email) == _folded(user.email):
                yield user


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()
