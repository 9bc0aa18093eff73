"""Chart geometry for the server-rendered SVG charts (drawn by dashboard/chart_html.py and
templates/dashboard/_report_chart.svg.html).

Charts are computed here as plain numbers and rendered by a template: no JavaScript, no
inline style, so they work offline and under the strict Content-Security-Policy. Values
show on hover through SVG <title>; every chart sits next to a table of the same numbers.

Geometry is kept in the units of a WIDTH x HEIGHT drawing (the impact report and the admin's
CTR image draw it as is). The dashboard draws the plot at the page's width instead: x as a
percentage of the plot, y in pixels, text never scaled (`dashboard.chart_html`), so labels
keep their size on a phone and on a wide screen alike.
"""

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from itertools import pairwise
from typing import ClassVar, NamedTuple

from django.utils.formats import number_format

from events.metrics import MetricRow, ratio

WIDTH = 960
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 16, 40


# Bars and columns are tuples: a 7-day chart has 168 of each, and a page draws a dozen.
class Bar(NamedTuple):
    x: float
    y: float
    width: float
    height: float
    css: str


class Column(NamedTuple):
    """A hover target spanning the plot height, with the values of one x position."""

    x: float
    width: float
    title: str


class Look(NamedTuple):
    """How an hour of a given count is drawn: its bar's class, top and height, and the
    words of its title after the hour (": 12 clicks (capacity 10, over)")."""

    css: str
    top: float
    height: float
    words: str


SO_FAR_CSS = " bar-so-far"
SO_FAR_WORDS = " (so far)"


@dataclass(frozen=True, slots=True)
class HourlyBars:
    """An hourly chart's bars and hover columns, one of each per hour, at the places of
    `_hourly_layout(count)`, which every chart of as many hours shares. Kept as each hour's
    text and count, and the look of each distinct count once: a load page draws 16 such
    charts of up to 168 hours whose hours repeat a handful of counts, and a Bar and a
    Column object per hour were a third of the page's time. `bars` and `columns` give them
    as the other charts hold theirs."""

    count: int
    left: int  # the plot's edges, in the drawing's units
    right: int
    hours: tuple[str, ...]  # each hour as hour_text writes it
    counts: tuple[int, ...]  # its clicks
    looks: dict[int, Look]  # by count
    so_far: bool  # the last hour is the current one, drawn apart

    def look(self, index: int) -> tuple[str, float, float, str]:
        """The hour at `index`: its bar's class, top and height, and its title."""
        css, top, height, words = self.looks[self.counts[index]]
        if self.so_far and index == self.count - 1:
            return f"{css}{SO_FAR_CSS}", top, height, f"{self.hours[index]}{SO_FAR_WORDS}{words}"
        return css, top, height, f"{self.hours[index]}{words}"

    @property
    def bars(self) -> list[Bar]:
        bar_width, places = _hourly_layout(self.count, self.left, self.right)
        looks = (self.look(i) for i in range(self.count))
        return [
            Bar(bar_x, top, bar_width, height, css)
            for (bar_x, _, _), (css, top, height, _) in zip(places, looks, strict=True)
        ]

    @property
    def columns(self) -> list[Column]:
        _, places = _hourly_layout(self.count, self.left, self.right)
        return [
            Column(column_x, column_width, self.look(i)[3])
            for i, (_, column_x, column_width) in enumerate(places)
        ]


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str
    minor: bool = False  # left out on narrow screens, where it would touch its neighbours


