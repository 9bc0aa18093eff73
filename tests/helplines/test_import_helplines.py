"""`manage.py import_helplines` and the columns it shares with the admin (docs/product.md §6)."""

import io
from pathlib import Path
from typing import cast

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from openpyxl.worksheet.worksheet import Worksheet

from helplines.models import Helpline, Topic
from helplines.resources import COLUMNS, HelplineResource

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS)
ALPHA = (
    "alpha-1,Alpha Line,Night support,gb,England,Europe/London,Grief|Self harm,"
    "+44 116 123,85258,https://example.org/chat,https://wa.example.org/a,"
    "https://example.org,18001 116 123,https://example.org/report,true,,40,"
)
BETA = "beta-2,Beta Line,,US,,,Grief,,,,,,,,,false,,"


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(path: Path) -> str:
    out = io.StringIO()
    call_command("import_helplines", str(path), stdout=out)
    return out.getvalue()


def test_csv_import_creates_helplines_and_new_topics(tmp_path: Path) -> None:
    output = run(write(tmp_path, "directory.csv", HEADER, ALPHA, BETA))

    assert output == f"{tmp_path / 'directory.csv'}: 2 created, 0 updated, 0 unchanged.\n"
    alpha = Helpline.objects.get(public_id="alpha-1")
    assert {
        field: getattr(alpha, field)
        for field in (
            "name",
            "description",
            "country_code",
            "subdivision",
            "timezone",
            "phone_number",
            "sms_number",
            "web_chat_url",
            "whatsapp_url",
            "website",
            "tty_number",
            "reporting_form_url",
            "is_priority",
            "is_active",
            "hourly_capacity",
        )
    } == {
        "name": "Alpha Line",
        "description": "Night support",
        "country_code": "GB",
        "subdivision": "England",
        "timezone": "Europe/London",
        "phone_number": "+44 116 123",
        "sms_number": "85258",
        "web_chat_url": "https://example.org/chat",
        "whatsapp_url": "https://wa.example.org/a",
        "website": "https://example.org",
        "tty_number": "18001 116 123",
        "reporting_form_url": "https://example.org/report",
        "is_priority": True,
        "is_active": True,
        "hourly_capacity": 40,
    }
    assert sorted(alpha.topics.values_list("name", "slug")) == [
        ("Grief", "grief"),
        ("Self harm", "self-harm"),
    ]
    beta = Helpline.objects.get(public_id="beta-2")
    assert (beta.is_priority, beta.is_active, beta.timezone, beta.hourly_capacity) == (
        False,
        False,
        "UTC",
        None,
    )
    assert (beta.phone_number, beta.description) == ("", "")
    assert Topic.objects.count() == 2


def test_importing_the_same_file_again_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "directory.csv", HEADER, ALPHA, BETA)
    run(path)

    assert run(path).endswith(": 0 created, 0 updated, 2 unchanged.\n")
    assert Helpline.objects.count() == 2
    assert Topic.objects.count() == 2


def test_a_changed_row_updates_its_helpline_matched_on_id(tmp_path: Path, topic: Topic) -> None:
    run(write(tmp_path, "directory.csv", HEADER, ALPHA, BETA))
    changed = ALPHA.replace("Alpha Line", "Alpha Line (renamed)").replace(
        "Grief|Self harm", "suicidal thoughts"
    )

    output = run(write(tmp_path, "directory.csv", HEADER, changed, BETA))

    assert output.endswith(": 0 created, 1 updated, 1 unchanged.\n")
    alpha = Helpline.objects.get(public_id="alpha-1")
    assert alpha.name == "Alpha Line (renamed)"
    # An existing topic is matched by name in any case, not created twice.
    assert list(alpha.topics.all()) == [topic]


def test_xlsx_import(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = cast(Worksheet, book.active)  # a new or loaded workbook has one sheet
    sheet.append(COLUMNS)
    # What a spreadsheet makes of typed cells: booleans and numbers, not text.
    sheet.append(
        ["x-1", "Xlsx Line", None, "nz", None, "Pacific/Auckland", "Grief", 1737]
        + [None] * 6
        + [True, False, 12]
    )
    path = tmp_path / "directory.xlsx"
    book.save(path)

    assert run(path).endswith(": 1 created, 0 updated, 0 unchanged.\n")
    line = Helpline.objects.get(public_id="x-1")
    assert (line.country_code, line.phone_number, line.is_priority, line.is_active) == (
        "NZ",
        "1737",
        True,
        False,
    )
    assert line.hourly_capacity == 12


def test_a_bad_row_is_named_by_its_line_and_nothing_is_imported(tmp_path: Path) -> None:
    bad = "gamma-3,Gamma Line,,ZZ,,Mars/Olympus,New topic,,,not-a-url,,,,,maybe,,-4"
    path = write(tmp_path, "directory.csv", HEADER, ALPHA, bad, BETA)

    with pytest.raises(CommandError) as refused:
        run(path)

    message = str(refused.value)
    assert message.startswith(f"{path}: nothing imported.\n")
    assert message.count("line ") == 1
    assert "  line 3 (id 'gamma-3'): " in message
    for column, text in [
        ("country_code", "'ZZ' is not an ISO 3166-1 alpha-2 country code."),
        ("timezone", "'Mars/Olympus' is not an IANA time zone name."),
        ("web_chat_url", "Enter a valid URL."),
        ("priority", "'maybe' is not true or false."),
        ("hourly_capacity", "greater than or equal to 0."),
    ]:
        assert f"{column}: " in message
        assert text in message
    assert not Helpline.objects.exists()
    assert not Topic.objects.exists()


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (",No Id Line,,GB", "id"),
        ("no-name,,,GB", "name"),
        ("no-country,No Country,,", "country_code"),
    ],
)
def test_required_cells(tmp_path: Path, row: str, column: str) -> None:
    path = write(tmp_path, "directory.csv", "id,name,description,country_code", row)

    with pytest.raises(CommandError) as refused:
        run(path)

    assert f"line 2 (id '{row.split(',')[0]}'): {column}: This field cannot be blank." in str(
        refused.value
    )


def test_a_header_with_unknown_or_missing_columns_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "directory.csv", "id,name,phone", "a,A,1")

    with pytest.raises(CommandError) as refused:
        run(path)

    assert (
        "file: The header row has missing required column(s): country_code; unknown "
        "column(s): phone (expected: " + ", ".join(COLUMNS) + ")."
    ) in str(refused.value)


def test_only_csv_and_xlsx(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"expected a \.csv or \.xlsx file"):
        run(write(tmp_path, "directory.json", "[]"))


def test_export_has_exactly_the_spec_columns_in_order(tmp_path: Path) -> None:
    run(write(tmp_path, "directory.csv", HEADER, ALPHA, BETA))

    exported = HelplineResource().export()

    assert exported.headers == COLUMNS
    assert list(exported[0]) == [
        "alpha-1",
        "Alpha Line",
        "Night support",
        "GB",
        "England",
        "Europe/London",
        "Grief|Self harm",
        "+44 116 123",
        "85258",
        "https://example.org/chat",
        "https://wa.example.org/a",
        "https://example.org",
        "18001 116 123",
        "https://example.org/report",
        "true",
        "true",
        "40",
        "",
    ]
    assert list(exported[1])[-4:] == ["false", "false", "", ""]
