"""Events: a helpline was displayed, or a user clicked to contact it. Never who."""

import functools
import operator
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler

from helplines.models import Helpline, Partner, PartnerAPIKey


class CurrentTransactionId(models.Func):
    """The inserting transaction's id on PostgreSQL (a 64-bit, never wrapping xid8).

    It lets the rollup read "every event committed since my last run" exactly, by testing
    it against the snapshot of its last run (see `events.rollup`). SQLite has one writer at
    a time, so ids already come in commit order there and the column stays NULL.
    """

    output_field = models.BigIntegerField()
    template = "(pg_current_xact_id()::text::bigint)"

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[str | int, ...]]:
        return "NULL", ()


class EventType(models.TextChoices):
    DISPLAY = "helpline_display", "Display"
    CLICK = "helpline_click", "Click"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone call"
    SMS = "sms", "SMS / text message"
    ONLINE_CHAT = "online_chat", "Online chat"
    WEBSITE = "website", "Visit to the website"
    TTY = "tty", "TTY / relay call"
    WHATSAPP = "whatsapp", "WhatsApp"
    REPORTING_FORM = "reporting_form", "Online reporting form"


class Event(models.Model):
    """One stored event. Immutable: written only by `events.services.record_events`.

    `contact_method` is "" on displays rather than NULL so that the identity constraint
    below also makes identical displays collide (NULLs are distinct in a unique index).
    """

    type = models.CharField(max_length=16, choices=EventType.choices)
    # The three references below are checked by the one writer (`record_events`: the
    # partner and key of the authenticated request, a helpline of the directory) and
    # protected from deletion by Django (PROTECT), not by database constraints: a foreign
    # key costs a lookup per row at commit, about as much as the rest of writing the row
    # (bench/README.md), and none can hold once events are distributed by partner
    # (docs/decisions.md). No index of their own either: nothing reads raw events by key
    # or by helpline (the pages read the aggregates), and the identity leads with the
    # partner.
    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    # The key's 8-character prefix, not its 150-character primary key: one narrow column
    # per row of the largest table.
    api_key = models.ForeignKey(
        PartnerAPIKey,
        on_delete=models.PROTECT,
        to_field="prefix",
        db_column="api_key_prefix",
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    # Copied from the key when stored, so billing and dashboards filter one column.
    is_test = models.BooleanField(default=False)
    helpline = models.ForeignKey(
        Helpline,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    session_id = models.CharField(max_length=128)
    timestamp = models.DateTimeField(help_text="When it happened, from the client.")
    contact_method = models.CharField(
        max_length=16, choices=ContactMethod.choices, blank=True, default=""
    )
    received_at = models.DateTimeField(help_text="When the server stored it.")
    # Set by the database, never by the product: which transaction stored the row.
    txid = models.BigIntegerField(null=True, editable=False, db_default=CurrentTransactionId())

    class Meta:
        constraints = [
            # Idempotency: a partner's retry of an identical event never stores a second row.
            # Session first after the partner: the rollup finds a session's other events of
            # the day through this index (events.rollup).
            models.UniqueConstraint(
                fields=["partner", "session_id", "type", "helpline", "timestamp", "contact_method"],
                name="event_identity_unique",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(type=EventType.DISPLAY, contact_method="")
                    | models.Q(type=EventType.CLICK, contact_method__in=ContactMethod.values)
                ),
                name="event_contact_method_only_on_clicks",
            ),
        ]
        indexes = [
            # GET /v1/events and partner dashboards: one partner's events over a time
            # range, walked in (timestamp, id) order by the cursor.
            models.Index(fields=["partner", "timestamp", "id"], name="event_partner_time"),
            # Staff dashboards and exports over all partners for a time range, and
            # retention purges.
            models.Index(fields=["timestamp"], name="event_time"),
            # The rollup: the events committed since its last run (PostgreSQL).
            models.Index(fields=["txid"], name="event_txid"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.helpline_id} {self.timestamp:%Y-%m-%d %H:%M:%S}"


class RefusedEventCount(models.Model):
    """How many events a partner's keys sent that were refused, per clock hour and code.

    Integration health for staff (a partner sending naive timestamps, or session ids that
    look like e-mail addresses). Only the count and the error code are kept, never what was
    sent: a refused event may hold the very personal data it was refused for.
    """

    # One counter per partner, hour and code: refusals are added by upsert. No surrogate
    # id: a key led by the partner lets the table be distributed by partner as it is.
    pk = models.CompositePrimaryKey("partner", "hour", "code")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="refusals")
    hour = models.DateTimeField(help_text="Start of the UTC clock hour.")
    code = models.CharField(max_length=64, help_text="e.g. looks_like_pii, throttled.")
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.partner_id} {self.hour:%Y-%m-%d %H}:00 {self.code} x{self.count}"


