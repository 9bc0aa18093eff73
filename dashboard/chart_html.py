"""The dashboard's responsive chart markup (x as a percentage of the plot, y in pixels),
written out in Python.

A page such as the load page draws two charts per priority helpline, 24 and 168 hourly
columns each: as a template loop that was some 17,000 template nodes and three quarters of
the page's time. Numbers are written as Python writes them, never localised (an SVG
coordinate takes a dot whatever the language; a template variable would have followed
the locale). Text goes through `escape`. Geometry stays in `dashboard.charts`; an hourly
chart's places, shared by every chart of as many hours, are written once per process.
"""

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from django.utils.safestring import SafeString, mark_safe

from dashboard.charts import Chart, HourlyBars, _hourly_layout, count_text, hour_text

# Numbers go into the markup as f-strings write them, which is str(): `12.5`, `224`, never
# `12,5`.


def _add(value: int, extra: int) -> str:
    """`{{ value|add:'extra' }}` for the integer geometry it is used on."""
    return str(int(value) + extra)


@functools.lru_cache(maxsize=256)
def _css(name: str) -> str:
    """A class attribute's value, escaped; a page's charts use a handful of them."""
    return escape(name)


@functools.lru_cache(maxsize=1024)
def _hour_text(hour: str) -> str:
    """An hour as a title starts, escaped: a page's charts share their hours."""
    return escape(hour)


@functools.lru_cache(maxsize=8192)
def _percent_text(part: float, whole: float) -> str:
    """`part` of `whole` as the percentage an x or a width is written in; a page's charts
    share their positions, so each is written once."""
    return f"{round(part / whole * 100, 3):g}"