@dataclass
class Chart:
    label: str  # aria-label: what the chart shows
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (points, css class)
    dots: list[tuple[float, float, str]] = field(default_factory=list)
    threshold: Tick | None = None  # a horizontal line, e.g. hourly capacity
    y_ticks: list[Tick] = field(default_factory=list)
    y2_ticks: list[Tick] = field(default_factory=list)
    x_labels: list[Tick] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, text)
    note: str = ""  # said under the chart, e.g. which bar is a day so far
    # An hourly chart's bars and hover columns (hourly_chart), instead of `bars` and
    # `columns`.
    hourly: HourlyBars | None = None

    def add_bar(
        self, centre: float, width: float, top: float, css: str, bottom: float | None = None
    ) -> None:
        """A bar `width` wide centred on `centre`, from `top` down to `bottom` (the plot's
        bottom unless stacked on another bar)."""
        base = self.plot_bottom if bottom is None else bottom
        self.bars.append(Bar(round(centre - width / 2, 1), top, width, round(base - top, 1), css))

    def add_column(self, centre: float, slot: float, title: str) -> None:
        """The hover target of the x position at `centre`, one `slot` wide."""
        self.columns.append(Column(round(centre - slot / 2, 1), round(slot, 1), title))

    @property
    def segments(self) -> list[tuple[float, float, float, float, str]]:
        """Each line as straight segments (x1, y1, x2, y2, css): a polyline's points cannot
        be percentages, a <line>'s can."""
        found: list[tuple[float, float, float, float, str]] = []
        for points, css in self.lines:
            pairs = [_point(point) for point in points.split()]
            found.extend((a[0], a[1], b[0], b[1], css) for a, b in pairwise(pairs))
        return found

    # The plot's edges in the drawing's units: fixed margins, whatever its size.
    plot_left: ClassVar[int] = LEFT
    plot_top: ClassVar[int] = TOP

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM


def nice_ceiling(value: float) -> float:
    """A round number >= value (1, 2, 2.5, 3, 4, 5, 6, 8 x 10^n)."""
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent  # pragma: no cover - the loop always returns


def nice_axis(peak: float, *, integer: bool = True) -> float:
    """An axis maximum whose four gridline steps are round numbers (whole ones for counts)."""
    step = nice_ceiling(peak / 4)
    if integer:
        step = max(1, math.ceil(step))
    return step * 4


def _ticks(maximum: float, scale_y: "_Scale", fmt: str = "int") -> list[Tick]:
    ticks = []
    for n in range(5):
        value = maximum * n / 4
        if fmt == "percent":
            label = _percent(value)
        elif value % 1:
            label = number_format(round(value, 2), force_grouping=True)
        else:
            label = count_text(int(value))
        ticks.append(Tick(scale_y(value), label))
    return ticks


class _Scale:
    def __init__(self, maximum: float, top: float, bottom: float) -> None:
        self.maximum, self.top, self.bottom = maximum, top, bottom

    def __call__(self, value: float) -> float:
        return round(self.bottom - (self.bottom - self.top) * value / self.maximum, 1)


def _percent(value: float | None) -> str:
    return "\N{EN DASH}" if value is None else f"{value * 100:.2f}%"


def _point(text: str) -> tuple[float, float]:
    x, y = text.split(",")
    return float(x), float(y)


# The widest a bar is drawn: one day of a short period is a bar, not the whole chart.
MAX_BAR = 48


def _x_labels[T](
    items: Sequence[T], centres: Sequence[float], most: int = 12, text: Callable[[T], str] = str
) -> list[Tick]:
    """At most `most` labels, every other one minor (left out on a phone); `text` writes
    the label of an item, called only for the items labelled."""
    step = max(1, math.ceil(len(items) / most))
    return [
        Tick(centres[i], text(items[i]), minor=n % 2 == 1)
        for n, i in enumerate(range(0, len(items), step))
    ]


def _slots(count: int, chart: Chart) -> tuple[float, tuple[float, ...]]:
    """The width of each of `count` x positions and their centres."""
    return _slot_centres(count, chart.plot_left, chart.plot_right)


@functools.cache
def _slot_centres(count: int, left: int, right: int) -> tuple[float, tuple[float, ...]]:
    # Computed once per layout: every chart of a page with as many positions shares it.
    slot = (right - left) / max(count, 1)
    return slot, tuple(round(left + slot * (i + 0.5), 1) for i in range(count))


@functools.cache
def _hourly_layout(
    count: int, left: int, right: int
) -> tuple[float, list[tuple[float, float, float]]]:
    """For `count` hourly bars: their width, and each one's left edge with its hover
    column's left edge and width."""
    slot, centres = _slot_centres(count, left, right)
    bar_width = round(max(slot * 0.8, 1), 1)
    column_width = round(slot, 1)
    places = [
        (round(centre - bar_width / 2, 1), round(centre - slot / 2, 1), column_width)
        for centre in centres
    ]
    return bar_width, places


