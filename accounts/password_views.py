"""Partner users' passwords: the one-time link that sets one, "forgot your password?", and
signing out. Staff passwords are set by an administrator, never through these pages."""

import math
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.crypto import salted_hmac

from accounts.admin_look import admin_look
from accounts.forms import PartnerPasswordResetForm
from accounts.lockout import pseudonymous_client_ip
from accounts.partners import membership_of, password_tokens
from api.ratelimit import hit


class _AdminLook:
    """The admin's look and header, without its navigation (as the 2FA pages)."""

    request: HttpRequest

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        return admin_look(self.request) | context


class SetPasswordView(_AdminLook, auth_views.PasswordResetConfirmView):
    """The page a set-password link opens: valid 72 hours, once, for an active partner user.

    Django's view: the token leaves the address bar (and so the Referer) for the session at
    the first visit. The user then signs in on the sign-in page, where the lockout counts.
    """

    token_generator = password_tokens
    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("admin:login")
    title = "Choose your password"

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        # Only partner users have these links; a staff account's id in a link sets nothing.
        if user is None or not user.is_active or membership_of(user) is None:
            return None
        return user

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Sign in with it now.")
        return response


class ForgotPasswordView(_AdminLook, auth_views.PasswordResetView):
    """Mails a set-password link to a partner user who gives their address; answers the
    same page whether or not the address belongs to anyone.

    Each request sends email, so each is counted: FORGOT_PASSWORD_RATE_LIMIT per client
    (its address as the nearest trusted proxy saw it) and as many per address asked about,
    both kept as keyed hashes only. Over either, a page (429, Retry-After) asks to try later;
    both are counted before the address is looked up, so the answer says nothing about
    whether an account has it.
    """

    form_class = PartnerPasswordResetForm
    token_generator = password_tokens
    template_name = "accounts/forgot_password.html"
    email_template_name = "accounts/password_link_email.txt"
    subject_template_name = "accounts/password_link_subject.txt"
    success_url = reverse_lazy("accounts:forgot_password_sent")
    title = "Forgot your password?"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rate = settings.FORGOT_PASSWORD_RATE_LIMIT
        verdicts = [hit("forgot-password-client", pseudonymous_client_ip(request), rate)]
        email = str(request.POST.get("email", "")).strip()
        if email:
            folded = unicodedata.normalize("NFKC", email).casefold()
            digest = salted_hmac(
                "accounts.forgot_password.email", folded, algorithm="sha256"
            ).hexdigest()
            verdicts.append(hit("forgot-password-email", digest, rate))
        refused = [verdict for verdict in verdicts if not verdict.allowed]
        if refused:
            wait = max(refused, key=lambda verdict: verdict.wait)
            context = admin_look(request) | {
                "title": "Try again later",
                "minutes": math.ceil(wait.wait / 60),
            }
            response = render(request, "accounts/forgot_password_limited.html", context, status=429)
            response["Retry-After"] = wait.retry_after
            return response
        answer: HttpResponse = super().post(request, *args, **kwargs)
        return answer


class ForgotPasswordSentView(_AdminLook, auth_views.PasswordResetDoneView):
    template_name = "accounts/forgot_password_sent.html"
    title = "Check your email"


class SignOutView(auth_views.LogoutView):
    """Signing out for partner users (the admin's own sign-out is for staff only)."""

    next_page = "admin:login"
