"""Isolation on the partner pages (OWASP API1): partner A's user walks every route of the
`partner` namespace the resolver knows (a page added later is walked too) with partner B's
identifiers in the path, the query string and the form, and never gets a byte of B's data
nor changes anything of B's; the staff pages and the admin refuse partner users, and the
partner pages refuse staff."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from events.models import BillingStatement, Event
from helplines.models import PartnerAPIKey
from oauth.models import PartnerClient
from oauth.services import create_client
from tests.partner.conftest import Traffic, body


def routes(namespace: str) -> list[URLPattern]:
    """Every URL pattern of `namespace`, from the resolver."""
    _prefix, resolver = get_resolver().namespace_dict[namespace]
    found: list[URLPattern] = []

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                found.append(pattern)

    walk(resolver.url_patterns)
    return found


def path_parameters(pattern: URLPattern) -> list[str]:
    return list(getattr(pattern.pattern, "converters", {}))


class World:
    """B's identifiers (what a hostile URL carries), the bytes only B's data holds, and a
    snapshot of everything of B's a request could change."""

    def __init__(self, traffic: Traffic, other_user: User) -> None:
        b = traffic.theirs
        self.b_client, _secret = create_client(partner=b, name="beacon-oauth")
        self.statement = BillingStatement.objects.get(partner=b, month=traffic.closed_month)
        key = traffic.their_key
        self.identifiers = [
            b.slug,
            str(b.pk),
            key.prefix,
            str(key.pk),
            key.id,
            self.b_client.label,
            str(self.b_client.pk),
            self.b_client.application.client_id,
            str(other_user.pk),
            other_user.get_username(),
            str(self.statement.pk),
        ]
        self.query = {
            "partner": b.slug,
            "partner_id": str(b.pk),
            "slug": b.slug,
            "key": key.prefix,
            "prefix": key.prefix,
            "id": str(key.pk),
            "label": self.b_client.label,
            "client": self.b_client.label,
            "client_id": self.b_client.application.client_id,
            "user": str(other_user.pk),
            "username": other_user.get_username(),
            "month": f"{traffic.closed_month:%Y-%m}",
            "statement": str(self.statement.pk),
            "name": "renamed by A",
        }
        self.forbidden = [
            value.encode()
            for value in (
                b.name,
                b.slug,
                key.prefix,
                key.name,
                self.b_client.label,
                self.b_client.application.client_id,
                self.b_client.application.name,
                other_user.get_username(),
                self.statement.sha256,
                "beacon-sess",
            )
        ]
        self.b_pk = b.pk
        self.other_user_pk = other_user.pk
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        return {
            "keys": list(
                PartnerAPIKey.objects.filter(partner_id=self.b_pk)
                .order_by("prefix")
                .values_list("prefix", "name", "revoked", "expiry_date")
            ),
            "clients": list(
                PartnerClient.objects.filter(partner_id=self.b_pk)
                .order_by("label")
                .values_list("label", "revoked", "application__name")
            ),
            "events": Event.objects.filter(partner_id=self.b_pk).count(),
            "statements": list(
                BillingStatement.objects.filter(partner_id=self.b_pk).values_list("month", "sha256")
            ),
            "user": User.objects.filter(pk=self.other_user_pk).values_list(
                "is_active", "password", "username"
            )[0],
        }

    def assert_no_b_bytes(self, response: Any, what: str) -> None:
        content = body(response) + response.serialize_headers()
        for forbidden in self.forbidden:
            assert forbidden not in content, (what, forbidden)


@pytest.fixture
def world(traffic: Traffic, other_partner_user: User) -> World:
    return World(traffic, other_partner_user)


