"""The directory as a spreadsheet (docs/product.md §6): the one column layout shared by the admin's
import/export and `manage.py import_helplines`.

Columns, in order: id, name, description, country_code, subdivision, timezone, topics,
phone_number, sms_number, web_chat_url, whatsapp_url, website, tty_number,
reporting_form_url, priority, active, hourly_capacity, paired_with. `id`, `name` and
`country_code` are required; `topics` are separated by `|` and created when new; `priority`
and `active` are `true`/`false` (empty: false and true); an empty `timezone` is UTC; other
empty cells mean "none". Rows are matched on `id`, so importing the same file twice changes
nothing.

`paired_with` is the id of the service that must be displayed together with this one. A
pair is symmetric: naming it on one row pairs both services (the export writes it on
both), an empty cell unpairs the row's service, and a file without the column leaves every
pair as it is. A service in two pairs, or paired with itself or an unknown id, is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from django.utils.text import slugify
from import_export import fields, resources, widgets
from import_export.results import Result

from helplines.models import CONTACT_CHANNEL_FIELDS, Helpline, Topic
from helplines.services import replace_pairs

COLUMNS = [
    "id",
    "name",
    "description",
    "country_code",
    "subdivision",
    "timezone",
    "topics",
    *CONTACT_CHANNEL_FIELDS,
    "priority",
    "active",
    "hourly_capacity",
    "paired_with",
]
REQUIRED_COLUMNS = ["id", "name", "country_code"]
TOPIC_SEPARATOR = "|"


class TextWidget(widgets.CharWidget):
    """Text, trimmed; a whole number a spreadsheet stored as a float loses its `.0`."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(super().clean(value, row, **kwargs)).strip()