# ---------------------------------------------------------------------------------------
# Aggregates: every figure staff and partners read comes from these tables, maintained by
# `events.rollup` (python manage.py rollup_events) and read by `events.metrics`. Their
# primary keys start with the partner, so they can be distributed by partner as they are.


class EventCounts(models.Model):
    """Displays and clicks per contact method of one group of events (COUNT_COLUMNS)."""

    displays = models.PositiveBigIntegerField(default=0)
    clicks_phone = models.PositiveBigIntegerField(default=0)
    clicks_sms = models.PositiveBigIntegerField(default=0)
    clicks_online_chat = models.PositiveBigIntegerField(default=0)
    clicks_website = models.PositiveBigIntegerField(default=0)
    clicks_tty = models.PositiveBigIntegerField(default=0)
    clicks_whatsapp = models.PositiveBigIntegerField(default=0)
    clicks_reporting_form = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True


# The count columns of every aggregate table, in this order.
COUNT_COLUMNS = ("displays", *(f"clicks_{method}" for method in ContactMethod.values))

# Rows of live traffic holding a click: all the load figures need (rows without one add
# nothing to a sum of clicks), and what the index quarter_count_live_clicks holds.
LIVE_CLICKED = models.Q(is_test=False) & functools.reduce(
    operator.or_, (models.Q(**{f"clicks_{method}__gt": 0}) for method in ContactMethod.values)
)


