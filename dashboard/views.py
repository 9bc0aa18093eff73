"""The analytics pages and CSV exports: parse the filter state, call `pages`/`exports`,
render. Staff reach them here (`dashboard_view`); a partner user reaches their own partner's
copies through accounts/partner_views.py, which calls the same functions with the partner
from their membership (`own`, `own_partner`)."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.admin_look import admin_look
from dashboard import exports, pages
from dashboard.forms import BillingForm, last_complete_month
from dashboard.pdf import html_to_pdf
from dashboard.query import (
    DashboardQuery,
    FilterChoices,
    ParsedQuery,
    Preset,
    TableOptions,
    parse_query,
)
from helplines.models import Helpline, Partner

# Staff see the dashboard when they may view events: superusers, and the Analysts group.
DASHBOARD_PERMISSION = "events.view_event"
# The group that grants it (dashboard/migrations/0001_analysts_group.py).
ANALYSTS_GROUP = "Analysts"

# The load page reloads itself this often (a meta refresh: no script needed); the figures
# move with the rollup, every minute or so.
LOAD_REFRESH_SECONDS = 120


def dashboard_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Staff only (anonymous users go to the admin login), with the view-events permission;
    staff without it get a page saying what is missing and who grants it."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(DASHBOARD_PERMISSION):
            response = _page(
                request,
                "dashboard/forbidden.html",
                "No access to the analytics",
                {"group": ANALYSTS_GROUP, "permission": DASHBOARD_PERMISSION},
            )
            response.status_code = 403
            return response
        return view(request, *args, **kwargs)

    return staff_member_required(wrapped)


def _page(request: HttpRequest, template: str, title: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, admin_look(request) | {"title": title} | context)


def _filter_context(
    parsed: ParsedQuery, choices: FilterChoices, *, view_name: str, view_args: tuple = ()
) -> dict[str, Any]:
    """What the filter form, the tabs and every link of a page are rendered from."""
    return {
        "problems": parsed.problems,
        "choices": choices,
        "presets": Preset.CHOICES,
        "view_name": view_name,
        "view_args": view_args,
    }


def _billing_month(now: datetime) -> str:
    return f"{last_complete_month(now):%Y-%m}"


def parse_request_query(
    request: HttpRequest, *, own_partner: Partner | None = None, **kwargs: Any
) -> ParsedQuery:
    """The filter state a request asks for. On a partner user's own pages (`own_partner`,
    from their membership) the partner is theirs whatever the URL says: a `partner` in the
    query string is not even read (naming another partner changes nothing, not even an
    error message, which would tell that it exists), and days default to their billing
    time zone."""
    if own_partner is None:
        return parse_query(request.GET, **kwargs)
    data = request.GET.copy()
    data.pop("partner", None)
    parsed = parse_query(data, default_tz=own_partner.billing_timezone, **kwargs)
    parsed.query = replace(parsed.query, partner=own_partner)
    return parsed


def own_page(
    request: HttpRequest, template: str, title: str, context: dict[str, Any]
) -> HttpResponse:
    """A partner user's page: the partner chrome (templates/partner/base.html) instead of
    the admin's, and `partner_view`, which keeps every link on the partner's own URLs."""
    return render(
        request,
        template,
        {"title": title, "base_template": "partner/base.html", "partner_view": True} | context,
    )


PageBuilder = Callable[[DashboardQuery, TableOptions, datetime], dict[str, Any]]


def _analytics_page(
    request: HttpRequest,
    *,
    build: PageBuilder,
    template: str,
    title: str,
    view_name: str,
    view_args: tuple[str, ...] = (),
    active_tab: str,
    narrow: dict[str, Any] | None = None,
    own_partner: Partner | None = None,
) -> HttpResponse:
    """Every analytics page: the filter state (narrowed to the page's partner or helpline),
    the figures `build` assembles, and the page around them: the staff dashboard's, or the
    partner chrome for a partner user reading their own (`own_partner`)."""
    now, choices = timezone.now(), FilterChoices()
    parsed = parse_request_query(request, own_partner=own_partner, now=now, choices=choices)
    query = replace(parsed.query, **(narrow or {}))
    options = TableOptions.parse(request.GET)
    tz_now = now if own_partner is None else now.astimezone(ZoneInfo(own_partner.billing_timezone))
    context = (
        _filter_context(parsed, choices, view_name=view_name, view_args=view_args)
        | {"active_tab": active_tab, "options": options, "billing_month": _billing_month(tz_now)}
        | build(query, options, now)
    )
    if own_partner is not None:
        return own_page(request, template, title, context)
    return _page(request, template, title, context)


@dashboard_view
def overview(request: HttpRequest) -> HttpResponse:
    return _analytics_page(
        request,
        build=lambda query, options, now: pages.overview(query, now=now, options=options),
        template="dashboard/overview.html",
        title="Analytics",
        view_name="dashboard:overview",
        active_tab="overview",
    )


def partner_analytics(request: HttpRequest, partner: Partner, *, own: bool) -> HttpResponse:
    """The partner page, one implementation for both readers: staff, who reach any partner
    by its slug, and the partner's own users (`own`: the partner from their membership),
    who see the same figures without the integration health (a page of its own for them)."""

    def build(query: DashboardQuery, options: TableOptions, now: datetime) -> dict[str, Any]:
        return pages.partner_page(query, partner, now=now, options=options, with_health=not own)

    return _analytics_page(
        request,
        build=build,
        template="dashboard/partner.html",
        title="Analytics" if own else f"{partner.name}: analytics",
        view_name="partner:home" if own else "dashboard:partner",
        view_args=() if own else (partner.slug,),
        active_tab="partner",
        narrow={"partner": partner},
        own_partner=partner if own else None,
    )


@dashboard_view
def partner_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return partner_analytics(request, get_object_or_404(Partner, slug=slug), own=False)


@dashboard_view
def helpline_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """One helpline: reached from every place the dashboard names a helpline."""
    helpline = get_object_or_404(Helpline, public_id=public_id)

    def build(query: DashboardQuery, options: TableOptions, now: datetime) -> dict[str, Any]:
        return pages.helpline_page(query, helpline, now=now, options=options)

    return _analytics_page(
        request,
        build=build,
        template="dashboard/helpline.html",
        title=f"{helpline.name}: analytics",
        view_name="dashboard:helpline",
        view_args=(helpline.public_id,),
        active_tab="helpline",
        narrow={"helpline": helpline},
    )


def _report_query(request: HttpRequest, partner: Partner, *, own: bool) -> ParsedQuery:
    """The report's period: the last whole quarter unless another one is asked for (any
    length); the whole of the partner's traffic, whatever other filter the link carried."""
    parsed = parse_request_query(
        request,
        own_partner=partner if own else None,
        now=timezone.now(),
        max_days=None,
        default_preset=Preset.LAST_QUARTER,
    )
    parsed.query = replace(parsed.query, partner=partner, country="", helpline=None)
    return parsed


