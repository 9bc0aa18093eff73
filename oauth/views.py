"""`POST /oauth/token`: django-oauth-toolkit's token endpoint behind a rate limit per client.

A wrong client secret costs a password-strength hash to refute (secrets are stored hashed),
so an endpoint open to anyone would let anyone spend the server's CPU by guessing. Each
client (its address as the nearest trusted proxy saw it, kept only as a keyed hash) may
make OAUTH_TOKEN_RATE_LIMIT requests per window, right or wrong; over it the answer is 429
in RFC 6749's error shape with Retry-After, before any secret is looked at.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.views import TokenView

from accounts.lockout import pseudonymous_client_ip
from api.ratelimit import hit

# The error code of a refused token request (an extension of RFC 6749 §5.2's codes).
RATE_LIMITED = "too_many_requests"


class RateLimitedTokenView(TokenView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        verdict = hit(
            "oauth-token", pseudonymous_client_ip(request), settings.OAUTH_TOKEN_RATE_LIMIT
        )
        if not verdict.allowed:
            response = JsonResponse(
                {
                    "error": RATE_LIMITED,
                    "error_description": (
                        "Too many token requests from this client: retry after "
                        f"{verdict.retry_after} seconds, and reuse a token until it expires."
                    ),
                },
                status=429,
            )
            response["Retry-After"] = verdict.retry_after
            response["Cache-Control"] = "no-store"
            return response
        answer: HttpResponse = super().post(request, *args, **kwargs)
        return answer
