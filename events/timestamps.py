"""Timestamps as partners send them: ISO 8601 with an explicit UTC offset."""

from datetime import UTC, datetime


class NaiveTimestamp(ValueError):
    """A well-formed timestamp without a UTC offset: which instant it names is unknown."""


def parse_iso_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp in UTC; ValueError when it is not one or cannot be in UTC,
    NaiveTimestamp (a ValueError) when only its offset is missing.

    The one parser of partner-sent timestamps: any offset Python accepts (up to +-23:59)
    is converted here, so the database never sees an offset it would refuse.
    """
    if "\x00" in value:
        # CPython's parser reads up to a NUL and ignores the rest:
        # "2026-11-22T10:00:00Z\x00anything" would pass for a timestamp.
        raise ValueError("NUL character")
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise NaiveTimestamp("no UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00
        raise ValueError("out of range in UTC") from exc
