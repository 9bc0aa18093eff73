"""Monthly billing statements: a partner's month in its billing time zone, closed for good
once no event can arrive for it any more.

A month closes when its last local day is older than the late-arrival window (plus
BILLING_CLOSE_MARGIN_HOURS): from then on every event of the month has been refused as
`too_old` or is in the aggregates, so its figures are final. The closed statement is
stored with the partner's name and zone of that day and a SHA-256 of its CSV cells, and
billing.csv answers it from the stored row ever after.
"""

import csv
import hashlib
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Min

from events.days import day_bounds
from events.metrics import EventFilter, Metrics, figure_cells, session_days, totals
from events.models import BillingStatement, KeyDay
from helplines.models import Partner


def month_last_day(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def next_month(month: date) -> date:
    return month_last_day(month) + timedelta(days=1)


def closes_at(month: date, tz: ZoneInfo) -> datetime:
    """When `month` (in `tz`) closes."""
    _, end = day_bounds(month, month_last_day(month), tz)
    return end + timedelta(
        days=settings.EVENTS_LATE_ARRIVAL_DAYS, hours=settings.BILLING_CLOSE_MARGIN_HOURS
    )


def month_figures(partner: Partner, month: date) -> Metrics:
    """The partner's live figures for `month` in its billing time zone, as they are now."""
    tz = ZoneInfo(partner.billing_timezone)
    return totals(
        EventFilter.for_days(month, month_last_day(month), tz, partner_ids=frozenset({partner.pk})),
        tz,
    )


def statement_cells(
    *, slug: str, name: str, month: date, timezone: str, metrics: Metrics
) -> list[object]:
    """The cells of a statement row in billing.csv (the part its SHA-256 covers)."""
    return [slug, name, f"{month:%Y-%m}", timezone, *figure_cells(metrics)]


def checksum(cells: list[object]) -> str:
    """SHA-256 of the cells written as one CSV line (comma separated, CRLF ended)."""
    line = io.StringIO()
    csv.writer(line, lineterminator="\r\n").writerow(cells)
    return hashlib.sha256(line.getvalue().encode()).hexdigest()


def stored_metrics(statement: BillingStatement) -> Metrics:
    return Metrics(
        displays=statement.displays,
        clicks=statement.clicks,
        sessions_reached=statement.sessions_reached,
        sessions_converted=statement.sessions_converted,
    )


def statement_row(statement: BillingStatement) -> list[object]:
    return statement_cells(
        slug=statement.partner_slug,
        name=statement.partner_name,
        month=statement.month,
        timezone=statement.timezone,
        metrics=stored_metrics(statement),
    )


def close_due_months(*, now: datetime) -> int:
    """Store the statement of every month that is due to close and is not yet; returns
    how many. Runs inside the rollup's transaction, after its figures are up to date."""
    closed = 0
    first_events = dict(
        KeyDay.objects.values("partner_id")
        .annotate(first=Min("day"))
        .values_list("partner_id", "first")
    )
    # Ordered by month: the dict keeps each partner's last closed month.
    last_closed = {
        partner_id: month
        for partner_id, month in BillingStatement.objects.order_by(
            "partner_id", "month"
        ).values_list("partner_id", "month")
    }
    for partner in Partner.objects.order_by("pk"):
        tz = ZoneInfo(partner.billing_timezone)
        if partner.pk in last_closed:
            month = next_month(last_closed[partner.pk])
        else:
            start = partner.created_at.astimezone(tz).date()
            if partner.pk in first_events:
                # KeyDay days are UTC days: the local day may be the one before.
                start = min(start, first_events[partner.pk] - timedelta(days=1))
            month = start.replace(day=1)
        while closes_at(month, tz) <= now:
            if not session_days(tz, month, month_last_day(month)):
                break  # the zone's days are not all kept: the month cannot close exactly
            metrics = month_figures(partner, month)
            cells = statement_cells(
                slug=partner.slug,
                name=partner.name,
                month=month,
                timezone=partner.billing_timezone,
                metrics=metrics,
            )
            BillingStatement.objects.create(
                partner=partner,
                month=month,
                partner_slug=partner.slug,
                partner_name=partner.name,
                timezone=partner.billing_timezone,
                displays=metrics.displays,
                clicks=metrics.clicks,
                sessions_reached=metrics.sessions_reached or 0,
                sessions_converted=metrics.sessions_converted or 0,
                closed_at=now,
                sha256=checksum(cells),
            )
            closed += 1
            month = next_month(month)
    return closed
