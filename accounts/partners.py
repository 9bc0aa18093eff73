"""Partner users: who they are, creating and deactivating them, and their set-password links.

The one write path for partner accounts (the admin and `create_partner_user` call it). A
link to set a password is a Django password-reset token with its own salt: valid for
PASSWORD_RESET_TIMEOUT (72 hours) and for one use, because it is computed from the
password hash, which setting the password changes.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import PartnerMembership
from helplines.models import Partner

# Set on a user object once its membership was looked up, found or not: the scope and the
# second-factor middleware both ask, and a user without one would otherwise query twice.
_CACHED = "_partner_membership_cache"


class PartnerPasswordTokenGenerator(PasswordResetTokenGenerator):
    """Tokens of the partner users' set-password links, apart from any other reset token."""

    key_salt = "accounts.partners.PartnerPasswordTokenGenerator"


password_tokens = PartnerPasswordTokenGenerator()


def membership_of(user: Any) -> PartnerMembership | None:
    """The membership of a signed-in partner user; None for staff, anonymous and others.

    Staff are never partner users, so a staff request costs no query here.
    """
    if not getattr(user, "is_authenticated", False) or user.is_staff:
        return None
    if _CACHED not in user.__dict__:
        user.__dict__[_CACHED] = (
            PartnerMembership.objects.select_related("partner").filter(user=user).first()
        )
    membership: PartnerMembership | None = user.__dict__[_CACHED]
    return membership


def is_partner_user(user: AbstractBaseUser | AnonymousUser) -> bool:
    return membership_of(user) is not None


def create_partner_user(*, partner: Partner, username: str, email: str = "") -> Any:
    """A new active partner user of `partner`, without a password until they set one."""
    user_model = get_user_model()
    if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
        raise ValidationError(f"The username {username!r} is taken.", code="username_taken")
    with transaction.atomic():
        user = user_model(
            **{user_model.USERNAME_FIELD: username}, email=email, is_staff=False, is_active=True
        )
        # Unusable until the user sets one through their link: no password ever travels.
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        PartnerMembership.objects.create(user=user, partner=partner)
    return user


def deactivate_partner_users(memberships: list[PartnerMembership]) -> int:
    """Deactivates each user (saved one by one, so the audit trail records each); their
    sessions end at their next request, since Django refuses an inactive user's session."""
    count = 0
    for membership in memberships:
        user = membership.user
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
            count += 1
    return count


def password_link_path(user: Any) -> str:
    """The path of a one-time link where `user` sets a new password (valid 72 hours)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse(
        "accounts:set_password", kwargs={"uidb64": uid, "token": password_tokens.make_token(user)}
    )


def password_link(user: Any, *, base_url: str) -> str:
    """The link in full, on `base_url` (e.g. https://events.throughline.example)."""
    return base_url.rstrip("/") + password_link_path(user)


def request_base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"
