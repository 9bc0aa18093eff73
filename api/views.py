"""Answers for paths that match no page: unknown API paths, the browser's /favicon.ico."""

from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static

from api.errors import error_body


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    return JsonResponse(
        error_body("not_found", "No API endpoint at this path. See /v1/docs/."), status=404
    )


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request, not at import: the static manifest exists only after
    # collectstatic, and importing the URLs must not depend on it.
    return HttpResponsePermanentRedirect(static("api/favicon.svg"))
