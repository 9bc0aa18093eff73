"""Instants in UTC: a timestamp read back from the database made aware, and the UTC clock
hour holding an instant.

Here, at the bottom of the apps, so that every app floors and normalises the same way
(the directory quota's hourly buckets, the event aggregates, the pages' hour series).
"""

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime


def as_utc(value: datetime | str) -> datetime:
    """A timestamp read from a raw cursor, as an aware UTC datetime: PostgreSQL returns
    naive values for columns truncated in UTC, SQLite returns text."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None, value
        value = parsed
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def floor_hour(moment: datetime) -> datetime:
    """The start of `moment`'s UTC clock hour."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
