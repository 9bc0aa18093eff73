"""The partner's keys page: a key or an OAuth client issued (its secret shown once, never
again, never kept), named, revoked after a confirmation (then refused by the API), its
last use to the hour, every action in the audit trail and listed; another partner's keys
and clients answer 404 and stay as they were."""

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from oauth2_provider.models import AccessToken

from audit.models import AuditEntry
from helplines.models import Helpline, Partner, PartnerAPIKey
from oauth.models import PartnerClient
from tests.api.bodies import post_json
from tests.conftest import IssuedKey, Send
from tests.oauth.conftest import IssuedClient, ask_token, bearer, token_of

NOW = datetime(2026, 11, 22, 14, 35, tzinfo=UTC)


def form_token(page: Client) -> str:
    response = page.get("/partner/keys/")
    assert response.status_code == 200
    token: str = response.context["key_form"].initial["form_token"]
    return token


def issue(page: Client, name: str = "backend", kind: str = "live", token: str = "") -> Any:
    body = {"name": name, "kind": kind, "form_token": token or form_token(page)}
    return page.post("/partner/keys/issue/", body)


def display(helpline: Helpline, session: str = "sess_1") -> dict[str, str]:
    return {
        "helpline_id": helpline.public_id,
        "session_id": session,
        "timestamp": datetime.now(UTC).isoformat(),
    }


def test_a_key_is_issued_shown_once_and_works(
    partner: Partner, helpline: Helpline, page_a: Client, api_client: Any
) -> None:
    token = form_token(page_a)
    response = issue(page_a, "backend", "test", token)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    api_key = PartnerAPIKey.objects.get(partner=partner, name="backend")
    assert api_key.is_test is True
    raw_key = response.context["raw_key"]
    assert raw_key.startswith(api_key.prefix + ".")
    assert f'<code id="raw-secret">{raw_key}</code>' in response.content.decode()
    answer = post_json(api_client(raw_key), "/v1/events/helpline_display", display(helpline))
    assert (answer.status_code, answer.json()["type"]) == (201, "helpline_display")

    # Never shown again: not on the list, not on a reload of the answer (the same POST).
    listing = page_a.get("/partner/keys/")
    assert raw_key not in listing.content.decode()
    assert api_key.prefix in listing.content.decode()
    again = issue(page_a, "backend", "test", token)
    assert (again.status_code, again["Location"]) == (302, "/partner/keys/#keys")
    assert raw_key not in page_a.get(again["Location"]).content.decode()
    assert PartnerAPIKey.objects.filter(partner=partner).count() == 1


def test_the_secret_is_stored_nowhere_but_as_a_hash(
    partner: Partner, page_a: Client, caplog: pytest.LogCaptureFixture
) -> None:
    from django.contrib.sessions.models import Session

    response = issue(page_a, "backend")
    raw_key = response.context["raw_key"]
    secret = raw_key.partition(".")[2]
    assert all(secret not in str(s.get_decoded()) for s in Session.objects.all())
    assert all(secret not in str(e.after) + str(e.before) for e in AuditEntry.objects.all())
    assert secret not in caplog.text
    assert secret not in PartnerAPIKey.objects.get(name="backend").hashed_key


def test_an_issue_form_without_a_name_or_token_issues_nothing(
    partner: Partner, page_a: Client
) -> None:
    assert issue(page_a, name="")["Location"] == "/partner/keys/#keys"
    assert issue(page_a, token="forged")["Location"] == "/partner/keys/#keys"
    assert issue(page_a, kind="gold")["Location"] == "/partner/keys/#keys"
    assert PartnerAPIKey.objects.filter(partner=partner).count() == 0


def test_a_form_naming_another_partner_issues_for_ones_own(
    partner: Partner, other_partner: Partner, page_a: Client
) -> None:
    body = {
        "name": "sneaky",
        "kind": "live",
        "form_token": form_token(page_a),
        "partner": other_partner.pk,
        "partner_id": other_partner.pk,
    }
    assert (
        page_a.post(f"/partner/keys/issue/?partner={other_partner.slug}", body).status_code == 200
    )
    assert PartnerAPIKey.objects.get(name="sneaky").partner == partner


