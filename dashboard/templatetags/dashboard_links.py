"""Links that keep the analyst's place: every one is built from the page's filter state
(`query`) and, for the breakdown tables, from its sorting and "show all" (`options`)."""

from typing import Any
from urllib.parse import urlencode

from django import template
from django.utils.html import format_html

from dashboard.query import TableOptions

register = template.Library()

# Columns whose first click sorts from A to Z; figures sort from the largest first.
ASCENDING_FIRST = {"name", "country"}


@register.simple_tag(takes_context=True)
def dash_url(context: template.Context, view_name: str, *args: Any, **overrides: Any) -> str:
    """A dashboard page or export carrying the whole filter state; `overrides` set (or, when
    empty, drop) a filter, e.g. `country=row.key` to apply a row's filter."""
    return str(
        context["query"].link(
            view_name, *args, **{name: str(value or "") for name, value in overrides.items()}
        )
    )


@register.simple_tag(takes_context=True)
def here_url(context: template.Context, **overrides: Any) -> str:
    """This page with one filter changed, e.g. a country row applying its country."""
    return str(
        context["query"].link(
            context["view_name"],
            *(context.get("view_args") or ()),
            **{name: str(value or "") for name, value in overrides.items()},
        )
    )


def _here(context: template.Context, options: TableOptions) -> str:
    """This page, its state and `options` (sorting and "show all" of its tables)."""
    url = context["query"].link(context["view_name"], *(context.get("view_args") or ()))
    extra = options.params()
    return f"{url}&{urlencode(extra)}" if extra else url


@register.simple_tag(takes_context=True)
def sort_header(
    context: template.Context, breakdown: Any, column: str, label: str, numeric: bool = True
) -> str:
    """A column heading that sorts its table: aria-sort says the current order, the link
    the next one (the same column again reverses it)."""
    options: TableOptions = context.get("options") or TableOptions()
    active = breakdown.column == column
    if active:
        next_spec = column if breakdown.descending else f"-{column}"
    else:
        next_spec = column if column in ASCENDING_FIRST else f"-{column}"
    href = _here(context, options.with_sort(breakdown.name, next_spec))
    sort_state = ("descending" if breakdown.descending else "ascending") if active else "none"
    arrow = (
        ("\N{DOWNWARDS ARROW}" if breakdown.descending else "\N{UPWARDS ARROW}") if active else ""
    )
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a href="{}" data-sort="{}">{}</a>{}</th>',
        "n sortable" if numeric else "sortable",
        sort_state,
        href,
        next_spec,
        label,
        format_html(' <span aria-hidden="true">{}</span>', arrow) if arrow else "",
    )


@register.simple_tag(takes_context=True)
def show_all_url(context: template.Context, breakdown: Any) -> str:
    options: TableOptions = context.get("options") or TableOptions()
    return _here(context, options.with_all(breakdown.name))
