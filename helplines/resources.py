"""The directory as a spreadsheet (SPEC §6): the one column layout shared by the admin's
import/export and `manage.py import_helplines`.

Columns, in order: id, name, description, country_code, subdivision, timezone, topics,
phone_number, sms_number, web_chat_url, whatsapp_url, website, tty_number,
reporting_form_url, priority, active, hourly_capacity. `id`, `name` and `country_code` are
required; `topics` are separated by `|` and created when new; `priority` and `active` are
`true`/`false` (empty: false and true); an empty `timezone` is UTC; other empty cells
mean "none". Rows are matched on `id`, so importing the same file twice changes nothing.
"""

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.text import slugify
from import_export import fields, resources, widgets
from import_export.results import Result

from helplines.models import CONTACT_CHANNEL_FIELDS, Helpline, Topic

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
    id = fields.Field(attribute="public_id", column_name="id", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="name", widget=TextWidget())
    description = fields.Field(
        attribute="description", column_name="description", widget=TextWidget()
    )
    country_code = fields.Field(
        attribute="country_code", column_name="country_code", widget=CountryCodeWidget()
    )
    subdivision = fields.Field(
        attribute="subdivision", column_name="subdivision", widget=TextWidget()
    )
    timezone = fields.Field(attribute="timezone", column_name="timezone", widget=TimezoneWidget())
    topics = fields.Field(attribute="topics", column_name="topics", widget=TopicsWidget())
    phone_number = fields.Field(
        attribute="phone_number", column_name="phone_number", widget=TextWidget()
    )
    sms_number = fields.Field(attribute="sms_number", column_name="sms_number", widget=TextWidget())
    web_chat_url = fields.Field(
        attribute="web_chat_url", column_name="web_chat_url", widget=TextWidget()
    )
    whatsapp_url = fields.Field(
        attribute="whatsapp_url", column_name="whatsapp_url", widget=TextWidget()
    )
    website = fields.Field(attribute="website", column_name="website", widget=TextWidget())
    tty_number = fields.Field(attribute="tty_number", column_name="tty_number", widget=TextWidget())
    reporting_form_url = fields.Field(
        attribute="reporting_form_url", column_name="reporting_form_url", widget=TextWidget()
    )
    priority = fields.Field(
        attribute="is_priority", column_name="priority", widget=TrueFalseWidget(default=False)
    )
    active = fields.Field(
        attribute="is_active", column_name="active", widget=TrueFalseWidget(default=True)
    )
    hourly_capacity = fields.Field(
        attribute="hourly_capacity", column_name="hourly_capacity", widget=widgets.IntegerWidget()
    )

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

    def get_queryset(self) -> QuerySet[Helpline]:
        return Helpline.objects.prefetch_related("topics").order_by("public_id")

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
