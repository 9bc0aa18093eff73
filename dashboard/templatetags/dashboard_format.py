"""How figures read on the dashboard: grouped integers, percentages, signed changes."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()

# Shown where a ratio is undefined (0 denominator); the CSVs leave such cells empty.
EMPTY = "\N{EN DASH}"


@register.filter
def num(value: int | None) -> str:
    if value is None:
        return EMPTY
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
