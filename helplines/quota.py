"""The directory quota (docs/product.md §3.3): calls per partner over a rolling 24 h window.

The window advances hourly: it is the current clock hour (UTC) and the 23 before it.
Every authenticated directory call that reaches an endpoint counts, whatever its status
(a 404 for an unknown id included: looking a helpline up is a directory read); a call
refused with 429 does not. Event endpoints never touch the quota.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.utc import floor_hour

WINDOW = timedelta(hours=24)
BUCKET = timedelta(hours=1)


def window_floor(moment: datetime) -> datetime:
    """Buckets whose hour is strictly after this are inside the window at `moment`."""
    return floor_hour(moment) - WINDOW


@dataclass(frozen=True, slots=True)
class QuotaState:
    """A partner's quota as one call found it (after counting it, when allowed)."""

    limit: int
    used: int
    allowed: bool
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def seconds_until_a_call_frees(buckets: Iterable[tuple[datetime, int]], now: datetime) -> int:
    """Seconds until the oldest counted call leaves the window (at least 1).

    With no call in the window (only possible when the quota is 0) nothing will ever
    free up by waiting; the whole window length is the honest answer.
    """
    hours = [hour for hour, calls in buckets if calls > 0]
    if not hours:
        return int(WINDOW.total_seconds())
    frees_at = min(hours) + WINDOW
    return max(math.ceil((frees_at - now).total_seconds()), 1)
