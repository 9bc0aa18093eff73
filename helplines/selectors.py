"""Named reads of the directory."""

from collections.abc import Iterable

from helplines.models import Helpline


def helpline_pks_by_public_id(public_ids: Iterable[object]) -> dict[str, int]:
    """public id -> primary key for each of `public_ids` in the directory, active or not."""
    wanted = {value for value in public_ids if isinstance(value, str)}
    if not wanted:
        return {}
    return dict(Helpline.objects.filter(public_id__in=wanted).values_list("public_id", "pk"))
