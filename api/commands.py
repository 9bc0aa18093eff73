"""What several management commands share: the row a command-line value names, and the
purge commands' retention option."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models


def get_object_or_command_error[M: models.Model](model: type[M], noun: str, **lookup: Any) -> M:
    """The `model` row matching the one-field `lookup`, as `get_object_or_404` for a command:
    when there is none, the command stops with `No <noun> '<value>'.`"""
    try:
        return model._default_manager.get(**lookup)
    except ObjectDoesNotExist as exc:
        (value,) = lookup.values()
        raise CommandError(f"No {noun} {value!r}.") from exc


class RetentionCommand(BaseCommand):
    """A purge of what is more than --older-than DAYS days old; without the option, the days
    of the setting `retention_setting` names (a name: --help shows it, and the setting is
    read when the command runs)."""

    retention_setting: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            help=f"Retention in days (default: {self.retention_setting}).",
        )

    def retention_days(self, options: dict[str, Any]) -> int:
        """The days to keep: the option's or the setting's, refused below one."""
        days: int | None = options["older_than"]
        if days is None:
            days = getattr(settings, self.retention_setting)
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        return days
