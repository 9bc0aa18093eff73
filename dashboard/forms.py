"""The dashboard's filters, kept in the URL so that a view can be shared.

A period is a range of calendar days (both ends inclusive) in the viewer's time zone,
chosen by a preset or by `start`/`end`; its previous period is the same number of days
just before it.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from events.metrics import EventFilter
from helplines.models import Helpline, Partner, country_name

# The longest period a page shows: a year and a day, so "last 365 days" of a leap year fits.
MAX_PAGE_DAYS = 366


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


@cache
def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(zoneinfo.available_timezones() - {"localtime"})
    return [("UTC", "UTC"), *((name, name) for name in names if name != "UTC")]


def preset_days(preset: str, today: date) -> tuple[date, date]:
    """The first and last day of a preset period ending today (or last month)."""
    if preset == Preset.MONTH_TO_DATE:
        return today.replace(day=1), today
    if preset == Preset.LAST_MONTH:
        last_day = today.replace(day=1) - timedelta(days=1)
        return last_day.replace(day=1), last_day
    if preset == Preset.LAST_QUARTER:  # the last whole calendar quarter: Jan-Mar, Apr-Jun, ...
        quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        last_day = quarter_start - timedelta(days=1)
        return last_day.replace(month=(last_day.month - 1) // 3 * 3 + 1, day=1), last_day
    length = {Preset.LAST_7: 7, Preset.LAST_90: 90}.get(preset, 30)
    return today - timedelta(days=length - 1), today


@dataclass(frozen=True, kw_only=True)
class DashboardQuery:
    """What a page or an export shows: a period in a time zone and optional narrowing."""

    first_day: date
    last_day: date
    tz: ZoneInfo
    preset: str = Preset.LAST_30
    partner: Partner | None = None
    country: str = ""
    helpline: Helpline | None = None

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def event_filter(self, **overrides: Any) -> EventFilter:
        narrowing: dict[str, Any] = {
            "partner_ids": frozenset({self.partner.pk}) if self.partner else frozenset(),
            "helpline_ids": frozenset({self.helpline.pk}) if self.helpline else frozenset(),
            "countries": frozenset({self.country}) if self.country else frozenset(),
        } | overrides
        return EventFilter.for_days(self.first_day, self.last_day, self.tz, **narrowing)

    def previous(self) -> "DashboardQuery":
        """The same number of days just before this period."""
        last_day = self.first_day - timedelta(days=1)
        return DashboardQuery(
            first_day=last_day - timedelta(days=self.days - 1),
            last_day=last_day,
            tz=self.tz,
            preset=Preset.CUSTOM,
            partner=self.partner,
            country=self.country,
            helpline=self.helpline,
        )

    def params(self, *, with_partner: bool = True) -> dict[str, str]:
        """The URL parameters that reproduce this query (for export buttons and links)."""
        params = {
            "start": self.first_day.isoformat(),
            "end": self.last_day.isoformat(),
            "tz": str(self.tz),
        }
        if self.partner and with_partner:
            params["partner"] = self.partner.slug
        if self.country:
            params["country"] = self.country
        if self.helpline:
            params["helpline"] = self.helpline.public_id
        return params

    def query_string(self, *, with_partner: bool = True) -> str:
        return urlencode(self.params(with_partner=with_partner))

    def describe(self) -> list[tuple[str, str]]:
        """The filters in words, for the top of each CSV file."""
        return [
            ("start", self.first_day.isoformat()),
            ("end", self.last_day.isoformat()),
            ("partner", self.partner.slug if self.partner else "all"),
            ("country", self.country or "all"),
            ("helpline", self.helpline.public_id if self.helpline else "all"),
        ]


class DashboardFilterForm(forms.Form):
    """Every dashboard filter; an empty form means the last 30 days in UTC, everything."""

    range = forms.ChoiceField(choices=Preset.CHOICES, required=False, label="Period")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All partners",
    )
    country = forms.ChoiceField(required=False)
    helpline = forms.ModelChoiceField(
        queryset=Helpline.objects.order_by("name", "public_id"),
        to_field_name="public_id",
        required=False,
        empty_label="All helplines",
    )
    tz = forms.ChoiceField(required=False, label="Time zone")

    def __init__(self, *args: Any, max_days: int | None = MAX_PAGE_DAYS, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"range": Preset.LAST_30, "tz": "UTC"})
        super().__init__(*args, **kwargs)
        self.max_days = max_days
        tz_field, country_field = self.fields["tz"], self.fields["country"]
        assert isinstance(tz_field, forms.ChoiceField)
        assert isinstance(country_field, forms.ChoiceField)
        tz_field.choices = timezone_choices()
        country_field.choices = _country_choices_once()

    def clean_tz(self) -> ZoneInfo:
        return ZoneInfo(self.cleaned_data.get("tz") or "UTC")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        preset = cleaned.get("range") or (Preset.CUSTOM if start or end else Preset.LAST_30)
        if preset == Preset.CUSTOM:
            if not start or not end:
                raise forms.ValidationError(
                    "A custom period needs both a start and an end date.", code="incomplete"
                )
            if end < start:
                raise forms.ValidationError("The end date is before the start.", code="reversed")
            if self.max_days and (end - start).days + 1 > self.max_days:
                raise forms.ValidationError(
                    f"Choose at most {self.max_days} days.", code="too_long"
                )
        cleaned["range"] = preset
        return cleaned

    def query(self, *, now: datetime | None = None) -> DashboardQuery:
        """The query of a valid form; the default period when the form is not valid."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        tz = data.get("tz") or ZoneInfo("UTC")
        preset = data.get("range") or Preset.LAST_30
        if preset == Preset.CUSTOM:
            first_day, last_day = data["start"], data["end"]
        else:
            today = (now or timezone.now()).astimezone(tz).date()
            first_day, last_day = preset_days(preset, today)
        return DashboardQuery(
            first_day=first_day,
            last_day=last_day,
            tz=tz,
            preset=preset,
            partner=data.get("partner"),
            country=data.get("country") or "",
            helpline=data.get("helpline"),
        )


def _country_choices_once() -> Any:
    """The directory's countries as choices: one query, run when first needed (never at
    import time) and reused for validation and rendering of the same form."""
    cached: list[tuple[str, str]] = []

    def choices() -> list[tuple[str, str]]:
        if not cached:
            codes = (
                Helpline.objects.order_by("country_code")
                .values_list("country_code", flat=True)
                .distinct()
            )
            cached.append(("", "All countries"))
            cached.extend((code, f"{country_name(code)} ({code})") for code in codes)
        return cached

    return choices


class BillingForm(forms.Form):
    """billing.csv: one calendar month, optionally one partner."""

    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=True)
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.all(), to_field_name="slug", required=False
    )

    def clean_month(self) -> date:
        year, month = self.cleaned_data["month"].split("-")
        return date(int(year), int(month), 1)
