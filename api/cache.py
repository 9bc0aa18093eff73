"""The shared cache as an accelerator only: when it cannot be reached (Redis restarting),
every caller carries on without it instead of failing the request.

What each caller loses meanwhile: the key cache reads the key row from the database on
every request; the event rate limit lets requests through uncounted. Nothing a partner
sends is refused or lost because of the cache. Failures are logged at most once every
`LOG_EVERY_SECONDS` per process, naming the operation, never the key.
"""

import logging
import time
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is in requirements.txt
    RedisError = OSError  # type: ignore[misc,assignment]

logger = logging.getLogger(__name__)
# Connection refused and timeouts (OSError), and what redis-py raises for them.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
LOG_EVERY_SECONDS = 10.0
_last_logged = 0.0


def _unavailable(operation: str, exc: BaseException) -> None:
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= LOG_EVERY_SECONDS:
        _last_logged = now
        logger.warning(
            "Cache unavailable (%s: %s); going on without it.", operation, type(exc).__name__
        )


def get(key: str) -> Any:
    """The cached value, or None when absent or when the cache cannot be reached."""
    try:
        return cache.get(key)
    except CACHE_ERRORS as exc:
        _unavailable("get", exc)
        return None


def set(key: str, value: Any, timeout: float) -> None:
    try:
        cache.set(key, value, timeout)
    except CACHE_ERRORS as exc:
        _unavailable("set", exc)


def delete_many(keys: Iterable[str]) -> None:
    try:
        cache.delete_many(list(keys))
    except CACHE_ERRORS as exc:
        _unavailable("delete", exc)


def count(key: str, timeout: float) -> int | None:
    """Add one to the counter `key` (created with `timeout`) and return it, atomically; None
    when the cache cannot be reached (nothing was counted)."""
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # the counter expired between add() and incr()
            cache.set(key, 1, timeout=timeout)
            return 1
    except CACHE_ERRORS as exc:
        _unavailable("count", exc)
        return None
