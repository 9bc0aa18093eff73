"""Every change to partners, keys, helplines, quotas, users, groups and permissions leaves
exactly one audit entry: who, what, the changed fields before and after; never a secret."""

import json
import sys
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEntry
from audit.trail import NOT_RECORDED
from helplines.models import Helpline, Partner, Topic
from helplines.services import issue_key, revoke_keys
from tests.conftest import IssuedKey


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", "root-pass-123")


@pytest.fixture
def admin_client(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def entries_after(mark: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(pk__gt=mark).order_by("pk"))


def last_pk() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def as_row(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.actor,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.before,
        entry.after,
    )


def test_issuing_a_key_records_it_without_its_hash(partner: Partner) -> None:
    mark = last_pk()

    api_key, raw_key = issue_key(partner=partner, name="production")

    (entry,) = entries_after(mark)
    assert as_row(entry) == (
        "system",
        Action.CREATE,
        "helplines.partnerapikey",
        api_key.prefix,
        {},
        {
            "prefix": api_key.prefix,
            "name": "production",
            "created": entry.after["created"],
            "revoked": False,
            "expiry_date": None,
            "partner": partner.pk,
            "is_test": False,
        },
    )
    assert entry.actor_user_id is None
    assert entry.object_repr == f"production ({api_key.prefix})"
    stored = json.dumps([entry.before, entry.after, entry.object_id, entry.object_repr])
    assert api_key.hashed_key not in stored
    assert raw_key.split(".", 1)[1] not in stored


def test_changing_a_key_in_the_admin_records_the_changed_field(
    admin_client: Client, live_key: IssuedKey
) -> None:
    api_key = live_key.key
    mark = last_pk()

    response = admin_client.post(
        f"/admin/helplines/partnerapikey/{api_key.pk}/change/",
        {"name": "production-eu", "expiry_date_0": "", "expiry_date_1": ""},
    )

    assert response.status_code == 302
    (entry,) = entries_after(mark)
    assert as_row(entry) == (
        "root",
        Action.UPDATE,
        "helplines.partnerapikey",
        api_key.prefix,
        {"name": "production"},
        {"name": "production-eu"},
    )


def test_revoking_keys_from_the_key_list_records_each(
    admin_client: Client, superuser: User, live_key: IssuedKey, test_key: Any
) -> None:
    mark = last_pk()

    response = admin_client.post(
        "/admin/helplines/partnerapikey/",
        {"action": "revoke_selected", "_selected_action": [live_key.key.pk, test_key.key.pk]},
    )

    assert response.status_code == 302
    rows = sorted(as_row(entry) for entry in entries_after(mark))
    assert rows == sorted(
        [
            (
                "root",
                "update",
                "helplines.partnerapikey",
                key.prefix,
                {"revoked": False},
                {"revoked": True},
            )
            for key in (live_key.key, test_key.key)
        ]
    )
    assert {entry.actor_user_id for entry in entries_after(mark)} == {superuser.pk}


def test_editing_a_partner_and_revoking_a_key_on_its_page(
    admin_client: Client, partner: Partner, live_key: IssuedKey
) -> None:
    mark = last_pk()

    response = admin_client.post(
        f"/admin/helplines/partner/{partner.pk}/change/",
        {
            "name": partner.name,
            "slug": partner.slug,
            "is_active": "on",
            "billing_timezone": "Europe/Paris",
            "daily_quota": "2500",
            "notes": "",
            "revoke_keys": [live_key.key.prefix],
        },
    )

    assert response.status_code == 302
    assert [as_row(entry) for entry in entries_after(mark)] == [
        (
            "root",
            Action.UPDATE,
            "helplines.partner",
            str(partner.pk),
            {"billing_timezone": "UTC", "daily_quota": 1000},
            {"billing_timezone": "Europe/Paris", "daily_quota": 2500},
        ),
        (
            "root",
            Action.UPDATE,
            "helplines.partnerapikey",
            live_key.key.prefix,
            {"revoked": False},
            {"revoked": True},
        ),
    ]


def test_revoking_keys_outside_the_admin_records_each_once(
    partner: Partner, live_key: IssuedKey
) -> None:
    """`revoke_keys` is the one way keys are revoked, from any caller; a key already
    revoked changes nothing and is not recorded again."""
    mark = last_pk()

    assert revoke_keys([live_key.key]) == 1
    assert revoke_keys([live_key.key]) == 0

    assert [as_row(entry) for entry in entries_after(mark)] == [
        (
            "system",
            Action.UPDATE,
            "helplines.partnerapikey",
            live_key.key.prefix,
            {"revoked": False},
            {"revoked": True},
        )
    ]


def test_saving_without_a_change_records_nothing(admin_client: Client, partner: Partner) -> None:
    mark = last_pk()
    partner.save()

    assert entries_after(mark) == []


def test_a_helpline_and_its_topics(helpline: Helpline, topic: Topic) -> None:
    other = Topic.objects.create(name="Abuse", slug="abuse")
    mark = last_pk()

    helpline.is_active = False
    helpline.hourly_capacity = 40
    helpline.save()
    helpline.topics.add(other)
    helpline.topics.remove(topic)

    assert [as_row(entry) for entry in entries_after(mark)] == [
        (
            "system",
            "update",
            "helplines.helpline",
            str(helpline.pk),
            {"is_active": True, "hourly_capacity": 50},
            {"is_active": False, "hourly_capacity": 40},
        ),
        (
            "system",
            "update",
            "helplines.helpline",
            str(helpline.pk),
            {"topics": ["Suicidal thoughts"]},
            {"topics": ["Abuse", "Suicidal thoughts"]},
        ),
        (
            "system",
            "update",
            "helplines.helpline",
            str(helpline.pk),
            {"topics": ["Abuse", "Suicidal thoughts"]},
            {"topics": ["Abuse"]},
        ),
    ]


def test_a_users_groups_from_either_side(db: None) -> None:
    user = User.objects.create_user("ana", password="x-pass-123", is_staff=True)
    analysts = Group.objects.create(name="Auditors")
    mark = last_pk()

    user.groups.add(analysts)
    analysts.user_set.remove(user)

    assert [as_row(entry) for entry in entries_after(mark)] == [
        ("system", "update", "auth.user", str(user.pk), {"groups": []}, {"groups": ["Auditors"]}),
        ("system", "update", "auth.user", str(user.pk), {"groups": ["Auditors"]}, {"groups": []}),
    ]


def test_a_groups_permissions_in_the_admin(admin_client: Client) -> None:
    group = Group.objects.create(name="Auditors")
    view_event = Permission.objects.get(codename="view_event")
    mark = last_pk()

    response = admin_client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": "Auditors", "permissions": [view_event.pk]},
    )

    assert response.status_code == 302
    assert [as_row(entry) for entry in entries_after(mark)] == [
        (
            "root",
            "update",
            "auth.group",
            str(group.pk),
            {"permissions": []},
            {"permissions": ["events.view_event"]},
        ),
    ]