def test_a_key_is_renamed(live_key: IssuedKey, page_a: Client, user_a: User) -> None:
    response = page_a.post(f"/partner/keys/{live_key.key.prefix}/name/", {"name": "web app"})

    assert (response.status_code, response["Location"]) == (302, "/partner/keys/#keys")
    live_key.key.refresh_from_db()
    assert live_key.key.name == "web app"
    entry = AuditEntry.objects.filter(object_id=live_key.key.prefix, action="update").get()
    assert (entry.actor, entry.actor_user_id, entry.before, entry.after) == (
        "pat",
        user_a.pk,
        {"name": "production"},
        {"name": "web app"},
    )
    assert (
        page_a.post(f"/partner/keys/{live_key.key.prefix}/name/", {"name": ""}).status_code == 302
    )
    live_key.key.refresh_from_db()
    assert live_key.key.name == "web app"


def test_a_key_is_revoked_after_confirmation_then_refused_by_the_api(
    live_key: IssuedKey, helpline: Helpline, page_a: Client, api_client: Any
) -> None:
    path = f"/partner/keys/{live_key.key.prefix}/revoke/"
    confirm = page_a.get(path)
    assert confirm.status_code == 200
    assert 'name="confirm"' in confirm.content.decode()

    unconfirmed = page_a.post(path, {})
    assert unconfirmed.status_code == 200
    assert "Tick the box to confirm" in unconfirmed.content.decode()
    live_key.key.refresh_from_db()
    assert live_key.key.revoked is False

    response = page_a.post(path, {"confirm": "on"})
    assert (response.status_code, response["Location"]) == (302, "/partner/keys/#keys")
    live_key.key.refresh_from_db()
    assert live_key.key.revoked is True
    answer = post_json(
        api_client(live_key.secret), "/v1/events/helpline_display", display(helpline)
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "key_revoked")
    listing = page_a.get("/partner/keys/").content.decode()
    assert f"Key {live_key.key.prefix} (production) is revoked." in listing
    assert f'id="revoke-{live_key.key.prefix}"' not in listing


def test_each_keys_last_use_is_shown_to_the_hour(
    send: Send, helpline: Helpline, live_key: IssuedKey, test_key: IssuedKey, page_a: Client
) -> None:
    with time_machine.travel(NOW, tick=False):
        send(live_key.key, helpline, "sess_1", NOW)

    with time_machine.travel(NOW, tick=False):
        response = page_a.get("/partner/keys/")

    used = {key.prefix: key.last_used_hour for key in response.context["keys"]}
    assert used == {live_key.key.prefix: NOW.replace(minute=0), test_key.key.prefix: None}
    html = response.content.decode()
    assert '<td data-col="last-used">2026-11-22 14:00</td>' in html
    assert '<td data-col="last-used"><span class="muted">never</span></td>' in html


def test_key_and_client_actions_are_audited_and_listed(partner: Partner, page_a: Client) -> None:
    issue(page_a, "backend")
    api_key = PartnerAPIKey.objects.get(name="backend")
    page_a.post(f"/partner/keys/{api_key.prefix}/name/", {"name": "backend-2"})
    page_a.post(f"/partner/keys/{api_key.prefix}/revoke/", {"confirm": "on"})
    page_a.post(
        "/partner/keys/clients/new/",
        {"name": "svc", "kind": "test", "form_token": form_token(page_a)},
    )
    client = PartnerClient.objects.get(partner=partner)
    page_a.post(f"/partner/keys/clients/{client.label}/revoke/", {"confirm": "on"})

    activity = page_a.get("/partner/keys/").context["activity"]

    assert [(row.actor, row.what, row.done) for row in activity] == [
        ("pat", f"svc ({client.label})", "revoked the OAuth client"),
        ("pat", f"svc ({client.label})", "created a test OAuth client"),
        ("pat", f"backend-2 ({api_key.prefix})", "revoked the key"),
        ("pat", f"backend-2 ({api_key.prefix})", "renamed it from 'backend' to 'backend-2'"),
        ("pat", f"backend ({api_key.prefix})", "issued a live key"),
    ]
    assert all(row.at.tzinfo is not None for row in activity)


