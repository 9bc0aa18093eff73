"""The partner users' pages under /partner/, each scoped to the signed-in user's partner.

`partner_page` is the one place a partner page learns its partner: from the user's
membership, never from the URL, the query string or the form. The partner's analytics
pages to come are the staff partner page called with this partner fixed.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.partners import membership_of
from helplines.models import Partner

PartnerView = Callable[..., HttpResponse]

# The partner pages' navigation (templates/partner/base.html), in order: URL name, label.
# A name that does not reverse is left out, so a page can be listed before its route exists.
PARTNER_NAV: list[tuple[str, str]] = [
    ("partner:home", "Analytics"),
    ("partner:statement", "Statement"),
    ("partner:report", "Impact report"),
    ("partner:integration", "Integration"),
    ("partner:keys", "Keys"),
]


def partner_page(view: PartnerView) -> Callable[..., HttpResponse]:
    """Calls `view(request, partner, ...)` for a signed-in partner user of an active partner.

    Anonymous users sign in first; staff and everyone else get 403 (staff read partners on
    the staff dashboard); a deactivated partner's users get 403 as well.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        membership = membership_of(request.user)
        if membership is None or not membership.partner.is_active:
            raise PermissionDenied("Partner users only.")
        return view(request, membership.partner, *args, **kwargs)

    return wrapped


@partner_page
def home(request: HttpRequest, partner: Partner) -> HttpResponse:
    """Where a partner user lands after signing in: their organisation, for now by name."""
    return render(request, "partner/home.html", {"partner": partner, "title": partner.name})
