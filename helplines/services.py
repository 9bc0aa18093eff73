"""Writes to partners and their keys."""

from datetime import datetime

from django.db import transaction
from django.utils.text import slugify

from helplines.models import Partner, PartnerAPIKey


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
    """Revoke `keys` (irreversible); returns how many were still live."""
    return PartnerAPIKey.objects.filter(pk__in=[key.pk for key in keys], revoked=False).update(
        revoked=True
    )