def daily_chart(
    rows: Sequence[MetricRow],
    previous: Sequence[MetricRow] = (),
    *,
    partial: int | None = None,
    previous_label: str = "previous period",
) -> Chart:
    """Displays as bars (left axis), clicks as a line (right axis), CTR on hover; the
    previous period's displays as a dashed line on the same axis, position for position.

    Rows are days or hours (`MetricRow.day` or `.hour`); `partial` is the index of the row
    still in progress (today, this hour): its bar is drawn apart and said so.
    """
    hourly = any(row.hour for row in rows)
    unit = "hour" if hourly else "day"
    chart = Chart(
        label=f"Displays per {unit} (bars, left axis) and clicks (line, right axis)"
        + (f", displays of the {previous_label} (dashed line)" if previous else ""),
        legend=[("legend-displays", "Displays"), ("legend-clicks", "Clicks")],
    )
    if previous:
        chart.legend.append(("legend-previous", f"Displays, {previous_label}"))
    slot, centres = _slots(len(rows), chart)
    y_displays = _Scale(
        nice_axis(max((r.metrics.displays for r in (*rows, *previous)), default=0)),
        chart.plot_top,
        chart.plot_bottom,
    )
    y_clicks = _Scale(
        nice_axis(max((r.metrics.clicks for r in rows), default=0)),
        chart.plot_top,
        chart.plot_bottom,
    )
    bar_width = round(min(max(slot * 0.7, 1), MAX_BAR), 1)
    points = []
    for index, (row, centre) in enumerate(zip(rows, centres, strict=True)):
        m = row.metrics
        in_progress = index == partial
        chart.add_bar(
            centre,
            bar_width,
            y_displays(m.displays),
            "bar-partial" if in_progress else "bar-displays",
        )
        points.append((centre, y_clicks(m.clicks)))
        title = (
            f"{_when(row)}{' (so far)' if in_progress else ''}: {count_text(m.displays)} displays, "
            f"{count_text(m.clicks)} clicks, CTR {_percent(_float(m.ctr))}"
        )
        if index < len(previous):
            before = previous[index]
            title += (
                f"; {previous_label} ({_when(before)}): {count_text(before.metrics.displays)} "
                f"displays, {count_text(before.metrics.clicks)} clicks"
            )
        chart.add_column(centre, slot, title)
    if previous:
        earlier = [
            (centre, y_displays(row.metrics.displays))
            for row, centre in zip(previous, centres, strict=False)
        ]
        chart.lines.append((" ".join(f"{x},{y}" for x, y in earlier), "line-previous"))
    chart.lines.append((" ".join(f"{x},{y}" for x, y in points), "line-clicks"))
    if len(rows) <= 45:
        chart.dots.extend((x, y, "dot-clicks") for x, y in points)
    if partial is not None:
        chart.legend.append(("legend-partial", f"This {unit} so far"))
        chart.note = f"The lighter bar is this {unit} so far: it is not over yet."
    chart.y_ticks = _ticks(y_displays.maximum, y_displays)
    chart.y2_ticks = _ticks(y_clicks.maximum, y_clicks)
    labels = [_hour_label(r.hour, len(rows)) if hourly else _short_day(r.day) for r in rows]
    chart.x_labels = _x_labels(labels, centres)
    return chart


def ctr_chart(rows: Sequence[MetricRow]) -> Chart:
    """CTR per day as a line, for the partner's change page in the admin."""
    chart = Chart(label="Click-through rate per day", legend=[("legend-clicks", "CTR")])
    slot, centres = _slots(len(rows), chart)
    rates = [_float(r.metrics.ctr) for r in rows]
    y = _Scale(
        nice_axis(max((r or 0 for r in rates), default=0), integer=False),
        chart.plot_top,
        chart.plot_bottom,
    )
    points = [(c, y(r or 0)) for c, r in zip(centres, rates, strict=True)]
    chart.lines.append((" ".join(f"{x},{yy}" for x, yy in points), "line-clicks"))
    chart.dots.extend((x, yy, "dot-clicks") for x, yy in points)
    for row, centre, rate in zip(rows, centres, rates, strict=True):
        chart.add_column(
            centre,
            slot,
            f"{_day(row.day)}: CTR {_percent(rate)} "
            f"({count_text(row.metrics.clicks)} clicks / "
            f"{count_text(row.metrics.displays)} displays)",
        )
    chart.y_ticks = _ticks(y.maximum, y, fmt="percent")
    chart.x_labels = _x_labels([_short_day(r.day) for r in rows], centres)
    return chart


