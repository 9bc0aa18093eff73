"""The ceiling: a bare DRF view, no authentication, no throttle, no database, a static answer.

Everything the product's ingest views add on top of it (key lookup, throttle, parsing,
validation, the INSERT) is what the single-event ratio measures.
"""

import functools
import itertools
import os
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def _run_id() -> str:
    # Set by bench.settings only; the type checker knows the product's settings.
    return str(getattr(settings, "BENCH_RUN_ID", ""))


class CeilingView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "run": _run_id()})

    def post(self, request: Request) -> Response:
        # The body is never parsed: DRF reads it only when `request.data` is touched.
        return Response({"status": "ok", "run": _run_id()})


class FloorView(APIView):
    """The product's write of one event behind the same bare view as the ceiling: no key,
    no throttle, no parsing, no validation. What a single display can at best reach with
    one INSERT and its commit per request (bench/README.md, "The floor")."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    _sessions = itertools.count()

    def post(self, request: Request) -> Response:
        from events.models import EventType
        from events.services import NewEvent, record_events

        key, helpline = _floor_cast()
        now = timezone.now()
        [stored] = record_events(
            partner=key.partner,
            api_key=key,
            events=[
                NewEvent(
                    type=EventType.DISPLAY,
                    helpline_pk=helpline.pk,
                    helpline_id=helpline.public_id,
                    session_id=f"floor-{os.getpid()}-{next(self._sessions)}",
                    timestamp=now,
                )
            ],
        )
        return Response({"id": stored.id}, status=201)


@functools.cache
def _floor_cast() -> tuple[Any, Any]:
    """The benchmark's partner key and first helpline, read once per process (as the
    product caches the key row and the helpline ids)."""
    from helplines.models import Helpline, PartnerAPIKey

    key = PartnerAPIKey.objects.select_related("partner").order_by("pk").first()
    helpline = Helpline.objects.order_by("pk").first()
    assert key is not None and helpline is not None
    return key, helpline
