"""Staff analytics pages and CSV exports: parse the filters, call `pages`/`exports`, render."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.admin import site as admin_site
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard import exports, pages
from dashboard.forms import BillingForm, DashboardFilterForm, DashboardQuery, Preset
from dashboard.pdf import html_to_pdf
from helplines.models import Partner

# Staff see the dashboard when they may view events: superusers, and the Analysts group.
DASHBOARD_PERMISSION = "events.view_event"


def dashboard_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Staff only (anonymous users go to the admin login), with the view-events permission."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(DASHBOARD_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_member_required(wrapped)


def _page(request: HttpRequest, template: str, title: str, context: dict[str, Any]) -> HttpResponse:
    # The admin's own context gives the pages its header, navigation and sidebar.
    base = admin_site.each_context(request) | {"is_nav_sidebar_enabled": False}
    return render(request, template, base | {"title": title} | context)


@dashboard_view
def overview(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET or None)
    query = form.query()
    context = pages.overview(query)
    return _page(
        request,
        "dashboard/overview.html",
        "Analytics",
        {"form": form, "active_tab": "overview"} | context,
    )


@dashboard_view
def partner_detail(request: HttpRequest, slug: str) -> HttpResponse:
    partner = get_object_or_404(Partner, slug=slug)
    form = DashboardFilterForm(request.GET or None)
    query = replace(form.query(), partner=partner)
    now = timezone.now()
    context = pages.partner_page(query, partner, now=now)
    return _page(
        request,
        "dashboard/partner.html",
        f"{partner.name}: analytics",
        {"form": form, "now": now, "active_tab": "partner"} | context,
    )


def _report_query(
    request: HttpRequest, partner: Partner
) -> tuple[DashboardFilterForm, DashboardQuery]:
    """The report's period: the last whole quarter unless another one is asked for (any
    length); the whole of the partner's traffic, whatever other filter the link carried."""
    data = request.GET.copy()
    if not any(data.get(name) for name in ("range", "start", "end")):
        data["range"] = Preset.LAST_QUARTER
    form = DashboardFilterForm(data, max_days=None)
    if form.is_valid():
        query = form.query()
    else:
        query = DashboardFilterForm({"range": Preset.LAST_QUARTER, "tz": data.get("tz")}).query()
    return form, replace(query, partner=partner, country="", helpline=None)


@dashboard_view
def partner_report(request: HttpRequest, slug: str) -> HttpResponse:
    """The impact report: made to be read, printed and handed to stakeholders."""
    partner = get_object_or_404(Partner, slug=slug)
    form, query = _report_query(request, partner)
    context = pages.impact_report(query, partner, now=timezone.now())
    return render(request, "dashboard/report.html", {"form": form, "pdf": False} | context)


@dashboard_view
def partner_report_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    """The impact report as a PDF download: the same page, the same figures."""
    partner = get_object_or_404(Partner, slug=slug)
    form, query = _report_query(request, partner)
    if not form.is_valid():
        return _bad_request(form.errors.as_text())
    context = pages.impact_report(query, partner, now=timezone.now())
    html = render_to_string("dashboard/report.html", {"pdf": True} | context, request=request)
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    filename = f"impact-{partner.slug}-{query.first_day}-{query.last_day}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dashboard_view
def paired_csv(request: HttpRequest) -> HttpResponseBase:
    """Paired services per UTC day and partner, for compliance reviews (counts only)."""
    form = DashboardFilterForm(request.GET, max_days=None)
    if not form.is_valid():
        return _bad_request(form.errors.as_text())
    query = form.query()
    return _csv_response(
        f"paired-{query.first_day}-{query.last_day}.csv",
        exports.stream_csv(
            title="Throughline paired services: sessions displaying one service of a pair alone",
            metadata=[
                ("start", query.first_day.isoformat()),
                ("end", query.last_day.isoformat()),
                ("partner", query.partner.slug if query.partner else "all"),
                ("time zone", "UTC (days are UTC days)"),
                ("window", f"{settings.PAIRED_DISPLAY_WINDOW_MINUTES} minutes"),
                ("test traffic", "excluded"),
            ],
            header=exports.PAIRED_COLUMNS,
            rows=exports.paired_rows(query),
            generated_at=timezone.now().astimezone(UTC),
        ),
    )


@dashboard_view
def load(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET or None)
    query = form.query()
    context = pages.load(now=timezone.now(), tz=query.tz)
    return _page(
        request,
        "dashboard/load.html",
        "Load on priority helplines",
        {"form": form, "active_tab": "load"} | context,
    )


@dashboard_view
def partner_ctr_svg(request: HttpRequest, slug: str) -> HttpResponse:
    """The partner's last-30-days CTR chart as an SVG image, for its admin change page."""
    partner = get_object_or_404(Partner, slug=slug)
    chart = pages.partner_ctr_chart(partner, now=timezone.now())
    response = render(request, "dashboard/ctr.svg", {"chart": chart, "partner": partner})
    response["Content-Type"] = "image/svg+xml"
    return response


@dashboard_view
def report_csv(request: HttpRequest) -> HttpResponseBase:
    return _filtered_export(
        request,
        name="report",
        title="Throughline report: displays, clicks and sessions per day, partner and helpline",
        write=exports.report_csv,
    )


@dashboard_view
def events_csv(request: HttpRequest) -> HttpResponseBase:
    return _filtered_export(
        request, name="events", title="Throughline raw events", write=exports.events_csv
    )


def _filtered_export(
    request: HttpRequest,
    *,
    name: str,
    title: str,
    write: Callable[..., Iterator[str] | Iterator[bytes]],
) -> HttpResponseBase:
    """A CSV of the page's filters: the filters, time zone and generation time come first."""
    form = DashboardFilterForm(request.GET, max_days=None)
    if not form.is_valid():
        return _bad_request(form.errors.as_text())
    query = form.query()
    return _csv_response(
        f"{name}-{query.first_day}-{query.last_day}.csv",
        write(
            query,
            title=title,
            metadata=[
                *query.describe(),
                ("time zone", str(query.tz)),
                ("test traffic", "excluded"),
            ],
            generated_at=timezone.now().astimezone(query.tz),
        ),
    )


@dashboard_view
def billing_csv(request: HttpRequest) -> HttpResponseBase:
    form = BillingForm(request.GET)
    if not form.is_valid():
        return _bad_request(form.errors.as_text())
    month, partner = form.cleaned_data["month"], form.cleaned_data["partner"]
    return _csv_response(
        f"billing-{month:%Y-%m}{'-' + partner.slug if partner else ''}.csv",
        exports.stream_csv(
            title="Throughline billing statement",
            metadata=[
                ("month", f"{month:%Y-%m}"),
                ("partner", partner.slug if partner else "all"),
                ("time zone", "each partner's billing time zone (column timezone)"),
                ("test traffic", "excluded"),
            ],
            header=exports.BILLING_COLUMNS,
            rows=exports.billing_rows(month, partner),
            generated_at=timezone.now(),
        ),
    )


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _csv_response(filename: str, content: Iterator[str] | Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
