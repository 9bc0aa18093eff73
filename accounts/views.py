"""The second-factor pages: enrol an authenticator app, then show a code at each sign-in."""

from base64 import b32encode
from collections.abc import Callable
from functools import wraps
from typing import Any

import django_otp
import segno
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin_look import admin_look
from accounts.forms import TokenForm
from accounts.second_factor import is_verified

DEVICE_NAME = "authenticator"


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous users go to the staff sign-in first, then come back."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return wrapped


@signed_in
def enrol(request: HttpRequest) -> HttpResponse:
    """Shows a new secret (text, otpauth URI, QR code) and confirms it with a first code.

    The unconfirmed device is kept between visits, so a reload shows the secret the app
    may already hold. A user with a confirmed device cannot enrol another here: a stolen
    password must not be enough to add an attacker's app (a lost device is reset by an
    administrator, README "Operations").
    """
    if user_has_device(request.user):
        return HttpResponseRedirect(_with_next(reverse("accounts:verify"), request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            django_otp.login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error("otp_token", "That code does not match. Check the app and try again.")
    response = _page(
        request,
        "accounts/enrol.html",
        "Set up two-factor sign-in",
        {
            "form": form,
            "secret": b32encode(device.bin_key).decode(),
            "otpauth_uri": device.config_url,
            "qr_svg": _qr_svg(device.config_url),
        },
    )
    # The secret must not outlive this page in any cache.
    response["Cache-Control"] = "no-store"
    return response


@signed_in
def verify(request: HttpRequest) -> HttpResponse:
    """Asks for the current code of the user's confirmed authenticator."""
    if is_verified(request.user):
        return HttpResponseRedirect(_next_url(request))
    if not user_has_device(request.user):
        return HttpResponseRedirect(_with_next(reverse("accounts:enrol"), request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["otp_token"])
        if device is not None:
            django_otp.login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error(
            "otp_token",
            "That code does not match (after several wrong codes, wait a little between tries).",
        )
    return _page(request, "accounts/verify.html", "Two-factor sign-in", {"form": form})


def _qr_svg(uri: str) -> SafeString:
    # segno writes the code as one <path> with presentation attributes, no style attribute
    # and no script: the page stays within the strict CSP. The text is generated here from
    # the URI alone, never from user input.
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff")
    return mark_safe(svg)


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _with_next(url: str, request: HttpRequest) -> str:
    return f"{url}?{request.GET.urlencode()}" if request.GET else url


def _page(request: HttpRequest, template: str, title: str, context: dict[str, Any]) -> HttpResponse:
    base = admin_look(request) | {"title": title, "next": _next_url(request)}
    return render(request, template, base | context)
