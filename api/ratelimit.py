"""Rate limits counted in fixed windows of the shared cache: the event endpoints' limit per
key, `POST /oauth/token` per client, "forgot your password?" per client and per address.

One atomic cache increment per request (`api.cache.count`). A fixed window lets a burst
straddling two windows through at up to twice the rate for an instant; for limits that
guard against runaway or hostile clients, that is the better trade against a sliding log
rewritten on every request. With several server processes the cache must be shared
(CACHE_URL=redis://...) for a limit to hold across them; when the cache cannot be reached
nothing is counted and requests go on, unlimited meanwhile (api/cache.py).
"""

import math
import time
from typing import NamedTuple

from api import cache as shared_cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "100/s" -> (100, 1): requests allowed per period of seconds."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


class Verdict(NamedTuple):
    allowed: bool
    wait: float  # seconds until the window ends, when a refused caller may try again

    @property
    def retry_after(self) -> str:
        """`wait` as a Retry-After header's whole seconds, never 0 while refused."""
        return str(max(1, math.ceil(self.wait)))


def hit(scope: str, identity: str, rate: str, *, now: float | None = None) -> Verdict:
    """Count one request of `identity` under `scope` at `rate` ("10/m"), and judge it.

    `identity` lands in a cache key: never a secret or an address in clear (hash it).
    """
    limit, period = parse_rate(rate)
    moment = time.time() if now is None else now
    window = int(moment // period)
    count = shared_cache.count(f"{scope}:{identity}:{window}", period + 1)
    return Verdict(count is None or count <= limit, (window + 1) * period - moment)
