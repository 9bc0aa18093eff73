"""Writes to partners and their keys."""

from datetime import datetime

from django.db import transaction
from django.utils.text import slugify

from helplines.authentication import forget_keys
from helplines.models import DirectoryCallBucket, Partner, PartnerAPIKey
from helplines.quota import QuotaState, bucket_start, seconds_until_a_call_frees, window_floor


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
    revoked = PartnerAPIKey.objects.filter(pk__in=[key.pk for key in keys], revoked=False).update(
        revoked=True
    )
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
    current_hour = bucket_start(now)
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
