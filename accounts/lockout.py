"""Sign-in lockout (django-axes) that never stores or logs a client address.

Axes counts failed sign-ins per username and per client address. The address it is given
is a pseudonym: a keyed hash (HMAC with SECRET_KEY) of the real one, written as an IPv6
address in the unique-local range fd00::/8, because axes stores it in an IP address column.
Without the key the pseudonym cannot be turned back into the address, even by trying all
four billion IPv4 addresses; rotating SECRET_KEY starts the per-client counts afresh.
"""

import ipaddress
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac

from accounts.admin_look import admin_look
from api.errors import error_body

# The unique-local prefix: a pseudonym can never be mistaken for a routable address.
_PSEUDONYM_PREFIX = b"\xfd"


def client_address(request: HttpRequest) -> str:
    """The address the request came from, as the nearest trusted proxy saw it.

    A connection from a trusted proxy (TRUSTED_PROXIES, gunicorn's FORWARDED_ALLOW_IPS) is
    followed down X-Forwarded-For from the right, past the other trusted proxies: the first
    address that is not one is the client (entries left of it are the client's own claims).
    Anyone else's header is ignored, so a client cannot pick its own address. Without the
    proxy's address, every client would share it and one attacker lock out all staff.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXIES
    trust_all = "*" in proxies
    if not (trust_all or remote in proxies):
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if trust_all:
        return forwarded[-1] if forwarded else remote
    for address in reversed(forwarded):
        if address not in proxies:
            return address
    return remote


def pseudonymous_client_ip(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the client's pseudonym, the same for every request it makes."""
    digest = salted_hmac(
        "accounts.lockout.client", client_address(request), algorithm="sha256"
    ).digest()
    return str(ipaddress.IPv6Address(_PSEUDONYM_PREFIX + digest[:15]))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After, in JSON for scripts, a page for people."""
    cool_off = get_cool_off(request) or timedelta(0)
    seconds = int(cool_off.total_seconds())
    message = (
        "Too many failed sign-ins: this account or this client is locked. "
        f"Try again in {seconds // 60} minutes, or ask an administrator to unlock it."
    )
    wants_json = request.headers.get("X-Requested-With") == "XMLHttpRequest" or (
        request.accepts("application/json") and not request.accepts("text/html")
    )
    response: HttpResponse
    if wants_json:
        response = JsonResponse(error_body("locked_out", message), status=429)
    else:
        context = admin_look(request) | {"title": "Sign-in locked", "message": message}
        response = render(request, "accounts/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