def impact_report(request: HttpRequest, partner: Partner, *, own: bool) -> HttpResponse:
    """The impact report: made to be read, printed and handed to stakeholders. The same
    page for staff and for the partner's own users (`own`: its links stay on /partner/)."""
    parsed = _report_query(request, partner, own=own)
    context = pages.impact_report(parsed.query, partner, now=timezone.now())
    return render(
        request,
        "dashboard/report.html",
        {
            "problems": parsed.problems,
            "presets": Preset.CHOICES,
            "pdf": False,
            "partner_view": own,
        }
        | context,
    )


def impact_report_pdf(request: HttpRequest, partner: Partner, *, own: bool) -> HttpResponse:
    """The impact report as a PDF download: the same page, the same figures."""
    parsed = _report_query(request, partner, own=own)
    if parsed.problems:
        return bad_request(parsed.problems)
    query = parsed.query
    context = pages.impact_report(query, partner, now=timezone.now())
    html = render_to_string("dashboard/report.html", {"pdf": True} | context, request=request)
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    filename = f"impact-{partner.slug}-{query.first_day}-{query.last_day}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dashboard_view
def partner_report(request: HttpRequest, slug: str) -> HttpResponse:
    return impact_report(request, get_object_or_404(Partner, slug=slug), own=False)


