"""OAuth2 access tokens on every partner API request, beside API keys.

`Authorization: Bearer tlo_...` (client credentials, `POST /oauth/token`). Sets
`request.user` to the Partner and `request.auth` to a TokenSender, which views read exactly
as they read a key (`helplines.authentication.request_partner` / `request_api_key`).
Anything else (an API key, no credentials) is left to PartnerKeyAuthentication.
Unknown, revoked or expired token: 401 `invalid_token`; inactive partner: 403.
"""

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from helplines.authentication import PartnerInactive
from helplines.models import Partner
from oauth.models import TokenSender
from oauth.tokens import TOKEN_START, find_token


class PartnerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Partner, TokenSender] | None:
        scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
        raw_token = credentials.strip()
        if scheme.lower() != "bearer" or not raw_token.startswith(TOKEN_START):
            return None
        now = timezone.now()
        found = find_token(raw_token, now)
        if found is None:
            raise exceptions.AuthenticationFailed(
                "Unknown or revoked access token.", code="invalid_token"
            )
        if found.expires <= now:
            raise exceptions.AuthenticationFailed(
                "This access token has expired: ask /oauth/token for a new one.",
                code="invalid_token",
            )
        if not found.sender.partner.is_active:
            raise PartnerInactive()
        return found.sender.partner, found.sender

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="throughline"'