def test_a_password_change_is_noted_without_any_hash(db: None) -> None:
    user = User.objects.create_user("ana", password="first-pass-123")
    first_hash = user.password
    mark = last_pk()

    user.set_password("second-pass-456")
    user.save()

    (entry,) = entries_after(mark)
    assert as_row(entry) == (
        "system",
        "update",
        "auth.user",
        str(user.pk),
        {"password": NOT_RECORDED},
        {"password": NOT_RECORDED},
    )
    everything = json.dumps(list(AuditEntry.objects.values("before", "after")))
    assert first_hash not in everything
    assert user.password not in everything
    assert "pbkdf2" not in everything and "md5$" not in everything


def test_a_sign_in_records_nothing(db: None) -> None:
    User.objects.create_user("ana", password="first-pass-123", is_staff=True)
    mark = last_pk()

    response = Client().post("/admin/login/", {"username": "ana", "password": "first-pass-123"})

    assert response.status_code == 302
    assert User.objects.get(username="ana").last_login is not None
    assert entries_after(mark) == []


def test_an_authenticator_is_recorded_without_its_key(db: None) -> None:
    user = User.objects.create_user("ana", password="x-pass-123", is_staff=True)
    mark = last_pk()

    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    device_id = str(device.pk)
    device.confirmed = True
    device.save()
    device.delete()

    rows = [as_row(entry) for entry in entries_after(mark)]
    assert rows == [
        (
            "system",
            "create",
            "otp_totp.totpdevice",
            device_id,
            {},
            {"user": user.pk, "name": "authenticator", "confirmed": False},
        ),
        (
            "system",
            "update",
            "otp_totp.totpdevice",
            device_id,
            {"confirmed": False},
            {"confirmed": True},
        ),
        (
            "system",
            "delete",
            "otp_totp.totpdevice",
            device_id,
            {"user": user.pk, "name": "authenticator", "confirmed": True},
            {},
        ),
    ]
    assert device.key not in json.dumps([row[4:] for row in rows])


def test_deleting_a_partner_records_it_and_its_keys(partner: Partner, live_key: IssuedKey) -> None:
    mark = last_pk()

    partner.delete()

    rows = {(entry.action, entry.object_type, entry.object_id) for entry in entries_after(mark)}
    assert rows == {
        ("delete", "helplines.partner", str(live_key.key.partner_id)),
        ("delete", "helplines.partnerapikey", live_key.key.prefix),
    }


def test_a_command_is_named_as_the_actor(monkeypatch: pytest.MonkeyPatch, db: None) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "create_partner", "Lumen"])

    Partner.objects.create(name="Lumen", slug="lumen")

    assert AuditEntry.objects.get().actor == "system:create_partner"


def test_entries_keep_the_time_of_the_change(partner: Partner) -> None:
    before = timezone.now()
    partner.daily_quota = 10
    partner.save()

    entry = AuditEntry.objects.filter(action="update").get()
    assert before <= entry.at <= timezone.now()