def test_partner_a_reads_no_byte_of_b_on_any_partner_page_whatever_it_asks(
    world: World, partner_client: Client
) -> None:
    walked = 0
    for pattern in routes("partner"):
        name = f"partner:{pattern.name}"
        params = path_parameters(pattern)
        if not params:
            url = reverse(name)
            response = partner_client.get(url, world.query)
            assert response.status_code < 500, url
            world.assert_no_b_bytes(response, f"GET {url}")
            response = partner_client.post(f"{url}?partner={world.query['partner']}", world.query)
            assert response.status_code < 500, url
            world.assert_no_b_bytes(response, f"POST {url}")
            walked += 1
            continue
        urls = []
        for value in world.identifiers:
            try:
                urls.append(reverse(name, kwargs=dict.fromkeys(params, value)))
            except NoReverseMatch:
                continue  # not a value this converter takes
        assert urls, name
        for url in urls:
            response = partner_client.get(url, world.query)
            # A page that only acts on POST may refuse GET before looking anything up.
            assert response.status_code in (403, 404, 405), (url, response.status_code)
            world.assert_no_b_bytes(response, f"GET {url}")
            response = partner_client.post(url, world.query)
            assert response.status_code in (403, 404), (url, response.status_code)
            world.assert_no_b_bytes(response, f"POST {url}")
        walked += 1
    assert walked == len(routes("partner")) >= 7
    assert world.snapshot() == world.before


def test_the_staff_pages_and_the_admin_refuse_partner_users(
    world: World, traffic: Traffic, partner_client: Client
) -> None:
    values = {"slug": traffic.theirs.slug, "public_id": traffic.lines[0].public_id}
    for pattern in routes("dashboard"):
        params = path_parameters(pattern)
        url = reverse(f"dashboard:{pattern.name}", kwargs={p: values[p] for p in params})
        response = partner_client.get(url, world.query)
        assert response.status_code == 403, url
        world.assert_no_b_bytes(response, url)
        # A page that says why and leads back to theirs, not a bare "403 Forbidden".
        assert 'id="back-home" href="/partner/"' in response.content.decode(), url
    for url in [
        "/admin/helplines/partner/",
        f"/admin/helplines/partner/{traffic.theirs.pk}/change/",
        f"/admin/helplines/partnerapikey/{traffic.their_key.pk}/change/",
        "/admin/events/billingstatement/",
        "/admin/auth/user/",
    ]:
        response = partner_client.get(url)
        assert response.status_code == 403, url
        world.assert_no_b_bytes(response, url)
    for url in ["/admin/", "/", "/admin/login/"]:
        response = partner_client.get(url)
        assert (response.status_code, response["Location"]) == (302, "/partner/"), url
    assert world.snapshot() == world.before


def test_the_partner_pages_refuse_staff_and_send_the_anonymous_to_sign_in(
    world: World, analyst_client: Client, client: Client
) -> None:
    for pattern in routes("partner"):
        params = path_parameters(pattern)
        url = reverse(f"partner:{pattern.name}", kwargs=dict.fromkeys(params, "x"))
        # A page refuses the method it does not take (405) before asking who is signed in;
        # the method it takes is refused to staff (403), and sends the anonymous to sign in.
        statuses = []
        for method in (analyst_client.get, analyst_client.post):
            response = method(url, world.query)
            world.assert_no_b_bytes(response, url)
            statuses.append(response.status_code)
        assert set(statuses) <= {403, 405} and 403 in statuses, (url, statuses)
        statuses = []
        for method in (client.get, client.post):
            response = method(url)
            statuses.append(response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/admin/login/?next=/partner/"), url
        assert set(statuses) <= {302, 405} and 302 in statuses, (url, statuses)
    assert world.snapshot() == world.before


def test_b_reads_its_own_figures_on_the_same_pages(
    traffic: Traffic, other_partner_user: User, analyst_client: Client
) -> None:
    """The mirror: B's user on the very same URLs sees B's figures, not A's."""
    b_client = Client()
    b_client.force_login(other_partner_user)
    params = {"range": "30d", "tz": "UTC"}
    own = b_client.get("/partner/", params | {"partner": "acme"})
    staff = analyst_client.get("/dashboard/partners/beacon/", params)
    assert own.context["query"].partner == traffic.theirs
    assert own.context["kpis"] == staff.context["kpis"]
    assert b"Acme Chat" not in own.content