class CountryCodeWidget(TextWidget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        return super().clean(value, row, **kwargs).upper()


class TimezoneWidget(TextWidget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        return super().clean(value, row, **kwargs) or "UTC"


class TrueFalseWidget(widgets.Widget):
    """`true`/`false` out; in, also any case, 1/0, yes/no and a spreadsheet's booleans."""

    VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

    def __init__(self, *, default: bool) -> None:
        super().__init__()
        self.default = default

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = "" if value is None else str(value).strip().lower()
        if not text:
            return self.default
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        if text not in self.VALUES:
            raise ValueError(f"{value!r} is not true or false.")
        return self.VALUES[text]

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "true" if value else "false"


class TopicsWidget(widgets.ManyToManyWidget):
    """Topic names separated by `|`; a name not in the directory yet becomes a topic."""

    def __init__(self) -> None:
        super().__init__(Topic, separator=TOPIC_SEPARATOR, field="name")

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> list[Topic]:
        names = [name.strip() for name in str(value or "").split(self.separator)]
        return [find_or_create_topic(name) for name in dict.fromkeys(n for n in names if n)]


def find_or_create_topic(name: str) -> Topic:
    """The topic called `name` (any case) or slugged like it; a new one otherwise."""
    slug = slugify(name)
    if not slug:
        raise ValueError(f"{name!r} is not a usable topic name.")
    existing = Topic.objects.filter(Q(name__iexact=name) | Q(slug=slug)).first()
    if existing is not None:
        return existing
    return Topic.objects.create(name=name, slug=slug)


class HelplineResource(resources.ModelResource):
    """The file's columns, each named after its attribute here; a column not declared here
    is the helpline's field of that name, its text trimmed (`widget_from_django_field`)."""

    # The file's pairs, read before its rows are imported; None when it has no such column.
    pairs: list[tuple[str, str]] | None = None

    id = fields.Field(attribute="public_id", widget=TextWidget())
    country_code = fields.Field(attribute="country_code", widget=CountryCodeWidget())
    timezone = fields.Field(attribute="timezone", widget=TimezoneWidget())
    topics = fields.Field(attribute="topics", widget=TopicsWidget())
    priority = fields.Field(attribute="is_priority", widget=TrueFalseWidget(default=False))
    active = fields.Field(attribute="is_active", widget=TrueFalseWidget(default=True))
    # No attribute: a row's pair may be a helpline of a later row, so pairs are written
    # once every row is in (`after_import`), both sides at once.
    paired_with = fields.Field(widget=TextWidget())

    class Meta:
        model = Helpline
        fields = COLUMNS
        import_order = COLUMNS
        export_order = COLUMNS
        import_id_fields = ["id"]
        # Model validation: country code, IANA time zone, URLs, required fields.
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    @classmethod
    def widget_from_django_field(
        cls, f: models.Field[Any, Any], default: type[widgets.Widget] = widgets.Widget
    ) -> type[widgets.Widget]:
        if isinstance(f, models.CharField | models.TextField):
            return TextWidget
        return super().widget_from_django_field(f, default)

    def get_queryset(self) -> QuerySet[Helpline]:
        return (
            Helpline.objects.select_related("paired_with")
            .prefetch_related("topics")
            .order_by("public_id")
        )

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        headers = [str(header or "").strip() for header in dataset.headers or []]
        missing = [column for column in REQUIRED_COLUMNS if column not in headers]
        unknown = [header for header in headers if header not in COLUMNS]
        problems = []
        if missing:
            problems.append(f"missing required column(s): {', '.join(missing)}")
        if unknown:
            problems.append(
                f"unknown column(s): {', '.join(unknown)} (expected: {', '.join(COLUMNS)})"
            )
        if problems:
            raise ValueError("The header row has " + "; ".join(problems) + ".")
        dataset.headers = headers
        self.pairs = None
        if "paired_with" in headers:
            pair_problems, self.pairs = _pairs_of(dataset)
            if pair_problems:
                raise ValueError("; ".join(pair_problems))

    def after_import(self, dataset: Any, result: Result, **kwargs: Any) -> None:
        super().after_import(dataset, result, **kwargs)
        if self.pairs is not None and not (result.has_errors() or result.has_validation_errors()):
            ids = [str(value or "").strip() for value in dataset["id"]]
            replace_pairs(public_ids=ids, pairs=self.pairs)

    def dehydrate_paired_with(self, helpline: Helpline) -> str:
        return helpline.paired_with.public_id if helpline.paired_with else ""


def _rows(dataset: Any) -> Iterator[tuple[int, str, str]]:
    """(line, id, paired_with) of each row; the header is line 1."""
    for index, row in enumerate(dataset.dict):
        line_id = TextWidget().clean(row.get("id"))
        yield index + 2, line_id, TextWidget().clean(row.get("paired_with"))


def _pairs_of(dataset: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """The problems of a file's `paired_with` cells, and its pairs (each once).

    What the directory will hold: the file's helplines lose their current pairs, then
    get the file's; a helpline outside the file keeps its pair, so it cannot be taken.
    """
    rows = list(_rows(dataset))
    in_file = {line_id: line for line, line_id, _ in rows}
    named = {other for _, _, other in rows if other}
    known = set(Helpline.objects.filter(public_id__in=named).values_list("public_id", flat=True))
    # Pairs of helplines outside the file, which the file cannot change.
    kept = dict(
        Helpline.objects.filter(public_id__in=named - in_file.keys(), paired_with__isnull=False)
        .exclude(paired_with__public_id__in=in_file.keys())
        .values_list("public_id", "paired_with__public_id")
    )
    problems: list[str] = []
    partner_of: dict[str, tuple[str, int]] = {}  # id -> (its pair, the line naming it)
    pairs: list[tuple[str, str]] = []
    for line, line_id, other in rows:
        if not other:
            continue
        if other == line_id:
            problems.append(f"line {line}: paired_with: a helpline cannot be paired with itself")
            continue
        if other not in in_file and other not in known:
            problems.append(f"line {line}: paired_with: {other!r} is not a helpline id")
            continue
        if other in kept:
            problems.append(
                f"line {line}: paired_with: {other!r} is paired with {kept[other]!r}, "
                "which this file does not change"
            )
            continue
        clash = False
        for one, two in ((line_id, other), (other, line_id)):
            if one in partner_of and partner_of[one][0] != two:
                problems.append(
                    f"line {line}: paired_with: {one!r} is already paired with "
                    f"{partner_of[one][0]!r} (line {partner_of[one][1]})"
                )
                clash = True
        if clash:
            continue
        if line_id not in partner_of:
            pairs.append((line_id, other))
        partner_of[line_id] = (other, line)
        partner_of[other] = (line_id, line)
    return problems, pairs


def column_of(attribute: str) -> str:
    """The spreadsheet column of a model attribute named in a validation error."""
    for field in HelplineResource().get_import_fields():
        if field.attribute == attribute:
            return str(field.column_name)
    return attribute


def import_problems(result: Result) -> list[str]:
    """Every problem of an import, each naming its line in the file (the header is 1)."""
    problems = [f"file: {error.error}" for error in result.base_errors]
    for row in result.error_rows:
        problems.extend(f"line {row.number + 1}: {error.error}" for error in row.errors)
    for invalid in result.invalid_rows:
        row_id = invalid.values[0] if invalid.values else ""
        details = "; ".join(
            f"{column_of(attribute)}: {' '.join(str(m) for m in messages)}"
            for attribute, messages in invalid.error_dict.items()
        )
        problems.append(f"line {invalid.number + 1} (id {row_id!r}): {details}")
    return problems
