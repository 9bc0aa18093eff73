"""The helpline directory API (docs/product.md §3.3): helplines, topics and countries.

Every endpoint here counts against the calling partner's directory quota.
"""

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api.schema import AUTH_ERRORS, NOT_FOUND, UNAVAILABLE, ErrorSerializer
from helplines.authentication import request_partner
from helplines.filters import HelplineFilter
from helplines.models import Helpline, Topic
from helplines.quota import QuotaState
from helplines.selectors import (
    active_helplines,
    could_be_public_id,
    directory_countries,
    directory_topics,
)
from helplines.serializers import (
    CountryListSerializer,
    HelplineListSerializer,
    HelplineSerializer,
    TopicListSerializer,
)
from helplines.services import spend_directory_call


class QuotaExceeded(exceptions.Throttled):
    default_detail = "The directory quota of this partner is used up for now."
    default_code = "quota_exceeded"


class DirectoryQuotaMixin:
    """Counts each call against the partner's rolling quota before the handler runs.

    Runs after authentication and permissions (401/403 never count) and only for a
    method the endpoint serves (a 405 does not count). Every counted or refused call
    answers with the RateLimit-* headers.
    """

    quota_state: QuotaState | None = None

    def check_throttles(self, request: Request) -> None:
        super().check_throttles(request)  # type: ignore[misc]
        if getattr(self, "action", None) is None:
            return
        self.quota_state = spend_directory_call(
            partner=request_partner(request), now=timezone.now()
        )
        if not self.quota_state.allowed:
            raise QuotaExceeded(wait=self.quota_state.reset_seconds)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if self.quota_state is not None:
            for name, value in self.quota_state.headers().items():
                response[name] = value
        return response


def _quota_headers(statuses: list[int]) -> list[OpenApiParameter]:
    """The RateLimit-* headers, on the answers of calls that reached the quota."""
    described = {
        "RateLimit-Limit": "Directory calls allowed per rolling 24 h (all the partner's keys).",
        "RateLimit-Remaining": "Calls left in the window, this one counted.",
        "RateLimit-Reset": "Seconds until at least one counted call leaves the window.",
    }
    return [
        OpenApiParameter(
            name,
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            response=statuses,
            description=description,
        )
        for name, description in described.items()
    ] + [
        OpenApiParameter(
            "Retry-After",
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            response=[429, 503],
            description="Seconds to wait before retrying.",
        )
    ]


_QUOTA_EXCEEDED = {
    429: OpenApiResponse(
        ErrorSerializer,
        description=(
            "Directory quota used up (`quota_exceeded`): retry after `Retry-After` seconds. "
            "Not counted. Event endpoints stay open."
        ),
    )
}
_INVALID_FILTER = {
    400: OpenApiResponse(ErrorSerializer, description="A filter value does not parse.")
}
_DIRECTORY_ERRORS = {**AUTH_ERRORS, **_QUOTA_EXCEEDED, **UNAVAILABLE}


def _schema(
    summary: str, body: Any, description: str, errors: dict[int, OpenApiResponse] | None = None
) -> Any:
    return extend_schema(
        tags=["directory"],
        summary=summary,
        description=description,
        parameters=_quota_headers([200, *(errors or {}), 429]),
        responses={200: body, **(errors or {}), **_DIRECTORY_ERRORS},
    )


_COUNTS = "Counts against the directory quota."


class HelplineViewSet(
    DirectoryQuotaMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = HelplineSerializer
    filterset_class = HelplineFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "helpline_id"

    def get_queryset(self) -> QuerySet[Helpline]:
        return active_helplines()

    def get_object(self) -> Helpline:
        if not could_be_public_id(self.kwargs[self.lookup_url_kwarg]):
            raise exceptions.NotFound()  # an id no helpline can have, e.g. holding a NUL
        return super().get_object()

    @_schema(
        "List active helplines",
        HelplineListSerializer,
        "Priority helplines first, then by name, then by id. " + _COUNTS,
        _INVALID_FILTER,
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        helplines = self.filter_queryset(self.get_queryset())
        return Response({"helplines": self.get_serializer(helplines, many=True).data})

    @_schema(
        "Fetch one active helpline",
        HelplineSerializer,
        "404 for an unknown or inactive id (still counted: it is a directory read). " + _COUNTS,
        NOT_FOUND,
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)


class TopicViewSet(DirectoryQuotaMixin, viewsets.GenericViewSet):
    serializer_class = TopicListSerializer

    def get_queryset(self) -> QuerySet[Topic]:
        return directory_topics()

    @_schema("List topics", TopicListSerializer, "Every topic, by name. " + _COUNTS)
    def list(self, request: Request) -> Response:
        return Response(TopicListSerializer({"topics": self.get_queryset()}).data)


class CountryViewSet(DirectoryQuotaMixin, viewsets.GenericViewSet):
    serializer_class = CountryListSerializer

    def get_queryset(self) -> QuerySet[Any, Any]:
        return directory_countries()

    @_schema(
        "List countries with active helplines",
        CountryListSerializer,
        "Countries having at least one active helpline, by code. " + _COUNTS,
    )
    def list(self, request: Request) -> Response:
        return Response(CountryListSerializer({"countries": self.get_queryset()}).data)
