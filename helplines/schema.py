"""How partner key authentication appears in the OpenAPI schema."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PartnerKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "helplines.authentication.PartnerKeyAuthentication"
    name = ["BearerKey", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        # Either scheme alone is enough: alternatives, not a combination.
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": (
                    "`Authorization: Bearer <key>` (also accepted: `Authorization: Api-Key "
                    "<key>`). Keys are issued per partner by Throughline."
                ),
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        ]
