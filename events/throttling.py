"""The event endpoints' own rate limit, per API key (docs/product.md §3.1), apart from the quota."""

import time
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from api import cache as shared_cache
from helplines.models import PartnerAPIKey

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "100/s" -> (100, 1): requests allowed per period of seconds."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


class EventRateThrottle(BaseThrottle):
    """EVENTS_RATE_LIMIT (default 100/s) per key, counted in fixed windows.

    One atomic cache increment per request, where DRF's SimpleRateThrottle reads and
    rewrites a list of the last N request times (N=100 here) on every request and loses
    counts under concurrency. A fixed window lets a burst straddling two windows through
    at up to twice the rate for an instant; for a generous limit that guards against
    runaway clients, that is the better trade. Counts live in the default cache: with
    several server processes it must be shared (CACHE_URL=redis://...) to hold across them.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, PartnerAPIKey):
            return True
        limit, period = parse_rate(settings.EVENTS_RATE_LIMIT)
        now = time.time()
        window = int(now // period)
        count = shared_cache.count(f"events-rate:{request.auth.prefix}:{window}", period + 1)
        self._wait = (window + 1) * period - now
        # Without the shared cache nothing is counted: events go on, unlimited meanwhile.
        return count is None or count <= limit

    def wait(self) -> float:
        return self._wait
