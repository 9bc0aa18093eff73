"""Partner API keys (docs/product.md §3): three ways to send one, 401/403, the partner from it."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django import Settings
from rest_framework.test import APIClient

from events.models import Event
from helplines.models import Helpline, Partner, PartnerAPIKey
from helplines.services import issue_key, revoke_keys
from tests.conftest import IssuedKey

URL = "/v1/events/helpline_display"


@pytest.fixture
def body(helpline: Helpline, now: datetime) -> str:
    return json.dumps(
        {
            "helpline_id": helpline.public_id,
            "session_id": "sess_1",
            "timestamp": now.isoformat(),
        }
    )


def send(body: str, **headers: Any) -> Any:
    return APIClient().post(URL, body, content_type="application/json", **headers)


@pytest.mark.parametrize(
    "header",
    [
        ("HTTP_AUTHORIZATION", "Bearer {key}"),
        ("HTTP_AUTHORIZATION", "bearer {key}"),
        ("HTTP_AUTHORIZATION", "Api-Key {key}"),
        ("HTTP_X_API_KEY", "{key}"),
    ],
)
def test_key_is_accepted_in_each_documented_header(
    body: str, live_key: IssuedKey, partner: Partner, header: tuple[str, str]
) -> None:
    name, template = header
    response = send(body, **{name: template.format(key=live_key.secret)})

    assert response.status_code == 201
    assert Event.objects.get().partner == partner


def test_missing_key_is_401_with_www_authenticate(body: str) -> None:
    response = send(body)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="throughline"'
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
        }
    }


@pytest.mark.parametrize(
    "raw_key",
    ["nonsense", "abcdefgh.wrongsecretwrongsecretwrongsecret", "", "Bearer"],
)
def test_unknown_key_is_401(body: str, live_key: IssuedKey, raw_key: str) -> None:
    response = send(body, HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="throughline"'
    assert response.json()["error"]["code"] in {"invalid_api_key", "not_authenticated"}
    assert Event.objects.count() == 0


def test_right_prefix_with_wrong_secret_is_401(body: str, live_key: IssuedKey) -> None:
    prefix = live_key.key.prefix
    response = send(body, HTTP_AUTHORIZATION=f"Bearer {prefix}.{'x' * 32}")

    assert response.status_code == 401
    assert response.json()["error"] == {"code": "invalid_api_key", "message": "Unknown API key."}


def test_key_in_the_query_string_is_ignored(body: str, live_key: IssuedKey) -> None:
    response = APIClient().post(
        f"{URL}?api_key={live_key.secret}&key={live_key.secret}",
        body,
        content_type="application/json",
    )
    assert response.status_code == 401


def test_unsupported_authorization_scheme_is_401(body: str, live_key: IssuedKey) -> None:
    response = send(body, HTTP_AUTHORIZATION=f"Token {live_key.secret}")
    assert response.status_code == 401


def test_revoked_key_is_403(body: str, live_key: IssuedKey) -> None:
    revoke_keys([live_key.key])

    response = send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}")

    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "key_revoked", "message": "This API key has been revoked."}
    }


def test_expired_key_is_403(body: str, partner: Partner) -> None:
    _, raw = issue_key(
        partner=partner, name="old", expiry_date=timezone.now() - timedelta(seconds=1)
    )
    response = send(body, HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "key_expired"


def test_key_with_future_expiry_works(body: str, partner: Partner) -> None:
    _, raw = issue_key(partner=partner, name="new", expiry_date=timezone.now() + timedelta(days=1))
    assert send(body, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 201


def test_inactive_partner_is_403(body: str, live_key: IssuedKey, partner: Partner) -> None:
    partner.is_active = False
    partner.save()

    response = send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "partner_inactive"


def test_rotation_old_and_new_keys_both_work_until_revoked(
    body: str, live_key: IssuedKey, partner: Partner
) -> None:
    _, new_raw = issue_key(partner=partner, name="rotated")
    assert send(body, HTTP_AUTHORIZATION=f"Bearer {new_raw}").status_code == 201
    revoke_keys([live_key.key])
    assert send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}").status_code == 403
    assert send(body, HTTP_AUTHORIZATION=f"Bearer {new_raw}").status_code == 200


def test_keys_are_stored_hashed_never_in_clear(live_key: IssuedKey) -> None:
    stored = PartnerAPIKey.objects.get()
    prefix, _, secret = live_key.secret.partition(".")

    assert stored.prefix == prefix
    assert secret not in stored.hashed_key
    assert secret not in stored.pk
    assert stored.hashed_key.startswith("sha512$$")


def test_revoking_is_irreversible(live_key: IssuedKey) -> None:
    revoke_keys([live_key.key])
    key = PartnerAPIKey.objects.get()
    key.revoked = False
    with pytest.raises(Exception, match="revoked"):
        key.save()


def test_revocation_takes_effect_at_once_even_for_a_key_in_use(
    body: str, live_key: IssuedKey
) -> None:
    assert send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}").status_code == 201  # cached
    revoke_keys([live_key.key])

    assert send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}").status_code == 403


def test_a_cached_key_still_checks_the_secret(body: str, live_key: IssuedKey) -> None:
    assert send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}").status_code == 201
    forged = f"{live_key.key.prefix}.{'y' * 32}"

    assert send(body, HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401


def test_partner_deactivation_is_seen_within_the_cache_lifetime(
    body: str, live_key: IssuedKey, partner: Partner, settings: Settings
) -> None:
    settings.API_KEY_CACHE_SECONDS = 0  # as if the cached row had expired
    assert send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}").status_code == 201
    partner.is_active = False
    partner.save()

    assert send(body, HTTP_AUTHORIZATION=f"Bearer {live_key.secret}").status_code == 403


def test_a_key_whose_prefix_is_not_letters_and_digits_is_unknown(
    api_client: Callable[[str], APIClient],
) -> None:
    # A NUL would reach PostgreSQL as a query parameter, which refuses it with an error.
    response = api_client("ab\x00defgh.0123456789abcdef").get("/v1/topics")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
