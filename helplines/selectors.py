"""Named reads of the directory."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeGuard

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from helplines.models import DirectoryCallBucket, Helpline, HelplineLoad, Partner, Topic
from helplines.quota import window_floor

# public id -> primary key, as read by this process. A helpline's id is fixed once created
# and a helpline is retired (`active`), never deleted, once partners may have seen it (the
# admin offers no delete and no id change), so a pair once read stays true. Misses always
# go to the database: a helpline added a second ago is found.
_pk_by_public_id: dict[str, int] = {}
_PK_CACHE_LIMIT = 100_000

_SURROGATE = re.compile("[\ud800-\udfff]")


def could_be_public_id(value: object) -> TypeGuard[str]:
    """Whether `value` could be a helpline's public id, asked before looking it up.

    A value the column cannot hold matches nothing, and must not reach the query:
    PostgreSQL refuses a NUL character in text, and no driver can encode a lone surrogate
    (JSON's `"\\ud800"`), so the lookup would fail instead of finding no helpline.
    """
    return (
        isinstance(value, str)
        and "\x00" not in value
        and (value.isascii() or _SURROGATE.search(value) is None)
    )


def helpline_pks_by_public_id(public_ids: Iterable[object]) -> dict[str, int]:
    """public id -> primary key for each of `public_ids` in the directory, active or not."""
    wanted = {value for value in public_ids if could_be_public_id(value)}
    found = {pid: _pk_by_public_id[pid] for pid in wanted if pid in _pk_by_public_id}
    missing = wanted - found.keys()
    if missing:
        fetched = dict(
            Helpline.objects.filter(public_id__in=missing).values_list("public_id", "pk")
        )
        if len(_pk_by_public_id) < _PK_CACHE_LIMIT:
            _pk_by_public_id.update(fetched)
        found.update(fetched)
    return found


def forget_helpline_pks() -> None:
    """Drop the process's public id -> pk pairs (tests, whose databases are rebuilt)."""
    _pk_by_public_id.clear()


def active_helplines() -> QuerySet[Helpline]:
    """The partner-facing directory: active helplines, priority first, then name, then id.

    Topics come in one prefetch query, the pair and the load status in the same query as
    the helplines, so a listing costs two queries whatever its size.
    """
    return (
        Helpline.objects.filter(is_active=True)
        .select_related("paired_with", "load_status")
        .prefetch_related(Prefetch("topics", queryset=Topic.objects.order_by("name")))
        .order_by("-is_priority", "name", "public_id")
    )


def helplines_with_topic(queryset: QuerySet[Helpline], topic: str) -> QuerySet[Helpline]:
    """Those of `queryset` carrying a topic named `topic` or slugged `topic` (any case)."""
    matching = Topic.objects.filter(Q(slug__iexact=topic) | Q(name__iexact=topic))
    # A subquery rather than a join, so a helpline matched twice is listed once.
    with_topic = Helpline.topics.through.objects.filter(topic__in=matching).values("helpline_id")
    return queryset.filter(pk__in=with_topic)


def directory_countries() -> QuerySet[Any, Any]:
    """Country codes having at least one active helpline, with how many, by code."""
    return (
        Helpline.objects.filter(is_active=True)
        .values("country_code")
        .annotate(helplines=Count("pk"))
        .order_by("country_code")
    )


def directory_topics() -> QuerySet[Topic]:
    return Topic.objects.order_by("name")


def directory_calls_in_window(*, partner: Partner, now: datetime) -> int:
    """Directory calls `partner` made in the quota window that holds `now`."""
    total = DirectoryCallBucket.objects.filter(
        partner=partner, hour__gt=window_floor(now)
    ).aggregate(total=Sum("calls"))["total"]
    return total or 0


def with_directory_calls_in_window(queryset: QuerySet[Partner], now: datetime) -> QuerySet[Partner]:
    """`queryset` annotated with `calls_in_window`, in the same query (for admin lists)."""
    calls = (
        DirectoryCallBucket.objects.filter(partner=OuterRef("pk"), hour__gt=window_floor(now))
        .values("partner")
        .annotate(total=Sum("calls"))
        .values("total")
    )
    return queryset.annotate(
        calls_in_window=Coalesce(Subquery(calls, output_field=IntegerField()), 0)
    )


# A measurement older than this no longer says "busy": check_load has stopped, and an old
# hour is no reason to send anyone elsewhere.
LOAD_STATUS_MAX_AGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DirectoryLoad:
    """The coarse load a partner sees: whether the helpline was over its alert threshold
    in the last rolling hour measured (all partners' traffic, never a figure)."""

    status: Literal["normal", "busy"]
    as_of: datetime | None  # end of the rolling hour measured; None: not measured yet


def directory_load(helpline: Helpline, *, now: datetime) -> DirectoryLoad | None:
    """The load of a priority helpline with a capacity (None for the others), from the
    measurement `check_load` stored (`select_related("load_status")` spares a query)."""
    if not helpline.is_priority or helpline.hourly_capacity is None:
        return None
    try:
        measured = helpline.load_status
    except HelplineLoad.DoesNotExist:
        return DirectoryLoad(status="normal", as_of=None)
    busy = measured.busy and now - measured.hour_end <= LOAD_STATUS_MAX_AGE
    return DirectoryLoad(status="busy" if busy else "normal", as_of=measured.hour_end)


def directory_pair(helpline: Helpline) -> str | None:
    """The public id of the service to display with `helpline`, while it is listed."""
    other = helpline.paired_with
    return other.public_id if other is not None and other.is_active else None
