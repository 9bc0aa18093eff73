"""Partner users: created by staff (command or admin) with a one-time link to set their
password, signed in on the one sign-in page, kept to /partner/, deactivated, audited."""

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import PartnerMembership
from accounts.partners import create_partner_user, deactivate_partner_users, password_link_path
from audit.models import Action, AuditEntry
from helplines.models import Partner

LOGIN = "/admin/login/"
PASSWORD = "partner-pass-7f3c1e"
LINK = re.compile(r"^http://localhost:8000(/account/password/set/[^/]+/[^/]+/)$", re.M)


@pytest.fixture
def partner_user(partner: Partner) -> User:
    user = create_partner_user(partner=partner, username="pat", email="pat@acme.example")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("alice", password="staff-pass-8d1f2a", is_staff=True)


def link_from_command(*args: str) -> str:
    out = StringIO()
    call_command("create_partner_user", *args, stdout=out)
    match = LINK.search(out.getvalue())
    assert match is not None, out.getvalue()
    return match[1]


def set_password(client: Client, path: str, password: str = PASSWORD) -> Any:
    """Follows the link as a browser does: the token moves to the session, then the form."""
    page = client.get(path)
    assert page.status_code == 302
    return client.post(page["Location"], {"new_password1": password, "new_password2": password})


def sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_a_user_created_by_the_command_sets_a_password_signs_in_and_lands_on_its_page(
    partner: Partner, client: Client
) -> None:
    path = link_from_command("acme", "pat", "--email", "pat@acme.example")

    user = User.objects.get(username="pat")
    assert (user.email, user.is_staff, user.is_active, user.has_usable_password()) == (
        "pat@acme.example",
        False,
        True,
        False,
    )
    assert PartnerMembership.objects.get(user=user).partner == partner

    response = set_password(client, path)
    assert (response.status_code, response["Location"]) == (302, LOGIN)

    response = sign_in(client, "pat")
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    response = client.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, "/partner/")
    page = client.get("/partner/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Analytics</h1>" in html
    assert '<span id="signed-in-as">pat, Acme Chat</span>' in html
    assert 'action="/account/sign-out/"' in html
    assert "<script>" not in html and "style=" not in html


def test_the_link_works_once(partner: Partner, client: Client) -> None:
    path = link_from_command("acme", "pat")
    set_password(client, path)

    again = Client()
    page = again.get(path)
    refused = again.post(path, {"new_password1": "other-9ab1", "new_password2": "other-9ab1"})

    assert page.status_code == refused.status_code == 200
    assert "This link is no longer valid" in page.content.decode()
    assert "This link is no longer valid" in refused.content.decode()
    assert User.objects.get(username="pat").check_password(PASSWORD)


def test_the_link_expires_after_72_hours(partner: Partner, client: Client) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=72, minutes=1)):
        path = link_from_command("acme", "pat")

    page = client.get(path, follow=True)

    assert "This link is no longer valid" in page.content.decode()
    assert not User.objects.get(username="pat").has_usable_password()


def test_a_link_just_within_72_hours_still_works(partner: Partner, client: Client) -> None:
    with time_machine.travel(timezone.now() - timedelta(hours=71, minutes=59)):
        path = link_from_command("acme", "pat")

    set_password(client, path)

    assert User.objects.get(username="pat").check_password(PASSWORD)


def test_a_link_never_sets_a_staff_password(staff: User, client: Client) -> None:
    page = client.get(password_link_path(staff), follow=True)

    assert "This link is no longer valid" in page.content.decode()


