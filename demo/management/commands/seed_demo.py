"""python manage.py seed_demo [--days N]: a living demo for a new user (docs/product.md §6)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo import seed as demo
from events.load import CATCH_UP, check_load
from events.rollup import roll_up


class Command(BaseCommand):
    help = (
        "Seed a fictional helpline directory, three partners and a test partner, and the "
        "last DAYS days of displays and clicks. Idempotent: a second run only adds the "
        "hours that have passed since the first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # 61: the dashboard's default view (the last 30 days, today included) and the 30
        # days it is compared with both have traffic.
        parser.add_argument(
            "--days", type=int, default=61, help="Days of events up to now (default 61)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        result = demo.seed(now=timezone.now(), days=options["days"])
        self.stdout.write(
            f"Helplines: {result.helplines_created} created, "
            f"{result.helplines_updated} already there."
        )
        created = ", ".join(result.partners_created) or "none (all already there)"
        self.stdout.write(f"Partners created: {created}.")
        self.stdout.write(
            f"Events: {result.events_created} created over {result.hours_seeded} new hours, "
            f"{result.events_duplicate} already stored."
        )
        rolled = roll_up(wait=True)
        self.stdout.write(
            f"Aggregates: {rolled.events} events rolled up in {rolled.seconds:.1f} s "
            "(rollup_events keeps them fresh)."
        )
        # check_load measures a helpline from its first run on; run once a day back first,
        # the next run catches the day up, so the load page lists the demo's episodes over
        # capacity (a no-op for helplines already measured).
        now = timezone.now()
        check_load(now=now - CATCH_UP)
        load = check_load(now=now)
        self.stdout.write(
            f"Load: {load.measured} rolling hours of priority helplines measured, "
            f"{len(load.started)} episodes over capacity started (check_load goes on)."
        )
        self.stdout.write(
            "Demo partner keys are not shown. To call the API, create a partner of your own: "
            "python manage.py create_partner 'My Platform' (see README)."
        )
