"""The dashboard's filter state: one object parsed from the URL and written back into every
link, form and export, so that an analyst's place survives every click.

A period is a range of calendar days (both ends inclusive) in the viewer's time zone,
chosen by a preset or by `start`/`end` (typed dates mean a custom range). A period that
includes the present is incomplete: it is compared with the same elapsed part of its
previous period, never with the whole of it.
"""

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.urls import reverse

from dashboard import selectors
from events.days import day_bounds
from events.metrics import EventFilter
from helplines.models import Helpline, Partner, country_name, validate_timezone

# The longest period a page shows: a year and a day, so "last 365 days" of a leap year fits.
MAX_PAGE_DAYS = 366
# Periods of at most this many days are charted per hour: a day is one bar otherwise.
HOURLY_MAX_DAYS = 2


class Preset:
    LAST_7 = "7d"
    LAST_30 = "30d"
    LAST_90 = "90d"
    MONTH_TO_DATE = "mtd"
    LAST_MONTH = "last_month"
    LAST_QUARTER = "last_quarter"
    CUSTOM = "custom"

    CHOICES = [
        (LAST_7, "Last 7 days"),
        (LAST_30, "Last 30 days"),
        (LAST_90, "Last 90 days"),
        (MONTH_TO_DATE, "Month to date"),
        (LAST_MONTH, "Last month"),
        (LAST_QUARTER, "Last quarter"),
        (CUSTOM, "Custom"),
    ]
    LABELS = dict(CHOICES)


DEFAULT_PRESET = Preset.LAST_30


@cache
def timezone_names() -> list[str]:
    """Every IANA zone, UTC first (the default), for the searchable time zone list."""
    names = sorted(zoneinfo.available_timezones() - {"localtime", "UTC"})
    return ["UTC", *names]


def preset_days(preset: str, today: date) -> tuple[date, date]:
    """The first and last day of a preset period ending today (or last month)."""
    if preset == Preset.MONTH_TO_DATE:
        return today.replace(day=1), today
    if preset == Preset.LAST_MONTH:
        last_day = today.replace(day=1) - timedelta(days=1)
        return last_day.replace(day=1), last_day
    if preset == Preset.LAST_QUARTER:  # the last whole calendar quarter: Jan-Mar, Apr-Jun, ...
        return _quarter_before(today)
    length = {Preset.LAST_7: 7, Preset.LAST_90: 90}.get(preset, 30)
    return today - timedelta(days=length - 1), today


