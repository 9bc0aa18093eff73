"""Dashboard test cast: staff users (an analyst, a superuser) and their clients."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client


@pytest.fixture
def analyst(db: None) -> User:
    user = User.objects.create_user("ana", password="analyst-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Analysts"))
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
    user.user_permissions.add(
        Permission.objects.get(codename="view_event"),
        Permission.objects.get(codename="export_event"),
    )
    return user