def test_the_command_refuses_an_unknown_partner_and_a_taken_username(partner: Partner) -> None:
    with pytest.raises(CommandError, match="No partner 'nope'"):
        call_command("create_partner_user", "nope", "pat")
    link_from_command("acme", "pat")
    with pytest.raises(CommandError, match="The username 'PAT' is taken"):
        call_command("create_partner_user", "acme", "PAT")
    assert PartnerMembership.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "status", "location"),
    [
        ("/admin/", 302, "/partner/"),
        ("/", 302, "/partner/"),
        ("/admin/login/", 302, "/partner/"),
        ("/admin/helplines/partner/", 403, None),
        ("/admin/auth/user/", 403, None),
        ("/admin/accounts/partnermembership/", 403, None),
        ("/dashboard/", 403, None),
        ("/dashboard/partners/acme/", 403, None),
        ("/dashboard/partners/beacon/report/", 403, None),
        ("/partner/", 200, None),
        # Browsers ask every site for its icon, whatever the page declares.
        ("/favicon.ico", 301, "/static/api/favicon.svg"),
    ],
)
def test_a_partner_user_never_reaches_the_admin_or_the_staff_dashboard(
    partner_user: User, client: Client, url: str, status: int, location: str | None
) -> None:
    client.force_login(partner_user)

    response = client.get(url)

    assert response.status_code == status
    if location is not None:
        assert response["Location"] == location
    if status == 403:
        assert b"Acme" not in response.content


def staff_urls() -> list[str]:
    """Every staff dashboard URL from the resolver (a page added later is covered), with
    another partner's slug in its parameters."""
    from django.urls import get_resolver

    resolver = get_resolver()
    urls = []
    for name, values in resolver.namespace_dict["dashboard"][1].reverse_dict.lists():
        if not isinstance(name, str):
            continue
        for _possibility, _pattern, _defaults, converters in values:
            kwargs = {key: "beacon" for key in converters}
            urls.append(reverse(f"dashboard:{name}", kwargs=kwargs))
    return sorted(set(urls))


def test_a_partner_user_gets_403_on_every_staff_dashboard_url(
    partner_user: User, other_partner: Partner, client: Client
) -> None:
    client.force_login(partner_user)
    urls = staff_urls()
    assert "/dashboard/export/billing.csv" in urls and len(urls) >= 12

    answers = {url: client.get(url + "?partner=beacon").status_code for url in urls}

    assert answers == dict.fromkeys(urls, 403)


def test_staff_and_anonymous_users_do_not_reach_the_partner_page(
    staff: User, client: Client
) -> None:
    response = client.get("/partner/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/partner/")

    client.force_login(staff)
    assert client.get("/partner/").status_code == 403


def test_users_of_an_inactive_partner_cannot_sign_in_nor_use_their_page(
    partner: Partner, partner_user: User, client: Client
) -> None:
    partner.is_active = False
    partner.save()

    response = sign_in(client, "pat")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Please enter the correct username and password. Note that both" in html
    assert "staff account" not in html
    client.force_login(partner_user)
    assert client.get("/partner/").status_code == 403


def test_a_staff_account_that_also_has_a_membership_is_refused(
    partner: Partner, staff: User, client: Client
) -> None:
    PartnerMembership.objects.create(user=staff, partner=partner)

    response = sign_in(client, "alice", "staff-pass-8d1f2a")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_staff_still_sign_in_on_the_same_page(staff: User, client: Client) -> None:
    response = sign_in(client, "alice", "staff-pass-8d1f2a")

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_a_sign_in_without_next_lands_on_each_users_home(
    staff: User, partner_user: User, client: Client
) -> None:
    """A script (or a form posted without its hidden `next`) lands where a browser would."""
    response = client.post(LOGIN, {"username": "alice", "password": "staff-pass-8d1f2a"})
    assert (response.status_code, response["Location"]) == (302, "/admin/")

    partner_client = Client()
    response = partner_client.post(LOGIN, {"username": "pat", "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    response = partner_client.get("/admin/")
    assert (response.status_code, response["Location"]) == (302, "/partner/")


def test_deactivating_a_partner_user_ends_their_session(partner_user: User, client: Client) -> None:
    client.force_login(partner_user)
    assert client.get("/partner/").status_code == 200

    assert deactivate_partner_users([partner_user.partner_membership]) == 1

    response = client.get("/partner/")
    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/partner/")
    assert sign_in(client, "pat").status_code == 200  # the form again: refused


def test_signing_out(partner_user: User, client: Client) -> None:
    client.force_login(partner_user)

    response = client.post("/account/sign-out/")

    assert (response.status_code, response["Location"]) == (302, LOGIN)
    assert "_auth_user_id" not in client.session


def test_partner_second_factor_is_off_by_default_and_can_be_required(
    partner_user: User, client: Client, settings: Any
) -> None:
    settings.STAFF_REQUIRE_2FA = True
    client.force_login(partner_user)
    assert client.get("/partner/").status_code == 200

    settings.PARTNER_REQUIRE_2FA = True
    response = client.get("/partner/")

    assert (response.status_code, response["Location"]) == (
        302,
        "/account/2fa/enrol/?next=%2Fpartner%2F",
    )
    assert client.get("/account/2fa/enrol/").status_code == 200


def test_forgot_password_mails_a_link_to_a_partner_user_only(
    partner_user: User, staff: User, client: Client
) -> None:
    staff.email = "alice@throughline.example"
    staff.save()

    answers = [
        client.post("/account/password/forgot/", {"email": address})
        for address in ["PAT@acme.example", "nobody@example.org", "alice@throughline.example"]
    ]

    # The same answer whoever the address belongs to: no one learns who has an account.
    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, "/account/password/forgot/sent/")
    }
    (message,) = mail.outbox
    assert isinstance(message.body, str)
    assert message.to == ["pat@acme.example"]
    path = re.search(r"http://testserver(/account/password/set/\S+/)", message.body)
    assert path is not None
    set_password(client, path[1], "brand-new-pass-4e1d")
    assert User.objects.get(username="pat").check_password("brand-new-pass-4e1d")


