"""OAUTH2_VALIDATOR_CLASS: django-oauth-toolkit's validator, for client credentials only.

Refuses a token to a revoked client, a client of an inactive partner, or an application
that is no partner's client; and every other grant, before any user is looked at (a
password grant would otherwise try a sign-in, and count against the sign-in lockout)."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

GRANT_TYPE = "client_credentials"


class PartnerOAuth2Validator(OAuth2Validator):
    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = getattr(request.client, "partner_client", None)
        # The same answer as a wrong secret (invalid_client): nothing to learn from it.
        return client is not None and not client.revoked and client.partner.is_active

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return grant_type == GRANT_TYPE and super().validate_grant_type(
            client_id, grant_type, client, request, *args, **kwargs
        )

    def validate_user(self, *args: Any, **kwargs: Any) -> bool:
        return False
