"""manage.py create_partner: a partner and one key, the key alone on stdout's last line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import Event
from helplines.models import Helpline, Partner, PartnerAPIKey
from tests.api.bodies import post_json


def create_partner(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_partner", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def send_display(raw_key: str, helpline: Helpline) -> tuple[int, dict]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    body = {
        "helpline_id": helpline.public_id,
        "session_id": "sess_first_display",
        "timestamp": timezone.now().isoformat(),
    }
    response = post_json(client, "/v1/events/helpline_display", body)
    return response.status_code, response.json()


@pytest.mark.django_db
def test_the_key_is_alone_on_the_last_line_and_works(helpline: Helpline) -> None:
    out, err = create_partner("Northwind Chat")

    raw_key = out.splitlines()[-1]
    assert out == raw_key + "\n"
    assert raw_key.strip() == raw_key and " " not in raw_key
    partner = Partner.objects.get()
    assert (partner.name, partner.slug, partner.is_active) == (
        "Northwind Chat",
        "northwind-chat",
        True,
    )
    key = PartnerAPIKey.objects.get()
    assert (key.partner, key.is_test, key.revoked) == (partner, False, False)
    assert raw_key.startswith(key.prefix + ".")
    assert "not shown again" in err

    status, body = send_display(raw_key, helpline)

    assert status == 201
    assert body["type"] == "helpline_display"
    event = Event.objects.get()
    assert (event.partner, event.api_key, event.is_test) == (partner, key, False)


@pytest.mark.django_db
def test_slug_quota_and_test_key_options(helpline: Helpline) -> None:
    out, err = create_partner("Staging Corp", "--slug", "staging-corp", "--quota", "250", "--test")

    raw_key = out.splitlines()[-1]
    partner = Partner.objects.get(slug="staging-corp")
    assert partner.daily_quota == 250
    assert PartnerAPIKey.objects.get(partner=partner).is_test
    assert "test key" in err

    status, _ = send_display(raw_key, helpline)

    assert status == 201
    assert Event.objects.get().is_test is True


@pytest.mark.django_db
def test_a_taken_slug_is_refused_and_nothing_is_created(partner: Partner) -> None:
    with pytest.raises(CommandError, match="slug"):
        create_partner("Another Acme", "--slug", partner.slug)

    assert Partner.objects.count() == 1
    assert PartnerAPIKey.objects.count() == 0


@pytest.mark.django_db
def test_a_negative_quota_is_refused() -> None:
    with pytest.raises(CommandError, match="--quota must be zero or more"):
        create_partner("Quota Co", "--quota", "-1")

    assert Partner.objects.count() == 0