def test_the_sign_in_page_offers_the_forgotten_password_page(client: Client, db: None) -> None:
    html = client.get(LOGIN).content.decode()

    assert 'href="/account/password/forgot/"' in html
    assert client.get("/account/password/forgot/").status_code == 200


# --------------------------------------------------------------------------- the admin


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "root-pass"))
    return client


def test_staff_create_a_partner_user_in_the_admin_and_get_its_link(
    partner: Partner, admin_client: Client
) -> None:
    response = admin_client.post(
        "/admin/accounts/partnermembership/add/",
        {"partner": partner.pk, "username": "pat", "email": "pat@acme.example"},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    user = User.objects.get(username="pat")
    assert user.partner_membership.partner == partner
    assert not user.is_staff and not user.has_usable_password()
    path = re.search(
        r"<code>http://testserver(/account/password/set/\S+/)</code>", response.content.decode()
    )
    assert path is not None
    set_password(Client(), path[1])
    assert User.objects.get(username="pat").check_password(PASSWORD)


def test_the_admin_refuses_a_taken_username(partner: Partner, admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/accounts/partnermembership/add/",
        {"partner": partner.pk, "username": "ROOT", "email": ""},
    )

    assert response.status_code == 200
    assert "This username is taken." in response.content.decode()
    assert PartnerMembership.objects.count() == 0


def test_staff_deactivate_and_print_links_in_the_admin(
    partner_user: User, admin_client: Client
) -> None:
    membership = partner_user.partner_membership
    changelist = "/admin/accounts/partnermembership/"

    page = admin_client.post(
        changelist, {"action": "password_links", "_selected_action": [membership.pk]}
    )
    assert page.status_code == 200
    assert "/account/password/set/" in page.content.decode()

    admin_client.post(changelist, {"action": "deactivate", "_selected_action": [membership.pk]})

    partner_user.refresh_from_db()
    assert partner_user.is_active is False
    assert admin_client.get(f"{changelist}{membership.pk}/delete/").status_code == 403


# --------------------------------------------------------------------------- audit


def test_creating_and_deactivating_a_partner_user_is_audited(partner: Partner) -> None:
    mark = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    user = create_partner_user(partner=partner, username="pat", email="pat@acme.example")
    deactivate_partner_users([user.partner_membership])

    rows = [
        (e.action, e.object_type, e.object_id, e.before, e.after)
        for e in AuditEntry.objects.filter(pk__gt=mark).order_by("pk")
    ]
    membership = user.partner_membership
    assert rows[0][:3] == (Action.CREATE, "auth.user", str(user.pk))
    assert rows[0][4]["password"] == "[not recorded]"
    assert rows[1:] == [
        (
            Action.CREATE,
            "accounts.partnermembership",
            str(membership.pk),
            {},
            {
                "id": membership.pk,
                "user": user.pk,
                "partner": partner.pk,
                "created_at": DjangoJSONEncoder().default(membership.created_at),
            },
        ),
        (Action.UPDATE, "auth.user", str(user.pk), {"is_active": True}, {"is_active": False}),
    ]
