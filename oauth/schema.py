"""How OAuth2 client credentials appear in the OpenAPI schema."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PartnerTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "oauth.authentication.PartnerTokenAuthentication"
    name = "OAuth2ClientCredentials"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": (
                "OAuth2 client credentials: `POST /oauth/token` with "
                "`grant_type=client_credentials` and the client id and secret (HTTP Basic, "
                "or `client_id` and `client_secret` in the form), then "
                "`Authorization: Bearer <access_token>` until it expires. Errors of "
                '`/oauth/token` follow RFC 6749 (`{"error": "invalid_client"}`). The token '
                "endpoint takes OAUTH_TOKEN_RATE_LIMIT requests per client (default 10 a "
                "minute), right or wrong; over it the answer is 429 with `Retry-After` and "
                '`{"error": "too_many_requests", "error_description": "..."}`: ask once, '
                "then reuse the token until it expires."
            ),
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
        }
