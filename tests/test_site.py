"""The site's front door: the root, the favicon, /healthz, the login for staff pages."""

import pytest
from django.test import Client


def test_root_leads_to_the_dashboard_login(client: Client, db: None) -> None:
    response = client.get("/", follow=True)
    assert response.redirect_chain[0] == ("/dashboard/", 302)
    assert response.request["PATH_INFO"] == "/admin/login/"


def test_favicon_is_the_products_icon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/api/favicon.svg"


@pytest.mark.django_db
def test_healthz_answers_when_the_database_does(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_refuses_other_methods_as_json(client: Client) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
