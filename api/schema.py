"""OpenAPI pieces shared by every partner endpoint: the error body and its statuses."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid_choice`.")
    message = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=(
            "`invalid`, `parse_error`, `duplicate_key`, `not_authenticated`, "
            "`authentication_failed`, `invalid_api_key`, `invalid_token`, `key_revoked`, "
            "`key_expired`, `partner_inactive`, "
            "`not_found`, `method_not_allowed`, `request_too_large`, "
            "`unsupported_media_type`, `throttled`, `quota_exceeded`, `service_unavailable`."
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
    401: _error(
        "No API key or access token, an unknown key, or an unknown, revoked or expired token."
    ),
    403: _error("The key is revoked or expired, or the partner is inactive."),
    405: _error("Method not allowed."),
}
BODY_ERRORS = {
    400: _error(
        "Invalid body: not JSON or not readable (`parse_error`), a key twice in one object "
        "(`duplicate_key`), or a field refused (`invalid`, see `error.fields`)."
    ),
    413: _error("Body too large (counted after decompression)."),
    415: _error("Content-Type is not application/json, or Content-Encoding not gzip."),
}
# On the ingest operations, whose bodies may be large (batches from partners' servers).
CONTENT_ENCODING = OpenApiParameter(
    "Content-Encoding",
    str,
    OpenApiParameter.HEADER,
    enum=["gzip", "identity"],
    description=(
        "`gzip` for a gzip-compressed body. The size limits count the decompressed body; a "
        "body that does not decompress is a 400 `parse_error`, any other coding a 415."
    ),
)
THROTTLED = {429: _error("Too many requests: retry after `Retry-After` seconds.")}
UNAVAILABLE = {503: _error("The database cannot be reached: retry after `Retry-After`.")}
NOT_FOUND = {404: _error("Not found.")}
