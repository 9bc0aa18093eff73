"""System checks of the product's settings: a bad value stops `manage.py check`, `migrate`
and the server at start-up, in words, instead of failing the first request that reads it.

Registered by events.apps. Each setting is read from the environment by config/settings.py
(README, Settings); the rules here are what the code reading it relies on.
"""

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from api.ratelimit import parse_rate

# Rate limits (api/ratelimit.py): N/s, N/m, N/h or N/d.
_RATES = ("EVENTS_RATE_LIMIT", "OAUTH_TOKEN_RATE_LIMIT", "FORGOT_PASSWORD_RATE_LIMIT")
# Settings that count something: each must be at least this.
_AT_LEAST = {
    "EVENTS_LATE_ARRIVAL_DAYS": 1,
    "EVENTS_FUTURE_TOLERANCE_SECONDS": 0,
    "EVENTS_MAX_BATCH": 1,
    "EVENTS_MAX_BODY_BYTES": 1024,
    "EVENTS_MAX_BATCH_BODY_BYTES": 1024,
    "EVENTS_RETENTION_DAYS": 1,
    "AUDIT_RETENTION_DAYS": 1,
    "API_KEY_CACHE_SECONDS": 0,
    "BILLING_CLOSE_MARGIN_HOURS": 0,
    "DATABASE_UNAVAILABLE_RETRY_AFTER": 1,
    "DIRECTORY_DEFAULT_DAILY_QUOTA": 0,
    "LOAD_ALERT_THRESHOLD_PERCENT": 1,
    "PAIRED_DISPLAY_WINDOW_MINUTES": 1,
    "SESSION_COOKIE_AGE": 60,
    "SESSION_MAX_AGE": 60,
}


@register(Tags.compatibility)
def check_product_settings(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in _RATES:
        rate = getattr(settings, name)
        try:
            limit, _ = parse_rate(rate)
        except (ValueError, KeyError, TypeError, AttributeError):
            errors.append(
                Error(
                    f"{name} is {rate!r}.",
                    hint="A count of requests, then /s, /m, /h or /d: for example 100/s.",
                    id="throughline.E001",
                )
            )
            continue
        if limit < 1:
            errors.append(
                Error(
                    f"{name} is {rate!r}: no request would pass.",
                    hint="At least 1 request per period.",
                    id="throughline.E001",
                )
            )
    for name, least in _AT_LEAST.items():
        value = getattr(settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            errors.append(
                Error(
                    f"{name} is {value!r}.",
                    hint=f"A whole number, at least {least}.",
                    id="throughline.E002",
                )
            )
    if not errors and settings.EVENTS_RETENTION_DAYS <= settings.EVENTS_LATE_ARRIVAL_DAYS + 1:
        errors.append(
            Error(
                f"EVENTS_RETENTION_DAYS ({settings.EVENTS_RETENTION_DAYS}) does not outlast "
                f"the late-arrival window ({settings.EVENTS_LATE_ARRIVAL_DAYS} days).",
                hint="Raw events must be kept past the days late events can still reach, "
                "or the aggregates of those days could not be rebuilt: more than "
                f"{settings.EVENTS_LATE_ARRIVAL_DAYS + 1} days.",
                id="throughline.E003",
            )
        )
    if (
        isinstance(settings.EVENTS_MAX_BODY_BYTES, int)
        and isinstance(settings.EVENTS_MAX_BATCH_BODY_BYTES, int)
        and settings.EVENTS_MAX_BATCH_BODY_BYTES < settings.EVENTS_MAX_BODY_BYTES
    ):
        errors.append(
            Error(
                "EVENTS_MAX_BATCH_BODY_BYTES is smaller than EVENTS_MAX_BODY_BYTES.",
                hint="A batch must be able to carry at least one event.",
                id="throughline.E004",
            )
        )
    for zone in settings.METRICS_TIME_ZONES:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                Error(
                    f"METRICS_TIME_ZONES names {zone!r}, which is no IANA time zone.",
                    hint="Names such as Europe/London, comma-separated.",
                    id="throughline.E005",
                )
            )
    return errors


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """In production the event rate limit and key revocation need one cache for every
    server process (api/cache.py): a per-process cache lets each process count its own
    share of a key's requests and keep a revoked key for API_KEY_CACHE_SECONDS."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache", "FileBasedCache")):
        return [
            Warning(
                f"The default cache is {backend.rsplit('.', 1)[-1]}, one per server process.",
                hint="Set CACHE_URL to the shared Redis, e.g. redis://127.0.0.1:6379/1.",
                id="throughline.W001",
            )
        ]
    return []
