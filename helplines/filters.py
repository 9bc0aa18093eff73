"""Query filters of `GET /v1/helplines`; a value that does not parse is a 400."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from helplines.models import Helpline
from helplines.selectors import helplines_with_topic


class StrictBooleanField(forms.Field):
    """`true`/`false` (any case, or 1/0); anything else is refused, not read as absent."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:
        if value is None:  # absent
            return None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Must be `true` or `false`.", code="invalid") from None


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class StrictIntegerField(forms.IntegerField):
    """A whole number; `?limit=` with nothing after it is refused, not read as absent."""

    def to_python(self, value: Any) -> int | None:
        if value == "":
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "integer", "minimum": 1})
class IntegerFilter(django_filters.NumberFilter):
    field_class = StrictIntegerField


MAX_LIMIT = 2**31 - 1


class HelplineFilter(django_filters.FilterSet):
    country_code = django_filters.CharFilter(
        method="filter_country",
        max_length=2,
        help_text="ISO 3166-1 alpha-2 code, any case (`gb` = `GB`).",
    )
    topic = django_filters.CharFilter(
        method="filter_topic", help_text="A topic's slug or name (any case); see /v1/topics."
    )
    priority_only = StrictBooleanFilter(
        method="filter_priority_only",
        help_text="`true`: priority helplines only. `false` or absent: all.",
    )
    # Applied last, in filter_queryset: a sliced queryset cannot be filtered further.
    limit = IntegerFilter(
        method="keep_all",
        min_value=1,
        help_text="At most this many helplines (the first ones in the listing order).",
    )

    class Meta:
        model = Helpline
        fields: list[str] = []

    def filter_country(self, queryset: QuerySet[Helpline], name: str, value: str) -> Any:
        return queryset.filter(country_code=value.upper())

    def filter_topic(self, queryset: QuerySet[Helpline], name: str, value: str) -> Any:
        return helplines_with_topic(queryset, value.strip())

    def filter_priority_only(self, queryset: QuerySet[Helpline], name: str, value: bool) -> Any:
        return queryset.filter(is_priority=True) if value else queryset

    def keep_all(self, queryset: QuerySet[Helpline], name: str, value: Any) -> Any:
        return queryset

    def filter_queryset(self, queryset: QuerySet[Helpline]) -> Any:
        queryset = super().filter_queryset(queryset)
        limit = self.form.cleaned_data.get("limit")
        # A limit beyond any directory's size means all of it; capped so the database never
        # sees a number it cannot hold (PostgreSQL's LIMIT is a bigint).
        return queryset[: min(limit, MAX_LIMIT)] if limit is not None else queryset
