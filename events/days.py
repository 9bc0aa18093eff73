"""Calendar days as UTC windows: the unit every day-level aggregate is kept and read in.

A calendar day of a time zone is the window [local midnight, next local midnight) in UTC.
Zones that agree on a day share its window (UTC and Europe/London in winter), a DST day
has its own 23- or 25-hour window, so one set of day rows serves every zone that shares
it. Windows of real days last between 22 and 26 hours: a day's window is found by its
start and end instants alone (see `events.metrics`).
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from helplines.models import Partner

Window = tuple[datetime, datetime]
UTC_ZONE = ZoneInfo("UTC")
QUARTER = timedelta(minutes=15)


def day_bounds(first_day: date, last_day: date, tz: ZoneInfo) -> Window:
    """[start, end) of the calendar days first_day..last_day (both inclusive) in `tz`.

    Local midnight is resolved by zoneinfo, so a 23- or 25-hour DST day has its real
    length; `end` is the next day's midnight, so 23:59:59.999999 still belongs to last_day.
    """
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def days_between(first_day: date, last_day: date) -> Iterator[date]:
    for n in range((last_day - first_day).days + 1):
        yield first_day + timedelta(days=n)


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[date]:
    """The calendar days of `tz` that overlap [start, end)."""
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return days_between(start.astimezone(tz).date(), last)


def windows_overlapping(zones: Iterable[str], start: datetime, end: datetime) -> set[Window]:
    """Every day window of `zones` that overlaps [start, end)."""
    windows: set[Window] = set()
    for name in zones:
        tz = ZoneInfo(name)
        windows.update(day_bounds(day, day, tz) for day in local_days(start, end, tz))
    return windows


def floor_quarter(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def ceil_quarter(moment: datetime) -> datetime:
    floored = floor_quarter(moment)
    return floored if floored == moment else floored + QUARTER


def wanted_zones() -> set[str]:
    """The zones whose days carry session figures: the setting, and every partner's
    billing zone (a billing statement is always exact)."""
    billing = Partner.objects.values_list("billing_timezone", flat=True).distinct()
    return {*settings.METRICS_TIME_ZONES, *billing}
