"""Dashboard test cast: staff users (an analyst, a superuser) and their clients."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.test import Client


def analysts_group() -> Group:
    """The group its data migration creates; recreated by the same code after a
    transactional test's flush removed it (tests that run the rollup are transactional)."""
    if not Group.objects.filter(name="Analysts").exists():
        migration = importlib.import_module("dashboard.migrations.0001_analysts_group")
        migration.create_analysts(apps, None)
    return Group.objects.get(name="Analysts")


@pytest.fixture
def analyst(db: None) -> User:
    user = User.objects.create_user("ana", password="analyst-pass-123", is_staff=True)
    user.groups.add(analysts_group())
    return user


@pytest.fixture
def staff_client(analyst: User) -> Client:
    client = Client()
    client.force_login(analyst)
    return client


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", "root-pass-123")


@pytest.fixture
def exporter(db: None) -> User:
    """Staff who may view and export events in the admin."""
    user = User.objects.create_user("exporter", password="exporter-pass-123", is_staff=True)
    analysts_group()  # its migration also creates the export permission
    user.user_permissions.add(
        Permission.objects.get(codename="view_event"),
        Permission.objects.get(codename="export_event"),
    )
    return user
