"""Partner API keys on every partner API request.

Accepted as `Authorization: Bearer <key>`, `Authorization: Api-Key <key>` or
`X-API-Key: <key>`; never from the query string or the body. Missing or unknown key: 401.
Revoked or expired key, or inactive partner: 403.
"""

from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api import cache as shared_cache
from helplines.models import KeyStatus, Partner, PartnerAPIKey

AUTHORIZATION_SCHEMES = ("bearer", "api-key")


class KeyRevoked(exceptions.PermissionDenied):
    default_detail = "This API key has been revoked."
    default_code = "key_revoked"


class KeyExpired(exceptions.PermissionDenied):
    default_detail = "This API key has expired."
    default_code = "key_expired"


class PartnerInactive(exceptions.PermissionDenied):
    default_detail = "This partner account is inactive."
    default_code = "partner_inactive"


def key_from_request(request: Request) -> str | None:
    header = request.META.get("HTTP_X_API_KEY", "").strip()
    if header:
        return header
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() in AUTHORIZATION_SCHEMES and credentials.strip():
        return credentials.strip()
    return None


PREFIX_LENGTH = 8  # djangorestframework-api-key's generated prefixes


def find_key(raw_key: str) -> PartnerAPIKey | None:
    """The key `raw_key` names, revoked or not; None when no stored key matches it.

    The secret is checked against the stored hash on every request, in constant time; only
    the lookup of the key row is cached.
    """
    prefix, dot, _ = raw_key.partition(".")
    # Prefixes are ASCII letters and digits: anything else (a NUL, which PostgreSQL refuses
    # in a query) names no key, without a query.
    if not dot or len(prefix) != PREFIX_LENGTH or not (prefix.isascii() and prefix.isalnum()):
        return None
    api_key = _key_by_prefix(prefix)
    if api_key is None or not api_key.is_valid(raw_key):
        return None
    return api_key


def _cache_key(prefix: str) -> str:
    return f"partner-api-key:{prefix}"


def _key_by_prefix(prefix: str) -> PartnerAPIKey | None:
    """The key row with its partner, from the cache for API_KEY_CACHE_SECONDS.

    Saves the query that every partner request would otherwise start with. Revoking a key
    through `helplines.services.revoke_keys` forgets it at once; other changes to a key or
    its partner (expiry, deactivation) are seen within API_KEY_CACHE_SECONDS.
    """
    api_key = shared_cache.get(_cache_key(prefix))
    if api_key is None:
        # The prefix is unique and indexed; the partner comes along for the checks.
        api_key = PartnerAPIKey.objects.select_related("partner").filter(prefix=prefix).first()
        if api_key is not None and settings.API_KEY_CACHE_SECONDS > 0:
            shared_cache.set(_cache_key(prefix), api_key, settings.API_KEY_CACHE_SECONDS)
    return api_key


def forget_keys(prefixes: list[str]) -> None:
    shared_cache.delete_many(_cache_key(prefix) for prefix in prefixes)


class PartnerKeyAuthentication(BaseAuthentication):
    """Sets `request.user` to the Partner and `request.auth` to its PartnerAPIKey."""

    def authenticate(self, request: Request) -> tuple[Partner, PartnerAPIKey] | None:
        raw_key = key_from_request(request)
        if raw_key is None:
            return None
        api_key = find_key(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.", code="invalid_api_key")
        status = api_key.status(timezone.now())
        if status == KeyStatus.REVOKED:
            raise KeyRevoked()
        if status == KeyStatus.EXPIRED:
            raise KeyExpired()
        if not api_key.partner.is_active:
            raise PartnerInactive()
        return api_key.partner, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="throughline"'


class IsPartner(BasePermission):
    """A request without a key fails here; DRF then answers 401 (NotAuthenticated)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PartnerAPIKey)


def request_partner(request: Request) -> Partner:
    assert isinstance(request.auth, PartnerAPIKey)
    return request.auth.partner


def request_api_key(request: Request) -> PartnerAPIKey:
    assert isinstance(request.auth, PartnerAPIKey)
    return request.auth
