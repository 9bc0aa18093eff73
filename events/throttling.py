"""The event endpoints' own rate limit, per API key (docs/product.md §3.1), apart from the quota."""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from api.ratelimit import hit
from helplines.models import PartnerAPIKey


class EventRateThrottle(BaseThrottle):
    """EVENTS_RATE_LIMIT (default 100/s) per key, counted in fixed windows (api/ratelimit.py).

    One atomic cache increment per request, where DRF's SimpleRateThrottle reads and
    rewrites a list of the last N request times (N=100 here) on every request and loses
    counts under concurrency. Counts live in the default cache: with several server
    processes it must be shared (CACHE_URL=redis://...) to hold across them.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, PartnerAPIKey):
            return True
        verdict = hit("events-rate", request.auth.prefix, settings.EVENTS_RATE_LIMIT)
        self._wait = verdict.wait
        # Without the shared cache nothing is counted: events go on, unlimited meanwhile.
        return verdict.allowed

    def wait(self) -> float:
        return self._wait
