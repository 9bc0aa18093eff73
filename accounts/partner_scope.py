"""Keeps partner users on their own pages: the middleware every request of theirs passes.

Deny by default, like the second-factor middleware: a signed-in partner user reaches the
partner pages, the account pages (the `accounts` namespace: second factor, password,
sign-out) and nothing else. The admin's index, where the sign-in page sends everyone by
default, the sign-in page itself and the site root send them to their partner page; every
other page (the admin, the staff dashboard, a page added later) answers 403 before its
view runs. Staff and anonymous requests pass untouched (staff cost no query here).
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.middleware import PageAccessMiddleware
from accounts.partners import is_partner_user

_OPEN_NAMESPACES = {"partner", "accounts"}
# Pages a signed-in partner user is sent to by habit or by the sign-in page's default (the
# admin's index), and the sign-in page itself, which would only offer another account.
_SENT_HOME = {"admin:index", "admin:login"}


class PartnerScopeMiddleware(PageAccessMiddleware):
    """Must come after AuthenticationMiddleware."""

    def check(self, request: HttpRequest) -> HttpResponse | None:
        if not is_partner_user(request.user):
            return None
        match = request.resolver_match
        if match is None:
            return None
        if _OPEN_NAMESPACES & set(match.namespaces):
            return None
        if request.method == "POST" and match.view_name == "admin:login":
            return None  # signing in as someone else
        if match.view_name in _SENT_HOME or match.route == "":
            return HttpResponseRedirect(reverse("partner:home"))
        raise PermissionDenied("Partner users reach their own pages only.")
