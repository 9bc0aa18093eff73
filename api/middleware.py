"""Partner API paths answer JSON whatever fails: a lost database is a 503, never HTML."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from api.errors import error_body, service_unavailable_response

logger = logging.getLogger(__name__)

# Paths whose clients are programs. The interactive docs are HTML by design.
JSON_PREFIXES = ("/v1/", "/healthz")
HTML_EXEMPT = ("/v1/docs/",)

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    500: "server_error",
}


def _is_json_path(path: str) -> bool:
    return path.startswith(JSON_PREFIXES) and not path.startswith(HTML_EXEMPT)


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            _is_json_path(request.path)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            # Django's own error pages (a CSRF failure, a 404 outside DRF) become the API's
            # error shape.
            code = _STATUS_CODES.get(response.status_code, "error")
            replacement = JsonResponse(
                error_body(code, response.reason_phrase), status=response.status_code
            )
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_json_path(request.path):
            return None
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning("Database unavailable on %s: %s", request.path, exception)
            return service_unavailable_response()
        logger.exception("Unhandled error on %s", request.path, exc_info=exception)
        return JsonResponse(
            error_body("server_error", "An unexpected error occurred."),
            status=500,
        )