@functools.cache
def _hourly_places(
    count: int, left: int, right: int, top: int, column_height: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """An hourly chart's `count` places as markup, the same for every chart of as many
    hours (a load page draws sixteen): each bar's opening up to its position and width,
    and each hover column's opening tags up to its title's text."""
    bar_width, places = _hourly_layout(count, left, right)
    whole = right - left
    width = _percent_text(bar_width, whole)
    bars = tuple(
        f'<rect x="{_percent_text(bar_x - left, whole)}%" width="{width}%"'
        for bar_x, _, _ in places
    )
    columns = tuple(
        f'<rect class="hover" x="{_percent_text(column_x - left, whole)}%" y="{top}"'
        f' width="{_percent_text(column_width, whole)}%" height="{column_height}"><title>'
        for _, column_x, column_width in places
    )
    return bars, columns


def _hourly_layers(hourly: HourlyBars, top: int, column_height: str) -> tuple[list[str], list[str]]:
    """The bars and the hover columns of an hourly chart, each hour's place followed by
    the markup of its count, written once per distinct count."""
    bar_places, column_places = _hourly_places(
        hourly.count, hourly.left, hourly.right, top, column_height
    )

    def bar_end(css: str, bar_top: float, height: float) -> str:
        return f' class="{_css(css)}" y="{bar_top}" height="{height}" rx="1"/>'

    ends, words = {}, {}
    for clicks, look in hourly.looks.items():
        ends[clicks] = bar_end(look.css, look.top, look.height)
        words[clicks] = f"{escape(look.words)}</title></rect>"
    counts = hourly.counts
    bars = [place + ends[clicks] for place, clicks in zip(bar_places, counts, strict=True)]
    columns = [
        f"{place}{_hour_text(hour)}{words[clicks]}"
        for place, hour, clicks in zip(column_places, hourly.hours, counts, strict=True)
    ]
    if hourly.so_far:  # the current hour, drawn apart
        css, bar_top, height, title = hourly.look(hourly.count - 1)
        bars[-1] = bar_places[-1] + bar_end(css, bar_top, height)
        columns[-1] = f"{column_places[-1]}{escape(title)}</title></rect>"
    return bars, columns


def render_chart(chart: Chart) -> SafeString:
    left, whole = chart.plot_left, chart.plot_right - chart.plot_left

    def x(value: float) -> str:  # a position, as a percentage of the plot's width
        return _percent_text(value - left, whole)

    def w(value: float) -> str:  # a width, likewise
        return _percent_text(value, whole)

    height = str(chart.height)
    label = escape(chart.label)
    parts: list[str] = [
        '<figure class="chart-figure">\n<div class="chart-frame">\n',
        f'  <svg class="chart-axis" width="52" height="{height}" aria-hidden="true">\n    ',
    ]
    parts += (
        f'<text class="axis-label" x="46" y="{t.position}" dy="4" text-anchor="end">'
        f"{escape(t.label)}</text>"
        for t in chart.y_ticks
    )
    parts.append(
        f'\n  </svg>\n  <svg class="chart-plot" width="100%" height="{height}" role="img"'
        f' aria-label="{label}" xmlns="http://www.w3.org/2000/svg">\n    '
    )
    label_y = _add(chart.plot_bottom, 20)
    top, column_height = str(chart.plot_top), _add(chart.plot_bottom, -16)
    threshold = chart.threshold and str(chart.threshold.position)
    bars: Iterable[str] = (
        f'<rect class="{_css(b.css)}" x="{x(b.x)}%" y="{b.y}" width="{w(b.width)}%"'
        f' height="{b.height}" rx="1"/>'
        for b in chart.bars
    )
    columns: Iterable[str] = (
        f'<rect class="hover" x="{x(c.x)}%" y="{top}" width="{w(c.width)}%"'
        f' height="{column_height}"><title>{escape(c.title)}</title></rect>'
        for c in chart.columns
    )
    if chart.hourly is not None:
        bars, columns = _hourly_layers(chart.hourly, chart.plot_top, column_height)
    # The plot's layers, bottom to top, each on a line of its own.
    layers = (
        (
            f'<line class="grid" x1="0" x2="100%" y1="{t.position}" y2="{t.position}"/>'
            for t in chart.y_ticks
        ),
        bars,
        (
            f'<line class="{escape(css)}" x1="{x(x1)}%" y1="{y1}" x2="{x(x2)}%" y2="{y2}"/>'
            for x1, y1, x2, y2, css in chart.segments
        ),
        (
            f'<circle class="{escape(css)}" cx="{x(cx)}%" cy="{cy}" r="3"/>'
            for cx, cy, css in chart.dots
        ),
        [f'<line class="threshold" x1="0" x2="100%" y1="{threshold}" y2="{threshold}"/>']
        if threshold
        else [],
        (
            f'<text class="axis-label{" minor" if t.minor else ""}" x="{x(t.position)}%"'
            f' y="{label_y}" text-anchor="middle">{escape(t.label)}</text>'
            for t in chart.x_labels
        ),
        columns,
    )
    parts.append("\n    ".join("".join(layer) for layer in layers))
    parts.append(
        '\n  </svg>\n  <svg class="chart-axis" width="52" '
        f'height="{height}" aria-hidden="true">\n    '
    )
    parts += (
        f'<text class="axis-label" x="6" y="{t.position}" dy="4" text-anchor="start">'
        f"{escape(t.label)}</text>"
        for t in chart.y2_ticks
    )
    parts.append('\n  </svg>\n</div>\n<figcaption><ul class="legend">')
    parts += (
        f'<li class="{escape(css)}"><span class="swatch" aria-hidden="true"></span>'
        f"{escape(text)}</li>"
        for css, text in chart.legend
    )
    parts.append("</ul>")
    if chart.note:
        parts.append(f'<p class="muted chart-note">{escape(chart.note)}</p>')
    parts.append("</figcaption>\n</figure>\n")
    # Every value above is escaped or a number.
    return mark_safe("".join(parts))


def render_hour_rows(hours: Sequence[tuple[datetime, int]], capacity: int | None) -> SafeString:
    """The rows of the table beside an hourly chart: the hour, its clicks, and a flag when
    they are over `capacity`. The markup of the template loop it replaced, to the byte."""
    flag = '<span class="flag flag-over">over</span>'
    return mark_safe(
        "".join(
            f'<tr><th scope="row">{hour_text(hour)}</th><td class="n">{count_text(clicks)}</td>'
            f"<td>{flag if capacity is not None and clicks > capacity else ''}</td></tr>"
            for hour, clicks in hours
        )
    )
