"""The dashboard's chart markup, written out in Python (dashboard/chart_html.py)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from django.test import override_settings
from django.utils.formats import number_format
from hypothesis import given
from hypothesis import strategies as st

from dashboard.chart_html import render_chart
from dashboard.charts import count_text, hourly_chart
from dashboard.templatetags.dashboard_format import num

SVG = "{http://www.w3.org/2000/svg}"


def _hours(counts: list[int]) -> list[tuple[datetime, int]]:
    start = datetime(2026, 3, 29, 0, tzinfo=UTC)
    return [(start + timedelta(hours=n), clicks) for n, clicks in enumerate(counts)]


def test_a_chart_is_well_formed_markup_with_every_value_and_its_text_escaped() -> None:
    chart = hourly_chart(
        _hours([3, 0, 12, 1500]), 10, label='Line <"A"> & co: clicks', partial_last=True
    )
    html = render_chart(chart)
    figure = ElementTree.fromstring(html)  # raises on an unescaped <, & or "
    plot = figure.findall(f".//{SVG}svg")[0]
    assert plot.get("aria-label") == 'Line <"A"> & co: clicks'
    bars = [rect for rect in plot.iter(f"{SVG}rect") if rect.get("class") != "hover"]
    assert [bar.get("class") for bar in bars] == [
        "bar-clicks",
        "bar-clicks",
        "bar-over",
        "bar-over bar-so-far",
    ]
    titles = [title.text for title in plot.iter(f"{SVG}title")]
    assert titles == [
        "2026-03-29 00:00: 3 clicks",
        "2026-03-29 01:00: 0 clicks",
        "2026-03-29 02:00: 12 clicks (capacity 10, over)",
        "2026-03-29 03:00 (so far): 1,500 clicks (capacity 10, over)",
    ]
    threshold = plot.find(f"{SVG}line[@class='threshold']")
    assert chart.threshold is not None and threshold is not None
    assert threshold.get("y1") == str(chart.threshold.position)
    legend = ["".join(item.itertext()) for item in figure.iter("li")]
    assert legend == [
        "Clicks per hour",
        "Hourly capacity (10/h)",
        "Over capacity",
        "This hour so far",
    ]


@override_settings(LANGUAGE_CODE="de", USE_THOUSAND_SEPARATOR=True)
def test_coordinates_are_never_localised() -> None:
    chart = hourly_chart(_hours([1, 7, 2]), None, label="clicks")
    html = str(render_chart(chart))
    assert chart.hourly is not None
    rect = chart.hourly.bars[0]
    assert f'y="{rect.y}"' in html and f'height="{rect.height}"' in html
    for attribute in ('y="', 'height="', 'x="', 'width="'):
        for value in html.split(attribute)[1:]:
            assert "," not in value.split('"')[0], value.split('"')[0]


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_a_count_is_written_as_the_dashboards_language_writes_it(value: int) -> None:
    """count_text, the charts' and the `num` filter's shortcut for integers, writes what
    Django's number_format writes in the product's language (LANGUAGE_CODE, en-us)."""
    assert count_text(value) == number_format(value, force_grouping=True)
    assert num(value) == number_format(value, force_grouping=True)


@given(
    st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=168),
    st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),
    st.booleans(),
)
def test_an_hourly_chart_draws_its_geometry_as_any_chart_would(
    counts: list[int], capacity: int | None, partial_last: bool
) -> None:
    """An hourly chart's bars and columns, written from places shared by every chart of
    as many hours, are the elements the general drawing writes from their Bar and Column
    geometry: the same attributes and titles, in the same order."""
    hours = _hours(counts)
    chart = hourly_chart(hours, capacity, label="clicks", partial_last=partial_last)
    assert chart.hourly is not None
    general = replace(chart, hourly=None, bars=chart.hourly.bars, columns=chart.hourly.columns)

    def rects(html: str) -> list[tuple[dict[str, str], str | None]]:
        plot = ElementTree.fromstring(html).findall(f".//{SVG}svg")[0]
        return [
            (dict(rect.attrib), rect.findtext(f"{SVG}title")) for rect in plot.iter(f"{SVG}rect")
        ]

    drawn = rects(render_chart(chart))
    assert drawn == rects(render_chart(general))
    bars = [attributes for attributes, title in drawn if title is None]
    titles = [title for _, title in drawn if title is not None]
    assert len(bars) == len(titles) == len(counts)
    # Each hour's bar and title are its own count's, in the hours' order.
    for n, (clicks, bar, title) in enumerate(zip(counts, bars, titles, strict=True)):
        over = capacity is not None and clicks > capacity
        so_far = partial_last and n == len(counts) - 1
        assert title == (
            f"{hours[n][0]:%Y-%m-%d %H:%M}{' (so far)' if so_far else ''}: "
            f"{count_text(clicks)} clicks{f' (capacity {capacity}, over)' if over else ''}"
        )
        assert bar["class"] == ("bar-over" if over else "bar-clicks") + (
            " bar-so-far" if so_far else ""
        )
    # Taller bars for more clicks, none for none.
    heights = {clicks: float(bar["height"]) for clicks, bar in zip(counts, bars, strict=True)}
    assert [heights[c] for c in sorted(heights)] == sorted(heights.values())
    assert heights.get(0, 0.0) == 0.0
