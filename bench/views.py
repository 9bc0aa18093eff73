"""The ceiling: a bare DRF view, no authentication, no throttle, no database, a static answer.

Everything the product's ingest views add on top of it (key lookup, throttle, parsing,
validation, the INSERT) is what the single-event ratio measures.
"""

from django.conf import settings
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
