"""The partner users' pages under /partner/, each scoped to the signed-in user's partner.

`partner_page` is the one place a partner page learns its partner: from the user's
membership, never from the URL, the query string or the form. The analytics, the impact
report and the exports are the staff dashboard's own code (dashboard/views.py) called with
this partner fixed; the statement is staff's billing.csv row of this partner.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from accounts.partners import membership_of
from dashboard import exports, views
from dashboard.forms import MonthForm, last_complete_month
from events.statements import closes_at, next_month
from helplines.models import Partner

PartnerView = Callable[..., HttpResponseBase]

# The partner pages' navigation (templates/partner/base.html), in order: URL name, label.
PARTNER_NAV: list[tuple[str, str]] = [
    ("partner:home", "Analytics"),
    ("partner:statement", "Statement"),
    ("partner:report", "Impact report"),
    ("partner:integration", "Integration"),
    ("partner:keys", "Keys"),
]


def partner_page(view: PartnerView) -> Callable[..., HttpResponseBase]:
    """Calls `view(request, partner, ...)` for a signed-in partner user of an active partner.

    Anonymous users sign in first; staff and everyone else get 403 (staff read partners on
    the staff dashboard); a deactivated partner's users get 403 as well.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        membership = membership_of(request.user)
        if membership is None or not membership.partner.is_active:
            raise PermissionDenied("Partner users only.")
        return view(request, membership.partner, *args, **kwargs)

    return wrapped


@partner_page
def home(request: HttpRequest, partner: Partner) -> HttpResponse:
    """Where a partner user lands after signing in: their analytics, the staff partner page
    with their partner fixed."""
    return views.partner_analytics(request, partner, own=True)


@partner_page
def report(request: HttpRequest, partner: Partner) -> HttpResponse:
    return views.impact_report(request, partner, own=True)


@partner_page
def report_pdf(request: HttpRequest, partner: Partner) -> HttpResponse:
    return views.impact_report_pdf(request, partner, own=True)


@partner_page
def export_report(request: HttpRequest, partner: Partner) -> HttpResponseBase:
    return views.report_export(request, own_partner=partner)


@partner_page
def export_events(request: HttpRequest, partner: Partner) -> HttpResponseBase:
    return views.events_export(request, own_partner=partner)


@dataclass(frozen=True)
class Statement:
    """One month's billing.csv row of the partner, as the statement page shows it."""

    cells: dict[str, str]  # BILLING_COLUMNS to the CSV's own text

    def number(self, column: str) -> int:
        return int(self.cells[column])

    def ratio(self, column: str) -> Decimal | None:
        return Decimal(self.cells[column]) if self.cells[column] else None

    def figures(self) -> list[tuple[str, int | Decimal | None, bool]]:
        """(label, value, is_ratio) in the CSV's order."""
        return [
            ("Displays", self.number("displays"), False),
            ("Clicks", self.number("clicks"), False),
            ("CTR", self.ratio("ctr"), True),
            ("Sessions reached", self.number("sessions_reached"), False),
            ("Sessions converted", self.number("sessions_converted"), False),
            ("Conversion rate", self.ratio("conversion_rate"), True),
        ]


def _default_month(partner: Partner, now: datetime) -> date:
    """The last month over in the partner's billing time zone."""
    return last_complete_month(now.astimezone(ZoneInfo(partner.billing_timezone)))


def _this_month(partner: Partner, now: datetime) -> date:
    return now.astimezone(ZoneInfo(partner.billing_timezone)).date().replace(day=1)


@partner_page
def statement(request: HttpRequest, partner: Partner) -> HttpResponse:
    """The partner's monthly statement: its billing.csv row for a month, open (the figures
    so far) or closed (stored, with the date it closed and its SHA-256)."""
    now = timezone.now()
    month, problems = _default_month(partner, now), []
    if given := request.GET.get("month", "").strip():
        form = MonthForm({"month": given})
        if not form.is_valid():
            problems.append(f"“{given}” is not a month (year-month, e.g. {month:%Y-%m}).")
        elif form.cleaned_data["month"] > _this_month(partner, now):
            problems.append(f"{given} has not begun: there is no statement for it yet.")
        else:
            month = form.cleaned_data["month"]
    row = next(exports.billing_rows(month, partner))
    shown = Statement(dict(zip(exports.BILLING_COLUMNS, (str(cell) for cell in row), strict=True)))
    previous = (month - timedelta(days=1)).replace(day=1)
    following = next_month(month)
    return views.own_page(
        request,
        "partner/statement.html",
        "Monthly statement",
        {
            "partner": partner,
            "problems": problems,
            "month": month,
            "statement": shown,
            "figures": shown.figures(),
            "closed": shown.cells["status"] == "closed",
            "closes_at": closes_at(month, ZoneInfo(partner.billing_timezone)),
            "now": now,
            "previous_month": previous,
            "next_month": following if following <= _this_month(partner, now) else None,
        },
    )


@partner_page
def statement_csv(request: HttpRequest, partner: Partner) -> HttpResponseBase:
    """The statement as billing.csv with the partner's one row: the same file staff
    download for this partner and month. Without `month`, the last month over."""
    if not request.GET.get("month"):
        return views.billing_export(_default_month(partner, timezone.now()), partner)
    form = MonthForm(request.GET)
    if not form.is_valid():
        return views.bad_request([form.errors.as_text()])
    return views.billing_export(form.cleaned_data["month"], partner)
