"""Answers for partner API paths that match no endpoint."""

from django.http import HttpRequest, JsonResponse

from api.errors import error_body


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    return JsonResponse(
        error_body("not_found", "No API endpoint at this path. See /v1/docs/."), status=404
    )
