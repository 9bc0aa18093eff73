"""docs/PRIVACY.md lists every table and column the product stores, and nothing else."""

import re
from pathlib import Path

from django.apps import apps

INVENTORY = Path(__file__).resolve().parents[1] / "docs" / "PRIVACY.md"
ROW = re.compile(r"^\| `(?P<table>\w+)` \| (?P<columns>(?:`\w+`(?:, )?)+) \|")


def documented() -> dict[str, set[str]]:
    """Table -> columns, from the inventory's table rows."""
    tables: dict[str, set[str]] = {}
    for line in INVENTORY.read_text().splitlines():
        if match := ROW.match(line):
            columns = set(re.findall(r"`(\w+)`", match["columns"]))
            tables.setdefault(match["table"], set()).update(columns)
    return tables


def stored() -> dict[str, set[str]]:
    """Table -> columns, from the models (many-to-many tables included)."""
    return {
        model._meta.db_table: {
            field.column for field in model._meta.concrete_fields if field.column
        }
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed or model._meta.auto_created
    }


def test_every_stored_column_is_in_the_inventory() -> None:
    missing = {
        table: sorted(columns - documented().get(table, set()))
        for table, columns in stored().items()
        if columns - documented().get(table, set())
    }
    assert missing == {}, f"Document these in docs/PRIVACY.md: {missing}"


def test_the_inventory_lists_nothing_that_is_not_stored() -> None:
    schema = stored()
    extra = {
        table: sorted(columns - schema.get(table, set()))
        for table, columns in documented().items()
        if columns - schema.get(table, set())
    }
    assert extra == {}
