"""Partner API failures that DRF has no class for."""

from rest_framework import exceptions, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database cannot be reached; nothing was stored. Retry later."
    default_code = "service_unavailable"


class DuplicateKey(exceptions.ParseError):
    """A JSON object naming a key twice: which value counts would be the parser's choice."""

    default_detail = "A key appears more than once in one object."
    default_code = "duplicate_key"
