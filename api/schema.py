"""OpenAPI pieces shared by every partner endpoint: the error body and its statuses."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid_choice`.")
    message = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=(
            "`invalid`, `parse_error`, `not_authenticated`, `authentication_failed`, "
            "`key_revoked`, `key_expired`, `partner_inactive`, `not_found`, "
            "`method_not_allowed`, `request_too_large`, `unsupported_media_type`, "
            "`throttled`, `quota_exceeded`, `service_unavailable`."
        )
    )
    message = serializers.CharField()
    # DRF's metaclass pops declared fields, so this does not shadow Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=FieldErrorSerializer(many=True),
        required=False,
        help_text="Per-field errors (with `invalid` only), keyed by field name.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


AUTH_ERRORS = {
    401: _error("No API key, or an unknown one."),
    403: _error("The key is revoked or expired, or the partner is inactive."),
    405: _error("Method not allowed."),
}
BODY_ERRORS = {
    400: _error("Invalid body: broken JSON or a field refused (see `error.fields`)."),
    413: _error("Body too large."),
    415: _error("Content-Type is not application/json."),
}
THROTTLED = {429: _error("Too many requests: retry after `Retry-After` seconds.")}
UNAVAILABLE = {503: _error("The database cannot be reached: retry after `Retry-After`.")}
NOT_FOUND = {404: _error("Not found.")}
