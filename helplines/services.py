"""Writes to partners and their keys, and to the pairs of the directory."""

from collections.abc import Collection
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from api.utc import floor_hour
from helplines.authentication import forget_keys
from helplines.models import DirectoryCallBucket, Helpline, Partner, PartnerAPIKey
from helplines.quota import QuotaState, seconds_until_a_call_frees, window_floor


def issue_key(
    *, partner: Partner, name: str, is_test: bool = False, expiry_date: datetime | None = None
) -> tuple[PartnerAPIKey, str]:
    """A new key for `partner`; the raw key is returned once and never stored."""
    api_key, raw_key = PartnerAPIKey.objects.create_key(
        partner=partner, name=name, is_test=is_test, expiry_date=expiry_date
    )
    assert isinstance(api_key, PartnerAPIKey)
    return api_key, raw_key


@transaction.atomic
def create_partner(
    *, name: str, slug: str | None = None, daily_quota: int | None = None, is_test: bool = False
) -> tuple[Partner, str]:
    """A partner with its first key (a test key when `is_test`); returns the raw key."""
    partner = Partner(name=name, slug=slug or slugify(name))
    if daily_quota is not None:
        partner.daily_quota = daily_quota
    partner.full_clean()
    partner.save()
    _, raw_key = issue_key(partner=partner, name="test" if is_test else "default", is_test=is_test)
    return partner, raw_key


def revoke_keys(keys: list[PartnerAPIKey]) -> int:
    """Revoke `keys` (irreversible), effective at once; returns how many were still live."""
    # One save per key rather than one UPDATE: a save sends the signals the audit trail
    # records from, whichever path revokes (admin, dashboard, shell). Keys come a few at a
    # time; the row lock makes a concurrent revocation of the same key count once.
    revoked = 0
    with transaction.atomic():
        live = PartnerAPIKey.objects.select_for_update().filter(
            pk__in=[key.pk for key in keys], revoked=False
        )
        for key in live:
            key.revoked = True
            key.save(update_fields=["revoked"])
            revoked += 1
    forget_keys([key.prefix for key in keys])
    return revoked


def spend_directory_call(*, partner: Partner, now: datetime) -> QuotaState:
    """Count one directory call for `partner` if its rolling quota allows it.

    Exact under concurrency: the partner row is locked (SELECT ... FOR UPDATE) for the
    check and the increment, so simultaneous calls on all of a partner's keys queue and
    each sees the count of the one before. A refused call is not counted. On the first
    call of a new hour the partner's buckets that left the window are deleted, so the
    table holds at most 24 rows per partner.
    """
    current_hour = floor_hour(now)
    with transaction.atomic():
        # The lock, and the quota as it is now (staff may have changed it in the admin).
        limit = (
            Partner.objects.select_for_update()
            .filter(pk=partner.pk)
            .values_list("daily_quota", flat=True)
            .get()
        )
        buckets = dict(
            DirectoryCallBucket.objects.filter(
                partner=partner, hour__gt=window_floor(now)
            ).values_list("hour", "calls")
        )
        used = sum(buckets.values())
        if used >= limit:
            return QuotaState(
                limit=limit,
                used=used,
                allowed=False,
                reset_seconds=seconds_until_a_call_frees(buckets.items(), now),
            )
        if current_hour not in buckets:
            DirectoryCallBucket.objects.filter(
                partner=partner, hour__lte=window_floor(now)
            ).delete()
        buckets[current_hour] = buckets.get(current_hour, 0) + 1
        DirectoryCallBucket.objects.bulk_create(
            [DirectoryCallBucket(partner=partner, hour=current_hour, calls=buckets[current_hour])],
            update_conflicts=True,
            unique_fields=["partner", "hour"],
            update_fields=["calls"],
        )
    return QuotaState(
        limit=limit,
        used=used + 1,
        allowed=True,
        reset_seconds=seconds_until_a_call_frees(buckets.items(), now),
    )


@transaction.atomic
def pair_helplines(*, helpline: Helpline, other: Helpline | None) -> None:
    """Pair `helpline` with `other` both ways (or, with None, unpair it and its pair).

    The pairs each of them was in before are broken on both sides, so a pair is always
    symmetric. Refused (ValidationError) when `other` is `helpline` or is paired with a
    third service: that pair is undone on purpose, not as a side effect.
    """
    ids = {helpline.pk} | ({other.pk} if other is not None else set())
    # The rows are locked so that two staff pairing at once cannot leave a one-sided pair.
    list(Helpline.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
    current = dict(Helpline.objects.filter(pk__in=ids).values_list("pk", "paired_with__public_id"))
    if other is not None:
        if other.pk == helpline.pk:
            raise ValidationError("A helpline cannot be paired with itself.", code="self_pair")
        if current[other.pk] not in (None, helpline.public_id):
            raise ValidationError(
                f"{other.public_id} is paired with {current[other.pk]}: unpair them first.",
                code="already_paired",
            )
    Helpline.objects.filter(Q(pk__in=ids) | Q(paired_with__in=ids)).update(paired_with=None)
    if other is not None:
        Helpline.objects.filter(pk=helpline.pk).update(paired_with=other)
        Helpline.objects.filter(pk=other.pk).update(paired_with=helpline)
    helpline.paired_with = other


@transaction.atomic
def replace_pairs(*, public_ids: Collection[str], pairs: Collection[tuple[str, str]]) -> None:
    """A directory import: unpair every helpline of `public_ids` (both sides), then pair
    each of `pairs` (public ids) both ways. The caller has checked that no helpline is in
    two pairs (`helplines.resources`)."""
    named = Helpline.objects.filter(public_id__in=public_ids)
    Helpline.objects.filter(Q(pk__in=named) | Q(paired_with__in=named)).update(paired_with=None)
    pk_of = dict(
        Helpline.objects.filter(public_id__in={pid for pair in pairs for pid in pair}).values_list(
            "public_id", "pk"
        )
    )
    for first, second in pairs:
        Helpline.objects.filter(pk=pk_of[first]).update(paired_with=pk_of[second])
        Helpline.objects.filter(pk=pk_of[second]).update(paired_with=pk_of[first])
