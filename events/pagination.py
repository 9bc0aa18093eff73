"""Cursor pages over a partner's events, in (timestamp, id) order (docs/product.md §3.2).

The page token is opaque to partners: a signed (timestamp, id) of the last event served,
so a page never skips or repeats events even while new ones arrive.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_SALT = "events.page_token"


def _invalid(field: str, message: str, code: str = "invalid") -> serializers.ValidationError:
    return serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})


class EventCursorPagination(BasePagination):
    def paginate_queryset(
        self, queryset: QuerySet | Sequence[Any], request: Request, view: Any = None
    ) -> list[Any]:
        assert isinstance(queryset, QuerySet), "pages are cut in SQL, never from a list"
        page_size = self._page_size(request)
        token = request.query_params.get("page_token")
        if token:
            stamp, last_id = self._decode(token)
            queryset = queryset.filter(Q(timestamp__gt=stamp) | Q(timestamp=stamp, id__gt=last_id))
        rows = list(queryset.order_by("timestamp", "id")[: page_size + 1])
        self.next_token = self._encode(rows[page_size - 1]) if len(rows) > page_size else None
        return rows[:page_size]

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"events": data, "next_page_token": self.next_token})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["events", "next_page_token"],
            "properties": {
                "events": schema,
                "next_page_token": {
                    "type": "string",
                    "nullable": True,
                    "description": "Pass as `page_token` for the next page; null on the last.",
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Events per page, default {DEFAULT_PAGE_SIZE}; values above "
                f"{MAX_PAGE_SIZE} are coerced to {MAX_PAGE_SIZE}.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "page_token",
                "in": "query",
                "required": False,
                "description": "`next_page_token` of the previous page.",
                "schema": {"type": "string"},
            },
        ]

    def _page_size(self, request: Request) -> int:
        raw = request.query_params.get("page_size")
        if raw is None:
            return DEFAULT_PAGE_SIZE
        # ASCII digits only ("²" is a digit to str.isdigit(), not to int()); compared by
        # length first, so that int() never converts thousands of digits.
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit()) or not digits:
            raise _invalid("page_size", "Must be a positive integer.")
        if len(digits) > len(str(MAX_PAGE_SIZE)):
            return MAX_PAGE_SIZE
        return min(int(digits), MAX_PAGE_SIZE)

    @staticmethod
    def _encode(row: Any) -> str:
        return signing.dumps([row["timestamp"].isoformat(), row["id"]], salt=_SALT, compress=True)

    @staticmethod
    def _decode(token: str) -> tuple[datetime, int]:
        try:
            stamp, last_id = signing.loads(token, salt=_SALT)
            parsed = parse_datetime(stamp)
        except (signing.BadSignature, ValueError, TypeError) as exc:
            raise _invalid("page_token", "Not a page token from this API.") from exc
        if parsed is None or not isinstance(last_id, int):
            raise _invalid("page_token", "Not a page token from this API.")
        return parsed, last_id
