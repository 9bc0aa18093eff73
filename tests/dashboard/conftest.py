"""Dashboard test cast: staff users and a way to send events through the only write path."""

from collections.abc import Callable
from datetime import datetime

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from events.models import EventType
from events.services import NewEvent, record_events
from helplines.models import Helpline, PartnerAPIKey

Send = Callable[..., None]


@pytest.fixture
def send(db: None) -> Send:
    """send(key, helpline, session, when, method="") stores one display (or a click)."""

    def store(
        key: PartnerAPIKey, helpline: Helpline, session: str, when: datetime, method: str = ""
    ) -> None:
        record_events(
            partner=key.partner,
            api_key=key,
            events=[
                NewEvent(
                    type=EventType.CLICK if method else EventType.DISPLAY,
                    helpline_pk=helpline.pk,
                    helpline_id=helpline.public_id,
                    session_id=session,
                    timestamp=when,
                    contact_method=method,
                )
            ],
        )

    return store


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
