"""A bad product setting stops start-up with a message naming it (events/checks.py)."""

from typing import Any

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

from events.checks import check_product_settings, check_shared_cache


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_the_shipped_settings_pass() -> None:
    assert check_product_settings(None) == []


RATES = ["EVENTS_RATE_LIMIT", "OAUTH_TOKEN_RATE_LIMIT", "FORGOT_PASSWORD_RATE_LIMIT"]


@pytest.mark.parametrize("name", RATES)
@pytest.mark.parametrize("rate", ["lots", "100", "100/x", "/s", "1.5/s"])
def test_an_unreadable_rate_limit_is_named(name: str, rate: str) -> None:
    with override_settings(**{name: rate}):
        assert check_product_settings(None) == [
            Error(
                f"{name} is {rate!r}.",
                hint="A count of requests, then /s, /m, /h or /d: for example 100/s.",
                id="throughline.E001",
            )
        ]


@pytest.mark.parametrize("name", RATES)
def test_a_rate_limit_letting_nothing_through_is_refused(name: str) -> None:
    with override_settings(**{name: "0/s"}):
        assert ids(check_product_settings(None)) == ["throughline.E001"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVENTS_MAX_BATCH", 0),
        ("EVENTS_LATE_ARRIVAL_DAYS", 0),
        ("EVENTS_MAX_BODY_BYTES", 10),
        ("DATABASE_UNAVAILABLE_RETRY_AFTER", 0),
        ("API_KEY_CACHE_SECONDS", -1),
        ("SESSION_COOKIE_AGE", 5),
    ],
)
def test_a_count_below_its_least_value_is_named(name: str, value: int) -> None:
    with override_settings(**{name: value}):
        messages = check_product_settings(None)
    assert ids(messages) == ["throughline.E002"]
    assert messages[0].msg == f"{name} is {value}."


def test_retention_must_outlast_the_late_arrival_window() -> None:
    with override_settings(EVENTS_RETENTION_DAYS=8, EVENTS_LATE_ARRIVAL_DAYS=7):
        assert ids(check_product_settings(None)) == ["throughline.E003"]
    with override_settings(EVENTS_RETENTION_DAYS=9, EVENTS_LATE_ARRIVAL_DAYS=7):
        assert check_product_settings(None) == []


def test_a_batch_limit_below_one_event_is_refused() -> None:
    with override_settings(EVENTS_MAX_BODY_BYTES=16384, EVENTS_MAX_BATCH_BODY_BYTES=8192):
        assert ids(check_product_settings(None)) == ["throughline.E004"]


def test_an_unknown_time_zone_is_named() -> None:
    with override_settings(METRICS_TIME_ZONES=["UTC", "Mars/Olympus_Mons"]):
        messages = check_product_settings(None)
    assert ids(messages) == ["throughline.E005"]
    assert "'Mars/Olympus_Mons'" in messages[0].msg


def test_production_without_a_shared_cache_is_warned() -> None:
    local = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    shared = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    with override_settings(CACHES=local):
        assert check_shared_cache(None) == [
            Warning(
                "The default cache is LocMemCache, one per server process.",
                hint="Set CACHE_URL to the shared Redis, e.g. redis://127.0.0.1:6379/1.",
                id="throughline.W001",
            )
        ]
    with override_settings(CACHES=shared):
        assert check_shared_cache(None) == []
