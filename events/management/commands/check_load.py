"""python manage.py check_load [--every SECONDS]: load alerts on priority helplines."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from events.load import LoadReport, check_load


class Command(BaseCommand):
    help = (
        "Measure each priority helpline's clicks in the rolling hours the rollup has "
        "passed against its hourly capacity, record episodes over it, update the "
        "directory's load status and email LOAD_ALERT_EMAILS once when an episode starts "
        "and once when it ends (what the scheduler runs every minute, after rollup_events). "
        "With --every, run again every SECONDS until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, metavar="SECONDS", help="Keep running, a run every SECONDS."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        if every is None:
            self._report(check_load(now=timezone.now()), quiet=False)
            return
        while True:
            try:
                self._report(check_load(now=timezone.now()), quiet=True)
            except DatabaseError as exc:  # the database restarts: try again next time
                self.stderr.write(f"Load check failed, retrying in {every:g} s: {exc}")
            close_old_connections()
            time.sleep(every)

    def _report(self, report: LoadReport, *, quiet: bool) -> None:
        """What a run did; `quiet` (a loop) reports only runs that started or ended one."""
        if report.measured_to is None:
            if not quiet:
                self.stdout.write("The rollup has not run yet: nothing to measure.")
            return
        if quiet and not (report.started or report.ended or report.emails):
            return
        lines = [
            f"Measured {report.measured} rolling hours up to "
            f"{report.measured_to:%Y-%m-%d %H:%M} UTC; {len(report.started)} episodes "
            f"started, {len(report.ended)} ended, {report.emails} emails sent."
        ]
        lines += [f"  over capacity: {episode.helpline.name}" for episode in report.started]
        lines += [f"  back under: {episode.helpline.name}" for episode in report.ended]
        self.stdout.write("\n".join(lines))