class QuarterHourCount(EventCounts):
    """Counts per partner, traffic, helpline and UTC quarter-hour.

    Every time zone in use today has an offset that is a whole number of quarter-hours, so
    each quarter-hour lies inside one local hour and one local day of any zone: these rows
    answer hours, and days in any zone, exactly (sessions excepted: see DayCount).
    """

    pk = models.CompositePrimaryKey("partner", "is_test", "helpline", "quarter")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    is_test = models.BooleanField()
    helpline = models.ForeignKey(Helpline, on_delete=models.PROTECT, related_name="+")
    quarter = models.DateTimeField(help_text="Start of the UTC quarter-hour.")

    class Meta:
        indexes = [
            # Staff views over all partners for a time range (load page, hourly charts).
            models.Index(fields=["quarter"], name="quarter_count_time"),
            # One partner's hours (its integration health, the cut day of a period): the
            # primary key puts traffic and helpline before the quarter, so without this a
            # partner's 48 hours read every row it has (91 ms at 10M events, 27 ms here).
            # Read from the index alone: a partner's 48 hours lie on as many heap pages as
            # they have rows (10,500 rows on 5,000 pages at 10M events, 11 ms; 5 ms here).
            models.Index(
                fields=["partner", "quarter"],
                include=["is_test", "helpline", *COUNT_COLUMNS],
                name="quarter_count_partner_time",
            ),
            # Live clicks of a few helplines over a range (check_load's rolling hours, the
            # directory's load status; the load page reads HourClicks): read from this
            # index alone. Rows are written in the order events arrive, so a week of one
            # helpline lies on as many heap pages as it has rows; at 10M events a week of
            # the priority helplines read 23,000 pages through quarter_count_time (139 ms)
            # and 250 here (11 ms). Only rows holding
            # a click: half of them at 10M events (a quarter-hour of one partner on one
            # helpline holds a few events), which halved that query again (4.6 -> 2.4 ms).
            models.Index(
                fields=["helpline", "quarter"],
                include=[f"clicks_{method}" for method in ContactMethod.values],
                condition=LIVE_CLICKED,
                name="quarter_count_live_clicks",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.helpline_id} {self.quarter:%Y-%m-%d %H:%M}"


class HourClicks(models.Model):
    """Clicks of live traffic per helpline and UTC clock hour, every partner together: the
    load page's figure (`events.metrics.hourly_clicks`), kept apart from QuarterHourCount
    because a week of it there is a row per partner and quarter-hour (9,000 rows for the
    load page's 8 helplines at 10M events, 3 ms) where the page needs one per hour (1,300).

    No partner's own figure is kept here, so it is not a partner-owned table: like the
    load episodes it lives with the reference tables (docs/SCALING.md). Only hours with a
    click have a row.
    """

    pk = models.CompositePrimaryKey("helpline", "hour")
    helpline = models.ForeignKey(Helpline, on_delete=models.PROTECT, related_name="+")
    hour = models.DateTimeField(help_text="Start of the UTC clock hour.")
    clicks = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "hour clicks"

    def __str__(self) -> str:
        return f"{self.helpline_id} {self.hour:%Y-%m-%d %H:%M}: {self.clicks}"


class DayCount(EventCounts):
    """Counts and sessions per partner, traffic and helpline for one day window.

    A day window is [day_start, day_end) in UTC: a calendar day of one of the time zones
    the figures are kept in (`SessionZone`). Zones that share a day (UTC and London in
    winter) share its rows; a 23- or 25-hour DST day is its own window. Sessions are the
    distinct session ids with a display of this helpline that day (reached) and with a
    display and a click of it (converted).
    """

    pk = models.CompositePrimaryKey("partner", "is_test", "helpline", "day_start", "day_end")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    is_test = models.BooleanField()
    helpline = models.ForeignKey(Helpline, on_delete=models.PROTECT, related_name="+")
    day_start = models.DateTimeField()
    day_end = models.DateTimeField()
    sessions_reached = models.PositiveBigIntegerField(default=0)
    sessions_converted = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [
            # Staff views over all partners: the days of a period.
            models.Index(fields=["day_start", "day_end"], name="day_count_day"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.helpline_id} {self.day_start:%Y-%m-%d %H:%M}"


class DaySessionCount(models.Model):
    """Distinct sessions of a partner's traffic in one day window, over all its helplines
    (`country` "") or over the helplines of one country.

    A session shown two helplines counts once here and once for each helpline in DayCount,
    which is why these figures are kept apart instead of summed from DayCount.
    """

    pk = models.CompositePrimaryKey("partner", "is_test", "day_start", "day_end", "country")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    is_test = models.BooleanField()
    day_start = models.DateTimeField()
    day_end = models.DateTimeField()
    country = models.CharField(max_length=2, blank=True, help_text='"" for all countries.')
    sessions_reached = models.PositiveBigIntegerField(default=0)
    sessions_converted = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day_start", "day_end"], name="day_session_count_day")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.country or 'all'} {self.day_start:%Y-%m-%d %H:%M}"


class KeyDay(models.Model):
    """Events stored per API key and UTC day, and the last time one was: key usage and
    "last event received" on the partner's page without reading raw events."""

    pk = models.CompositePrimaryKey("partner", "api_key_prefix", "day")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    api_key_prefix = models.CharField(max_length=8)
    day = models.DateField()
    events = models.PositiveBigIntegerField(default=0)
    last_received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.api_key_prefix} {self.day} x{self.events}"


class PairedDisplayDay(models.Model):
    """Paired priority services per partner, traffic and UTC day (the display rule: both
    services of a pair or neither).

    `sessions_paired`: sessions that displayed at least one service of a pair that day;
    `sessions_alone`: those of them with a display of one service of a pair and no display
    of its pair in the same session within PAIRED_DISPLAY_WINDOW_MINUTES of it. Counts only,
    kept by `events.rollup` as events arrive.
    """

    pk = models.CompositePrimaryKey("partner", "is_test", "day")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    is_test = models.BooleanField()
    day = models.DateField(help_text="The UTC day of the displays.")
    sessions_paired = models.PositiveBigIntegerField(default=0)
    sessions_alone = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [
            # Staff views over all partners: the days of a period.
            models.Index(fields=["day"], name="paired_display_day"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day}: {self.sessions_alone}/{self.sessions_paired}"


class SessionZone(models.Model):
    """A time zone whose calendar days have session figures (DayCount, DaySessionCount),
    from `covered_from` on. Days of other zones have exact displays and clicks (from
    QuarterHourCount) but no session figures."""

    name = models.CharField(max_length=64, primary_key=True)
    covered_from = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class RollupState(models.Model):
    """The rollup's one row: how far it has read, and where raw events were purged.

    `mark`: the aggregates hold exactly the events it covers (a PostgreSQL snapshot, or the
    first row id not covered on SQLite; see `events.rollup`). It moves in the same
    transaction as the aggregates.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    mark = models.TextField(blank=True, default="")
    last_run_at = models.DateTimeField(null=True)
    purged_before = models.DateTimeField(
        null=True, help_text="Raw events before this were deleted; their aggregates remain."
    )

    def __str__(self) -> str:
        return f"rollup at {self.mark or 'nothing'}"


class BillingStatement(models.Model):
    """A partner's closed month: stored once the month is past the late-arrival window in
    the partner's billing time zone, never changed afterwards.

    One row per partner and month: a small table, replicated whole (a reference table)
    rather than distributed by partner, so it keeps a plain id, which the admin needs.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="statements")
    month = models.DateField(help_text="First day of the month.")
    # The partner's slug, name and zone as they were when the month closed: the statement,
    # and its checksum, never change afterwards.
    partner_slug = models.CharField(max_length=64)
    partner_name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64)
    displays = models.PositiveBigIntegerField()
    clicks = models.PositiveBigIntegerField()
    sessions_reached = models.PositiveBigIntegerField()
    sessions_converted = models.PositiveBigIntegerField()
    closed_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the statement's CSV row.")

    class Meta:
        ordering = ["-month", "partner_id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "month"], name="statement_one_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.month:%Y-%m}"
