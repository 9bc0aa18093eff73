"""Finding the client behind an access token on each /v1/ request, through the shared cache.

Tokens are stored as their SHA-256 only (django-oauth-toolkit's `token_checksum`, with
`COMPLIANT_BCP_RFC9700_TOKEN_STORAGE`): the request's token is hashed and looked up by it.
The token's sender and expiry are cached under the checksum for API_KEY_CACHE_SECONDS (never
past the expiry), like a key's row, so the ingest path costs one cache read; revocation
through `oauth.services` forgets them at once.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from oauth2_provider.models import AccessToken

from api import cache as shared_cache
from oauth.models import TokenSender


@dataclass(frozen=True)
class FoundToken:
    sender: TokenSender
    expires: datetime


def checksum(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()


def _cache_key(token_checksum: str) -> str:
    return f"oauth-token:{token_checksum}"


def find_token(raw_token: str, now: datetime) -> FoundToken | None:
    """The token's sender and expiry, or None when no stored token matches it."""
    token_checksum = checksum(raw_token)
    found: FoundToken | None = shared_cache.get(_cache_key(token_checksum))
    if found is None:
        # token_checksum is unique and indexed; the client and partner come along.
        token = (
            AccessToken.objects.select_related(
                "application__partner_client__partner", "application"
            )
            .filter(token_checksum=token_checksum)
            .first()
        )
        client = getattr(token.application, "partner_client", None) if token else None
        if token is None or client is None:
            return None
        found = FoundToken(sender=TokenSender.of(client), expires=token.expires)
        seconds = min(settings.API_KEY_CACHE_SECONDS, (token.expires - now).total_seconds())
        if seconds > 0:
            shared_cache.set(_cache_key(token_checksum), found, seconds)
    return found


def forget_tokens(checksums: list[str]) -> None:
    shared_cache.delete_many(_cache_key(value) for value in checksums)


# Every access token starts with this: the authentication tells a token from an API key
# (prefix.secret) at a glance, and secret scanners can recognise a leaked one.
TOKEN_START = "tlo_"


def generate_access_token(request: object) -> str:
    """OAUTH2_PROVIDER["ACCESS_TOKEN_GENERATOR"]: 256 random bits after TOKEN_START."""
    return TOKEN_START + secrets.token_urlsafe(32)
