"""How figures read on the dashboard: grouped integers, percentages, signed changes."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache

from django import template
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dashboard.chart_html import render_chart, render_hour_rows
from dashboard.charts import Chart, count_text
from dashboard.query import timezone_names

register = template.Library()

# Shown where a ratio is undefined (0 denominator); the CSVs leave such cells empty.
EMPTY = "\N{EN DASH}"


@register.filter
def num(value: int | None) -> str:
    if value is None:
        return EMPTY
    if type(value) is int:  # a count: the same text as number_format's, at a tenth of its cost
        return count_text(value)
    return number_format(value, force_grouping=True)


@register.filter
def percent(value: Decimal | float | None, digits: int = 2) -> str:
    if value is None:
        return EMPTY
    return f"{float(value) * 100:.{digits}f}%"


@register.filter
def change(value: float | None) -> str:
    """A relative change with its sign: +12.3%, -4.0%, or a dash when not comparable."""
    if value is None:
        return EMPTY
    return f"{value * 100:+.1f}%"


# Chart colours as SVG presentation attributes, for the impact report: PDF renderers do not
# apply the page's stylesheet inside an SVG, and an attribute is no inline style under CSP.
PAINT = {
    "bar-displays": "#417690",
    "bar-clicks": "#e8833a",
    "bar-over": "#c62828",
    "bar-test": "#9c8ccf",
    "bar-partial": "#9fbfd0",
    "dot-clicks": "#e8833a",
    "line-clicks": "#e8833a",
    "line-previous": "#8a8a8a",
    "grid": "#dddddd",
    "axis-label": "#666666",
}


@register.filter
def paint(css_class: str) -> str:
    """The colour a chart element of `css_class` is drawn in (black when unknown)."""
    return PAINT.get(css_class, "#000000")


@register.filter
def chart_svg(chart: Chart) -> SafeString:
    """A chart in the dashboard's responsive drawing (dashboard/chart_html.py)."""
    return render_chart(chart)


@register.simple_tag
def hour_rows(hours: Sequence[tuple[datetime, int]], capacity: int | None) -> SafeString:
    """The rows of an hourly chart's table (dashboard/chart_html.py)."""
    return render_hour_rows(hours, capacity)


@register.simple_tag
def tz_datalist() -> SafeString:
    """The time zone field's suggestions: every IANA zone, UTC first (`#tz-names`)."""
    return _tz_datalist()


@cache
def _tz_datalist() -> SafeString:
    # Some 600 options: written once per process, not looped over on every page.
    options = "".join(f'<option value="{escape(name)}">' for name in timezone_names())
    return mark_safe(f'<datalist id="tz-names">{options}</datalist>')  # names escaped