def test_an_oauth_client_is_created_shown_once_and_revoked(
    partner: Partner, helpline: Helpline, page_a: Client
) -> None:
    token = form_token(page_a)
    response = page_a.post(
        "/partner/keys/clients/new/", {"name": "svc", "kind": "live", "form_token": token}
    )
    assert (response.status_code, response["Cache-Control"]) == (200, "no-store")
    client = PartnerClient.objects.select_related("application").get(partner=partner)
    issued = IssuedClient(client, response.context["secret"])
    assert f'<code id="raw-secret">{issued.secret}</code>' in response.content.decode()
    access = token_of(issued)
    answer = post_json(bearer(access), "/v1/events/helpline_display", display(helpline))
    assert answer.status_code == 201
    again = page_a.post(
        "/partner/keys/clients/new/", {"name": "svc", "kind": "live", "form_token": token}
    )
    assert (again.status_code, again["Location"]) == (302, "/partner/keys/#clients")
    assert issued.secret not in page_a.get("/partner/keys/").content.decode()
    assert PartnerClient.objects.filter(partner=partner).count() == 1

    path = f"/partner/keys/clients/{client.label}/revoke/"
    assert page_a.post(path, {}).status_code == 200  # not confirmed
    assert page_a.post(path, {"confirm": "on"})["Location"] == "/partner/keys/#clients"
    client.refresh_from_db()
    assert client.revoked is True
    assert AccessToken.objects.filter(application_id=client.pk).count() == 0
    answer = post_json(bearer(access), "/v1/events/helpline_display", display(helpline, "s2"))
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "invalid_token")
    assert ask_token(issued).json() == {"error": "invalid_client"}


def test_another_partners_keys_and_clients_answer_404_and_stay_as_they_were(
    page_a: Client,
    live_key: IssuedKey,
    key_b: IssuedKey,
    client_b: IssuedClient,
    other_partner: Partner,
) -> None:
    entries = AuditEntry.objects.count()
    prefix, label = key_b.key.prefix, client_b.client.label
    for method, path, body in [
        ("get", f"/partner/keys/{prefix}/revoke/", {}),
        ("post", f"/partner/keys/{prefix}/revoke/", {"confirm": "on"}),
        ("post", f"/partner/keys/{prefix}/name/", {"name": "hijacked"}),
        ("get", f"/partner/keys/clients/{label}/revoke/", {}),
        ("post", f"/partner/keys/clients/{label}/revoke/", {"confirm": "on"}),
        # Another partner named in the query or the form changes nothing either.
        (
            "post",
            f"/partner/keys/{prefix}/revoke/?partner={other_partner.slug}",
            {"confirm": "on", "partner": other_partner.pk},
        ),
    ]:
        assert getattr(page_a, method)(path, body).status_code == 404, path

    key_b.key.refresh_from_db()
    client_b.client.refresh_from_db()
    assert (key_b.key.revoked, key_b.key.name, client_b.client.revoked) == (
        False,
        "beacon-prod",
        False,
    )
    assert AuditEntry.objects.count() == entries
    html = page_a.get(f"/partner/keys/?partner={other_partner.slug}").content.decode()
    assert prefix not in html and label not in html and "beacon" not in html
    assert live_key.key.prefix in html


def test_only_signed_in_partner_users_with_a_csrf_token_change_keys(
    user_a: User, live_key: IssuedKey, client: Client, admin_client: Client
) -> None:
    path = f"/partner/keys/{live_key.key.prefix}/revoke/"
    assert client.get("/partner/keys/")["Location"].startswith("/admin/login/")
    assert client.post(path, {"confirm": "on"})["Location"].startswith("/admin/login/")
    assert admin_client.post(path, {"confirm": "on"}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user_a)
    assert strict.post(path, {"confirm": "on"}).status_code == 403
    assert strict.get("/partner/keys/issue/").status_code == 405
    live_key.key.refresh_from_db()
    assert live_key.key.revoked is False
