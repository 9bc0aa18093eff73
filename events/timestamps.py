"""Timestamps as partners send them: ISO 8601 with an explicit UTC offset."""

from datetime import UTC, datetime


def parse_iso_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp in UTC; ValueError when it is not one or cannot be in UTC.

    The one parser of partner-sent timestamps: any offset Python accepts (up to +-23:59)
    is converted here, so the database never sees an offset it would refuse.
    """
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("no UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00
        raise ValueError("out of range in UTC") from exc
