"""One error body for every failed partner API request.

{"error": {"code": "invalid", "message": "...",
           "fields": {"contact_method": [{"code": "invalid_choice", "message": "..."}]}}}
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.exceptions import RequestTooLarge, ServiceUnavailable


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": _encodable(message)}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def field_errors(detail: Any) -> dict[str, Any]:
    """DRF's validation detail as `{field: [{"code", "message"}]}`; nested fields dotted."""
    if isinstance(detail, list):
        return {"non_field_errors": _error_list(detail)}
    fields: dict[str, Any] = {}
    for name, errors in detail.items():
        if isinstance(errors, dict):
            for inner, inner_errors in field_errors(errors).items():
                fields[f"{_encodable(name)}.{inner}"] = inner_errors
        else:
            fields[_encodable(name)] = _error_list(errors)
    return fields


def _error_list(errors: Any) -> list[dict[str, str]]:
    if not isinstance(errors, list):
        errors = [errors]
    flat = []
    for error in errors:
        if isinstance(error, dict | list):
            # A list nested in a list (e.g. per-item errors) is summarised, not dropped.
            for inner in field_errors(error).values():
                flat.extend(inner)
        else:
            flat.append(
                {"code": getattr(error, "code", "invalid"), "message": _encodable(str(error))}
            )
    return flat


def _encodable(text: str) -> str:
    """`text` with any lone surrogate written as its escape (`\\ud800`).

    JSON may carry `"\\ud800"`, and an unknown field's name or a refused choice is
    echoed in the error, but no UTF-8 encoder (the renderer's included) takes a lone
    surrogate: the error must not fail to render.
    """
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def validation_error_body(detail: Any) -> dict[str, Any]:
    return error_body("invalid", "The request is invalid; see fields.", field_errors(detail))


def service_unavailable_response() -> JsonResponse:
    response = JsonResponse(
        error_body(ServiceUnavailable.default_code, str(ServiceUnavailable.default_detail)),
        status=503,
    )
    response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: DRF's headers (WWW-Authenticate, Retry-After), our body.

    Anything else (a lost database included) is left to raise: `ApiErrorMiddleware`
    answers it, for DRF views and plain ones (/healthz) alike.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(
            f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query parameters."
        )
    elif isinstance(exc, SuspiciousOperation):  # Django refusing the request: a 400 there too
        exc = exceptions.ParseError("The request cannot be read.")

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
        return response
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    response.data = error_body(code, _message(exc.detail))
    return response


def _message(detail: Any) -> str:
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    return str(detail)
