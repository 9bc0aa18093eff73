"""The event endpoints' own rate limit, per API key (SPEC §3.1), apart from the quota."""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from helplines.models import PartnerAPIKey


class EventRateThrottle(SimpleRateThrottle):
    """EVENTS_RATE_LIMIT (default 100/s) per key; counts live in the default cache.

    With several server processes the cache must be shared (CACHE_URL=redis://...) for
    the limit to hold across them.
    """

    scope = "events"

    def get_rate(self) -> str:
        # Read at request time, not import time, so the setting can change under test.
        return settings.EVENTS_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, PartnerAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
