"""OAuth clients in the admin (secret shown once, revoked with their tokens), their audit
entries, expired tokens cleared, the OpenAPI scheme, and the README's example as pasted."""

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import global_settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from audit.models import Action, AuditEntry
from audit.trail import NOT_RECORDED
from events.models import Event
from helplines.models import Helpline, Partner
from oauth.models import PartnerClient
from tests.oauth.conftest import IssuedClient, ask_token, bearer, token_of

ROOT = Path(__file__).resolve().parents[2]
CHANGELIST = "/admin/oauth/partnerclient/"


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "root-pass"))
    return client


def test_staff_create_a_client_and_see_its_secret_once(
    partner: Partner, admin_client: Client
) -> None:
    response = admin_client.post(
        f"{CHANGELIST}add/", {"partner": partner.pk, "name": "production", "is_test": "on"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    client = PartnerClient.objects.get()
    assert (client.partner, client.is_test, client.application.name) == (
        partner,
        True,
        "production",
    )
    html = response.content.decode()
    client_id = re.search(r'<code id="client-id">(\S+)</code>', html)
    secret = re.search(r'<code id="client-secret">(\S+)</code>', html)
    assert client_id is not None and secret is not None
    assert ask_token(IssuedClient(client, secret[1])).status_code == 200
    # Never again: the change page shows neither the secret nor its hash.
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    assert secret[1] not in page and client.application.client_secret not in page


def test_the_library_admin_pages_are_gone(admin_client: Client) -> None:
    assert admin_client.get("/admin/oauth2_provider/accesstoken/").status_code == 404
    assert admin_client.get("/admin/oauth2_provider/application/").status_code == 404


def test_revoking_in_the_admin_stops_the_tokens(
    live_client: IssuedClient, test_client: IssuedClient, admin_client: Client
) -> None:
    live = bearer(token_of(live_client))
    test = bearer(token_of(test_client))
    assert live.get("/v1/topics").status_code == test.get("/v1/topics").status_code == 200

    admin_client.post(
        CHANGELIST,
        {"action": "revoke_tokens_of_selected", "_selected_action": [test_client.client.pk]},
    )
    assert test.get("/v1/topics").status_code == 401
    assert bearer(token_of(test_client)).get("/v1/topics").status_code == 200

    admin_client.post(
        CHANGELIST, {"action": "revoke_selected", "_selected_action": [live_client.client.pk]}
    )
    assert live.get("/v1/topics").status_code == 401
    assert ask_token(live_client).status_code == 401
    assert admin_client.get(f"{CHANGELIST}{live_client.client.pk}/delete/").status_code == 403


def test_clients_are_audited_without_their_secret(partner: Partner) -> None:
    from oauth.services import create_client, revoke_clients

    mark = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    client, secret = create_client(partner=partner, name="production")
    revoke_clients([client])

    entries = list(AuditEntry.objects.filter(pk__gt=mark).order_by("pk"))
    assert [(e.action, e.object_type) for e in entries] == [
        (Action.CREATE, "oauth2_provider.application"),
        (Action.CREATE, "oauth.partnerclient"),
        (Action.UPDATE, "oauth.partnerclient"),
    ]
    assert entries[0].after["client_secret"] == NOT_RECORDED
    assert secret not in str(entries[0].after)
    assert entries[1].after["label"] == client.label
    assert (entries[2].before, entries[2].after) == ({"revoked": False}, {"revoked": True})


def test_cleartokens_deletes_expired_tokens(live_client: IssuedClient) -> None:
    token_of(live_client)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        token_of(live_client)
        call_command("cleartokens")

    assert AccessToken.objects.count() == 1


def test_the_schema_offers_client_credentials_on_every_operation(db: None) -> None:
    schema = APIClient().get("/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert schema["components"]["securitySchemes"]["OAuth2ClientCredentials"]["flows"] == {
        "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}
    }
    operations = [
        operation
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "security" in operation
    ]
    assert operations
    assert all({"OAuth2ClientCredentials": []} in op["security"] for op in operations)


def oauth_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### OAuth2 client credentials") :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None
    return match[1]


@pytest.mark.postgres  # the shell's commands must reach the test database
@pytest.mark.django_db(transaction=True)
def test_the_readme_oauth_example_works_as_pasted(live_server: LiveServer, settings: Any) -> None:
    # The shell's command hashes the secret with the production hasher: the server must know it.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    helpline_id = re.search(r"HELPLINE=(\S+)", oauth_example())
    assert helpline_id is not None
    Helpline.objects.create(public_id=helpline_id[1], name="Listening Line UK", country_code="GB")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }

    result = subprocess.run(
        [
            "bash",
            "-euo",
            "pipefail",
            "-c",
            oauth_example().replace("http://127.0.0.1:8000", live_server.url),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert '"type":"helpline_display"' in result.stdout
    event = Event.objects.get()
    client = PartnerClient.objects.get()
    assert (event.partner_id, event.api_key_id, event.is_test) == (
        client.partner_id,
        client.label,
        False,
    )
    assert Application.objects.count() == 1
