"""python manage.py import_helplines FILE (.csv or .xlsx; the columns of docs/product.md §6)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from import_export.formats.base_formats import CSV, XLSX, Format
from import_export.results import RowResult

from helplines.resources import HelplineResource, import_problems

FORMATS: dict[str, type[Format]] = {".csv": CSV, ".xlsx": XLSX}


class Command(BaseCommand):
    help = (
        "Create or update helplines from a CSV or XLSX file, matched on `id`. All or "
        "nothing: a bad row is named by its line and nothing is imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A .csv (UTF-8) or .xlsx file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        file_format = FORMATS.get(path.suffix.lower())
        if file_format is None:
            raise CommandError(f"{path}: expected a .csv or .xlsx file.")
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}.") from exc
        try:
            dataset = file_format().create_dataset(
                content.decode("utf-8-sig") if file_format is CSV else content
            )
        except Exception as exc:  # a file tablib cannot read: say so, not a traceback
            raise CommandError(f"{path}: cannot be read as {path.suffix}: {exc}") from exc

        with transaction.atomic():
            result = HelplineResource().import_data(dataset, dry_run=False, use_transactions=True)
            problems = import_problems(result)
            if problems:
                # Leaving the block by an exception rolls every row back.
                raise CommandError(
                    f"{path}: nothing imported.\n" + "\n".join(f"  {p}" for p in problems)
                )
        totals = result.totals
        self.stdout.write(
            f"{path}: {totals[RowResult.IMPORT_TYPE_NEW]} created, "
            f"{totals[RowResult.IMPORT_TYPE_UPDATE]} updated, "
            f"{totals[RowResult.IMPORT_TYPE_SKIP]} unchanged."
        )