@dashboard_view
def partner_report_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    return impact_report_pdf(request, get_object_or_404(Partner, slug=slug), own=False)


@dashboard_view
def load(request: HttpRequest) -> HttpResponse:
    now, choices = timezone.now(), FilterChoices()
    parsed = parse_query(request.GET, now=now, choices=choices)
    context = pages.load(now=now, tz=parsed.query.tz)
    return _page(
        request,
        "dashboard/load.html",
        "Load on priority helplines",
        _filter_context(parsed, choices, view_name="dashboard:load")
        | {
            "active_tab": "load",
            "query": parsed.query,
            "refresh_seconds": LOAD_REFRESH_SECONDS,
        }
        | context,
    )


@dashboard_view
def load_csv(request: HttpRequest) -> HttpResponseBase:
    """The load page's table: one row per priority helpline."""
    now = timezone.now()
    parsed = parse_query(request.GET, now=now)
    if parsed.problems:
        return bad_request(parsed.problems)
    tz = parsed.query.tz
    context = pages.load(now=now, tz=tz)
    return _csv_response(
        f"load-{context['window_end']:%Y-%m-%dT%H%M}"
        + ("" if str(tz) == "UTC" else f"-{str(tz).replace('/', '_')}")
        + ".csv",
        exports.stream_csv(
            title="Throughline load on priority helplines: clicks per clock hour, live traffic",
            metadata=[
                ("hours up to", f"{context['window_end']:%Y-%m-%d %H:%M}"),
                ("time zone", str(tz)),
                ("test traffic", "excluded"),
            ],
            header=exports.LOAD_COLUMNS,
            rows=exports.load_rows(context["loads"]),
            generated_at=now.astimezone(tz),
        ),
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
def paired_csv(request: HttpRequest) -> HttpResponseBase:
    """Paired services per UTC day and partner, for compliance reviews (counts only)."""
    parsed = parse_query(request.GET, now=timezone.now(), max_days=None)
    if parsed.problems:
        return bad_request(parsed.problems)
    query = parsed.query
    return _csv_response(
        query.filename("paired"),
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


REPORT_TITLE = "Throughline report: displays, clicks and sessions per day, partner and helpline"
EVENTS_TITLE = "Throughline raw events"


def report_export(request: HttpRequest, own_partner: Partner | None = None) -> HttpResponseBase:
    """report.csv of the request's filters; a partner user's (`own_partner`) is theirs."""
    return _filtered_export(
        request, name="report", title=REPORT_TITLE, write=exports.report_csv, own=own_partner
    )


def events_export(request: HttpRequest, own_partner: Partner | None = None) -> HttpResponseBase:
    """events.csv of the request's filters; a partner user's (`own_partner`) is theirs."""
    return _filtered_export(
        request, name="events", title=EVENTS_TITLE, write=exports.events_csv, own=own_partner
    )


@dashboard_view
def report_csv(request: HttpRequest) -> HttpResponseBase:
    return report_export(request)


@dashboard_view
def events_csv(request: HttpRequest) -> HttpResponseBase:
    return events_export(request)


def _filtered_export(
    request: HttpRequest,
    *,
    name: str,
    title: str,
    write: Callable[..., Iterator[str] | Iterator[bytes]],
    own: Partner | None,
) -> HttpResponseBase:
    """A CSV of the page's filters: the filters, time zone and generation time come first.
    A parameter that does not parse is refused: a file must hold what was asked for."""
    parsed = parse_request_query(request, own_partner=own, now=timezone.now(), max_days=None)
    if parsed.problems:
        return bad_request(parsed.problems)
    query = parsed.query
    return _csv_response(
        query.filename(name),
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
        return bad_request([form.errors.as_text()])
    return billing_export(form.cleaned_data["month"], form.cleaned_data["partner"])


def billing_export(month: date, partner: Partner | None) -> StreamingHttpResponse:
    """billing.csv of a month, every partner or one: staff's, and a partner user's
    statement (their partner), the same rows from `exports.billing_rows`."""
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


def bad_request(problems: list[str]) -> HttpResponse:
    return HttpResponse("\n".join(problems), status=400, content_type="text/plain; charset=utf-8")


def _csv_response(filename: str, content: Iterator[str] | Iterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