def _quarter_before(day: date) -> tuple[date, date]:
    quarter_start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    last_day = quarter_start - timedelta(days=1)
    return last_day.replace(month=(last_day.month - 1) // 3 * 3 + 1, day=1), last_day


# Pages whose URL path names the partner or the helpline: their links leave it out of the
# query string (the path says it).
_PATH_CARRIES = {
    "dashboard:partner": "partner",
    "dashboard:partner_report": "partner",
    "dashboard:partner_report_pdf": "partner",
    "dashboard:helpline": "helpline",
}


@dataclass(frozen=True, kw_only=True)
class DashboardQuery:
    """What a page or an export shows: a period in a time zone and optional narrowing."""

    first_day: date
    last_day: date
    tz: ZoneInfo
    preset: str = DEFAULT_PRESET
    partner: Partner | None = None
    country: str = ""
    helpline: Helpline | None = None

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def preset_label(self) -> str:
        return Preset.LABELS.get(self.preset, "Custom")

    @property
    def is_hourly(self) -> bool:
        """Whether the period is charted per hour (one or two days)."""
        return self.days <= HOURLY_MAX_DAYS

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        return day_bounds(self.first_day, self.last_day, self.tz)

    def event_filter(self, **overrides: Any) -> EventFilter:
        narrowing: dict[str, Any] = {
            "partner_ids": frozenset({self.partner.pk}) if self.partner else frozenset(),
            "helpline_ids": frozenset({self.helpline.pk}) if self.helpline else frozenset(),
            "countries": frozenset({self.country}) if self.country else frozenset(),
        } | overrides
        return EventFilter.for_days(self.first_day, self.last_day, self.tz, **narrowing)

    # ------------------------------------------------------------------ comparison

    def cut(self, now: datetime) -> datetime | None:
        """Where the period stops being known: `now` when the period has not ended yet
        (its last day is incomplete), None for a period wholly in the past."""
        start, end = self.bounds
        if now >= end:
            return None
        return max(now, start)

    def previous(self) -> "DashboardQuery":
        """The period compared with: the month before a month (to date), the quarter before a
        quarter, otherwise the same number of days just before."""
        if self.preset == Preset.MONTH_TO_DATE:
            last_of_previous = self.first_day - timedelta(days=1)
            first_day = last_of_previous.replace(day=1)
            last_day = min(first_day + timedelta(days=self.days - 1), last_of_previous)
        elif self.preset == Preset.LAST_MONTH:
            last_day = self.first_day - timedelta(days=1)
            first_day = last_day.replace(day=1)
        elif self.preset == Preset.LAST_QUARTER:
            first_day, last_day = _quarter_before(self.first_day)
        else:
            last_day = self.first_day - timedelta(days=1)
            first_day = last_day - timedelta(days=self.days - 1)
        return replace(self, first_day=first_day, last_day=last_day, preset=Preset.CUSTOM)

    def previous_cut(self, now: datetime) -> datetime | None:
        """Where the previous period is cut to match an incomplete period: the same day of
        the period at the same local time (so month to date at 21:50 on the 1st is compared
        with the 1st of last month up to 21:50), or None when this period is complete."""
        cut = self.cut(now)
        if cut is None:
            return None
        previous = self.previous()
        local = cut.astimezone(self.tz)
        day = previous.first_day + (local.date() - self.first_day)
        if day > previous.last_day:  # a longer month: its 31st is compared with all of the 30
            return previous.bounds[1]
        moment = datetime.combine(day, time(local.hour, local.minute, local.second), self.tz)
        return min(moment, previous.bounds[1])

    def previous_filter(self, now: datetime) -> EventFilter:
        """The span of the previous period compared with this one (whole days, or cut)."""
        previous = self.previous()
        event_filter = previous.event_filter()
        cut = self.previous_cut(now)
        return event_filter if cut is None else replace(event_filter, end=cut)

    # ------------------------------------------------------------------ URLs

    def params(self, *, with_partner: bool = True, with_helpline: bool = True) -> dict[str, str]:
        """The URL parameters that reproduce this state: a preset by name (so a link keeps
        meaning "month to date" tomorrow), a custom period by its dates."""
        params: dict[str, str] = {"range": self.preset}
        if self.preset == Preset.CUSTOM:
            params |= {"start": self.first_day.isoformat(), "end": self.last_day.isoformat()}
        params["tz"] = str(self.tz)
        if self.partner and with_partner:
            params["partner"] = self.partner.slug
        if self.country:
            params["country"] = self.country
        if self.helpline and with_helpline:
            params["helpline"] = self.helpline.public_id
        return params

    def query_string(self, *, with_partner: bool = True) -> str:
        return urlencode(self.params(with_partner=with_partner))

    def link(self, view_name: str, *args: Any, **overrides: str) -> str:
        """The URL of a dashboard page or export that keeps this whole state (`overrides`
        replace or, when empty, drop a parameter)."""
        # A partner user's pages take the partner from the membership, never from the URL.
        carried = "partner" if view_name.startswith("partner:") else _PATH_CARRIES.get(view_name)
        params = self.params(with_partner=carried != "partner", with_helpline=carried != "helpline")
        for name, value in overrides.items():
            if value:
                params[name] = value
            else:
                params.pop(name, None)
        return f"{reverse(view_name, args=args)}?{urlencode(params)}"

    def filename(self, name: str) -> str:
        """An export's file name naming every filter, so two exports never collide."""
        parts = [name, self.first_day.isoformat(), self.last_day.isoformat()]
        if self.partner:
            parts.append(self.partner.slug)
        if self.country:
            parts.append(self.country)
        if self.helpline:
            parts.append(self.helpline.public_id)
        if str(self.tz) != "UTC":
            parts.append(str(self.tz).replace("/", "_"))
        return "-".join(parts) + ".csv"

    def describe(self) -> list[tuple[str, str]]:
        """The filters in words, for the top of each CSV file."""
        return [
            ("start", self.first_day.isoformat()),
            ("end", self.last_day.isoformat()),
            ("partner", self.partner.slug if self.partner else "all"),
            ("country", self.country or "all"),
            ("helpline", self.helpline.public_id if self.helpline else "all"),
        ]


class FilterChoices:
    """What the filters offer, read once per request and only when needed: one query for
    the partners, one for the directory (which also gives the countries)."""

    @cached_property
    def partners(self) -> list[Partner]:
        return selectors.filter_partners()

    @cached_property
    def helplines(self) -> list[Helpline]:
        return selectors.filter_helplines()

    @cached_property
    def countries(self) -> list[tuple[str, str]]:
        codes = sorted({line.country_code for line in self.helplines})
        return [(code, f"{country_name(code)} ({code})") for code in codes]

    def partner(self, slug: str) -> Partner | None:
        return next((p for p in self.partners if p.slug == slug), None)

    def helpline(self, public_id: str) -> Helpline | None:
        return next((line for line in self.helplines if line.public_id == public_id), None)


@dataclass
class ParsedQuery:
    """A state and what was wrong with the parameters it came from, in words."""

    query: DashboardQuery
    problems: list[str] = field(default_factory=list)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_query(
    data: Mapping[str, Any],
    *,
    now: datetime,
    choices: FilterChoices | None = None,
    max_days: int | None = MAX_PAGE_DAYS,
    default_preset: str = DEFAULT_PRESET,
    default_tz: str = "UTC",
) -> ParsedQuery:
    """The state a URL asks for. Each parameter is read on its own: an invalid one is
    reported in words and replaced by its default, the valid ones are kept. `default_tz`
    must be a valid zone (a partner's billing time zone is validated where it is set)."""
    choices = choices or FilterChoices()
    problems: list[str] = []

    def text(name: str) -> str:
        return str(data.get(name) or "").strip()

    tz_name = text("tz") or default_tz
    try:
        # validate_timezone keeps the zone names read once (reading them walks the tz
        # database's folders: a fifth of a light page's time).
        validate_timezone(tz_name)
        tz = ZoneInfo(tz_name)
    except (ValidationError, ValueError):
        tz = None
    if tz is None:
        problems.append(f"“{tz_name}” is not a time zone we know: {default_tz} is used instead.")
        tz = ZoneInfo(default_tz)
    today = now.astimezone(tz).date()
    default_label = Preset.LABELS[default_preset].lower()

    preset = text("range")
    if preset and preset not in Preset.LABELS:
        problems.append(f"“{preset}” is not a period we know: the {default_label} are shown.")
        preset = ""
    typed: dict[str, date] = {}
    for name, word in (("start", "start"), ("end", "end")):
        if value := text(name):
            if (parsed := _date(value)) is None:
                problems.append(
                    f"The {word} date “{value}” is not a date (year-month-day, e.g. "
                    f"{today.isoformat()}): it is left out."
                )
            else:
                typed[name] = parsed
    if typed and preset != Preset.CUSTOM:
        # Typed dates mean a custom range, unless they are exactly the preset's own days.
        same = preset and (typed.get("start"), typed.get("end")) == preset_days(preset, today)
        preset = preset if same else Preset.CUSTOM
    preset = preset or default_preset

    first_day, last_day = preset_days(preset, today)
    if preset == Preset.CUSTOM:
        start, end = typed.get("start"), typed.get("end")
        problem = None
        if start is None or end is None:
            problem = "A custom period needs both a start and an end date"
        elif end < start:
            problem = "The end date is before the start"
        elif max_days and (end - start).days + 1 > max_days:
            problem = f"A period of at most {max_days} days can be shown"
        if problem:
            problems.append(f"{problem}: the {default_label} are shown instead.")
            preset = default_preset
            first_day, last_day = preset_days(preset, today)
        else:
            assert start is not None and end is not None
            first_day, last_day = start, end

    partner = None
    if slug := text("partner"):
        partner = choices.partner(slug)
        if partner is None:
            problems.append(f"There is no partner “{slug}” to filter by: all partners are shown.")
    country = text("country").upper()
    if country and country not in dict(choices.countries):
        problems.append(
            f"No helpline of the directory is in “{text('country')}”: all countries are shown."
        )
        country = ""
    helpline = None
    if public_id := text("helpline"):
        helpline = choices.helpline(public_id)
        if helpline is None:
            problems.append(f"There is no helpline “{public_id}”: all helplines are shown.")
    return ParsedQuery(
        DashboardQuery(
            first_day=first_day,
            last_day=last_day,
            tz=tz,
            preset=preset,
            partner=partner,
            country=country,
            helpline=helpline,
        ),
        problems,
    )


# ------------------------------------------------------------------ table views


@dataclass(frozen=True)
class TableOptions:
    """How the page's breakdown tables are sorted and which show every row, from
    `sort=<table>:<column>` (a leading "-" on the column: descending) and `all=<table>`."""

    sort: Mapping[str, str] = field(default_factory=dict)
    show_all: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, data: Any) -> "TableOptions":
        getlist = getattr(data, "getlist", None)
        sorts = getlist("sort") if getlist else [data.get("sort", "")]
        shown = getlist("all") if getlist else [data.get("all", "")]
        parsed = {}
        for value in sorts:
            table, _, column = str(value).partition(":")
            if table and column:
                parsed[table] = column
        return cls(sort=parsed, show_all=frozenset(str(name) for name in shown if name))

    def params(self) -> list[tuple[str, str]]:
        return [("sort", f"{table}:{column}") for table, column in sorted(self.sort.items())] + [
            ("all", name) for name in sorted(self.show_all)
        ]

    def with_sort(self, table: str, column: str) -> "TableOptions":
        return replace(self, sort={**self.sort, table: column})

    def with_all(self, table: str) -> "TableOptions":
        return replace(self, show_all=self.show_all | {table})
