"""How fresh the figures are: when the rollup that the figures on screen come from ran.

Read from the database the figures are read from (the replica on pages of figures when
there is one, `config.routers`), so the time shown accounts for the rollup's schedule and
for the replica's lag alike.
"""

from collections.abc import Callable
from datetime import datetime

from django.http import HttpRequest

from events.models import RollupState


def figures_as_of() -> datetime | None:
    """When the last rollup visible here ran; None before the first one."""
    return RollupState.objects.filter(pk=1).values_list("last_run_at", flat=True).first()


def figures_freshness(request: HttpRequest) -> dict[str, Callable[[], datetime | None]]:
    """Template context: `figures_as_of`, a callable, so only the templates that show it
    (the dashboard's base) cost the query."""
    return {"figures_as_of": figures_as_of}
