"""Who must show a second factor (TOTP) after the password, and the middleware enforcing it.

One list of requirements, each a setting and the users it covers: staff
(STAFF_REQUIRE_2FA) and partner users (PARTNER_REQUIRE_2FA). A user
covered by a requirement who has not shown a code in this session reaches nothing but the
sign-in and second-factor pages: enrolment when they have no confirmed device yet, the code
page otherwise.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import user_has_device

from accounts.middleware import PageAccessMiddleware
from accounts.partners import is_partner_user

# (setting, predicate): the setting switches the requirement on for the users the
# predicate selects.
REQUIREMENTS: list[tuple[str, Callable[[Any], bool]]] = [
    ("STAFF_REQUIRE_2FA", lambda user: bool(user.is_staff)),
    ("PARTNER_REQUIRE_2FA", is_partner_user),
]

# Views an unverified user must still reach: signing in and out, and the 2FA pages.
_OPEN_VIEWS = {"admin:login", "admin:logout"}
_OPEN_NAMESPACE = "accounts"


def second_factor_required(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True when `user` is signed in and covered by a switched-on requirement."""
    if not user.is_authenticated:
        return False
    return any(getattr(settings, setting) and applies(user) for setting, applies in REQUIREMENTS)


def is_verified(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the session's user showed a code (django_otp.middleware.OTPMiddleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


class SecondFactorMiddleware(PageAccessMiddleware):
    """Sends a user who must show a second factor, and has not, to enrol or to verify.

    Deny by default: every view is covered but the open ones above, so a page added later
    is protected without anyone remembering to. Must come after OTPMiddleware.
    """

    def check(self, request: HttpRequest) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and (
            match.view_name in _OPEN_VIEWS or _OPEN_NAMESPACE in match.namespaces
        ):
            return None
        if not second_factor_required(request.user) or is_verified(request.user):
            return None
        page = "accounts:verify" if user_has_device(request.user) else "accounts:enrol"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(page)}?{query}")
