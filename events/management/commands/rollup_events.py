"""python manage.py rollup_events [--from DATE] [--to DATE] [--every SECONDS]: the aggregates."""

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

from events.rollup import RollupBusy, RollupReport, rebuild, refuse_purged, roll_up


class Command(BaseCommand):
    help = (
        "Bring the aggregates that every figure is read from up to date with the events "
        "stored since the last run, and close the billing months that are due (what the "
        "scheduler runs, e.g. every minute from cron). With --from/--to, rebuild the "
        "aggregates of those UTC days from the raw events instead (after a restore or a "
        "bulk import). With --every, run again every SECONDS until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", type=date.fromisoformat, metavar="DATE")
        parser.add_argument("--to", dest="last", type=date.fromisoformat, metavar="DATE")
        parser.add_argument(
            "--every", type=float, metavar="SECONDS", help="Keep running, a run every SECONDS."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        first, last, every = options["first"], options["last"], options["every"]
        if (first is None) != (last is None):
            raise CommandError("--from and --to go together.")
        if first is not None and last is not None:
            if last < first:
                raise CommandError("--to is before --from.")
            if (purged := refuse_purged(first)) is not None:
                raise CommandError(
                    f"Raw events before {purged:%Y-%m-%d %H:%M} UTC were purged: their "
                    "aggregates cannot be rebuilt. Choose a later --from."
                )
            report = rebuild(first, last)
            self.stdout.write(
                f"Rebuilt {first}..{last}: {report.events} events, {report.windows} day "
                f"windows, in {report.seconds:.2f} s."
            )
            return
        if every is None:
            self._run_once(quiet=False)
            return
        while True:
            try:
                self._run_once(quiet=True)
            except DatabaseError as exc:  # the database restarts: try again next time
                self.stderr.write(f"Rollup failed, retrying in {every:g} s: {exc}")
            close_old_connections()
            time.sleep(every)

    def _run_once(self, *, quiet: bool) -> None:
        """One run; `quiet` (a loop) reports only runs that found something to do."""
        try:
            report: RollupReport = roll_up()
        except RollupBusy:
            if not quiet:
                self.stdout.write("Another rollup run is in progress; nothing done.")
            return
        if quiet and not (report.events or report.zones_added or report.months_closed):
            return
        zones = f", started keeping {', '.join(report.zones_added)}" if report.zones_added else ""
        closed = f", closed {report.months_closed} billing months" if report.months_closed else ""
        self.stdout.write(
            f"Rolled up {report.events} events into {report.windows} day windows{zones}"
            f"{closed}, in {report.seconds:.2f} s."
        )