def hourly_chart(
    hours: Sequence[tuple[datetime, int]],
    capacity: int | None,
    *,
    label: str,
    partial_last: bool = False,
) -> Chart:
    """Clicks per hour as bars against an hourly capacity line; over-capacity bars flagged;
    the last hour drawn apart when it is the current one (`partial_last`)."""
    chart = Chart(label=label, legend=[("legend-clicks", "Clicks per hour")])
    counts = tuple(clicks for _, clicks in hours)
    peak = max(counts, default=0)
    y = _Scale(nice_axis(max(peak, capacity or 0)), chart.plot_top, chart.plot_bottom)
    bottom = chart.plot_bottom
    # Most hours share a handful of counts: each count's bar and words are worked out once.
    looks: dict[int, Look] = {}
    for clicks in set(counts):
        over = capacity is not None and clicks > capacity
        top = y(clicks)
        looks[clicks] = Look(
            "bar-over" if over else "bar-clicks",
            top,
            round(bottom - top, 1),
            f": {count_text(clicks)} clicks" + (f" (capacity {capacity}, over)" if over else ""),
        )
    chart.hourly = HourlyBars(
        len(hours),
        chart.plot_left,
        chart.plot_right,
        tuple(hour_text(hour) for hour, _ in hours),
        counts,
        looks,
        so_far=partial_last and bool(hours),
    )
    if capacity is not None:
        # Named in the legend, not on the plot, where it would lie across the bars.
        chart.threshold = Tick(y(capacity), f"capacity {capacity}/h")
        chart.legend.append(("legend-capacity", f"Hourly capacity ({capacity}/h)"))
        chart.legend.append(("legend-over", "Over capacity"))
    if partial_last:
        chart.legend.append(("legend-partial", "This hour so far"))
    chart.y_ticks = _ticks(y.maximum, y)
    chart.x_labels = _x_labels(
        [hour for hour, _ in hours],
        _slots(len(hours), chart)[1],
        most=6,
        text=lambda h: _hour_label(h, len(hours)),
    )
    return chart


def traffic_chart(hours: Sequence[tuple[datetime, int, int]]) -> Chart:
    """Events per hour, live and test stacked, for a partner's integration health."""
    chart = Chart(
        label="Events received per hour, live and test keys",
        legend=[("legend-displays", "Live"), ("legend-test", "Test")],
    )
    peak = max((live + test for _, live, test in hours), default=0)
    y = _Scale(nice_axis(peak), chart.plot_top, chart.plot_bottom)
    slot, centres = _slots(len(hours), chart)
    bar_width = round(max(slot * 0.8, 1), 1)
    for (hour, live, test), centre in zip(hours, centres, strict=True):
        live_top = y(live)
        chart.add_bar(centre, bar_width, live_top, "bar-displays")
        chart.add_bar(centre, bar_width, y(live + test), "bar-test", bottom=live_top)
        title = f"{hour_text(hour)}: {count_text(live)} live, {count_text(test)} test events"
        chart.add_column(centre, slot, title)
    chart.y_ticks = _ticks(y.maximum, y)
    chart.x_labels = _x_labels([f"{h:%a %H:%M}" for h, _, _ in hours], centres, most=6)
    return chart


def share(part: int, whole: int) -> float:
    """part / whole as a fraction for a <meter>, 0 when whole is 0."""
    value = ratio(part, whole)
    return float(value) if value is not None else 0.0


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def count_text(value: int) -> str:
    """A count grouped by thousands as the dashboard's language (en-us) writes it: what
    `number_format(value, force_grouping=True)` gives, at a tenth of its cost (a 7-day
    chart labels hundreds of columns)."""
    return f"{value:,}"


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _short_day(value: date | None) -> str:
    return f"{value:%d %b}" if value else ""


def hour_text(value: datetime) -> str:
    """An hour as the charts' titles and the tables beside them write it; a page's charts
    share their hours, so each is written once."""
    # Keyed with its zone: the same instant in two zones is one datetime to ==.
    return _wall_text(value, value.tzinfo)


@functools.lru_cache(maxsize=1024)
def _wall_text(value: datetime, zone: tzinfo | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


def _hour_label(value: datetime | None, count: int) -> str:
    """An hour on the x axis: with its weekday when the chart spans more than a day."""
    if value is None:
        return ""
    return f"{value:%a %H:%M}" if count > 24 else f"{value:%H:%M}"


def _when(row: MetricRow) -> str:
    return f"{row.hour:%a %Y-%m-%d %H:%M}" if row.hour else _day(row.day)
