"""A key's status is read one way everywhere: the API's answer, the admin, the pages."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from events.selectors import key_usage
from helplines.models import KeyStatus, Partner
from helplines.services import issue_key, revoke_keys


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", None))
    return client


def test_an_expired_key_is_expired_for_the_api_the_admin_and_the_pages(
    partner: Partner, superuser_client: Client
) -> None:
    now = timezone.now()
    expired, raw_expired = issue_key(partner=partner, name="old", expiry_date=now)
    revoked, _ = issue_key(partner=partner, name="gone", expiry_date=now)
    revoke_keys([revoked])
    revoked.refresh_from_db()
    active, _ = issue_key(partner=partner, name="live", expiry_date=now + timedelta(days=1))

    assert [key.status(now) for key in (expired, revoked, active)] == [
        KeyStatus.EXPIRED,
        KeyStatus.REVOKED,  # revoked wins over expired
        KeyStatus.ACTIVE,
    ]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_expired}")
    assert api.get("/v1/topics").json()["error"]["code"] == "key_expired"
    assert {usage.name: usage.status for usage in key_usage(partner.pk)} == {
        "old": KeyStatus.EXPIRED,
        "gone": KeyStatus.REVOKED,
        "live": KeyStatus.ACTIVE,
    }
    page = superuser_client.get(f"/admin/helplines/partner/{partner.pk}/change/")
    rows = {
        key.prefix: page.content.decode().split(f"<code>{key.prefix}</code>")[1].split("</tr>")[0]
        for key in (expired, revoked, active)
    }
    assert rows[expired.prefix].endswith("<td>expired</td>")
    assert rows[revoked.prefix].endswith("<td>revoked</td>")
    assert rows[active.prefix].endswith("<td>active</td>")
    # The dashboard's key list reads the same status: not a second reading of the dates.
    dashboard = superuser_client.get(f"/dashboard/partners/{partner.slug}/").content.decode()
    shown = {
        key.prefix: dashboard.split(f"<code>{key.prefix}</code>")[1].split("</tr>")[0]
        for key in (expired, revoked, active)
    }
    assert '<span class="flag flag-over">expired</span>' in shown[expired.prefix]
    assert '<span class="flag flag-over">revoked</span>' in shown[revoked.prefix]
    assert '<span class="flag flag-ok">active</span>' in shown[active.prefix]
