"""manage.py purge_events: raw events older than the retention are deleted, no others."""

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Protocol

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings
from pytest_django import Settings

from events.models import Event, EventType
from events.partitions import is_partitioned
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner
from tests.conftest import IssuedKey

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Store(Protocol):
    """The store fixture."""

    def __call__(self, *timestamps: datetime) -> list[int]: ...


@pytest.fixture(autouse=True)
def short_late_window(settings: Settings) -> None:
    """A one-day late-arrival window: purges of a few days are allowed (more than 2)."""
    settings.EVENTS_LATE_ARRIVAL_DAYS = 1


@pytest.fixture
def store(
    transactional_db: None, partner: Partner, live_key: IssuedKey, helpline: Helpline
) -> Store:
    """store(*timestamps) -> the ids of one display per timestamp, in order."""

    def make(*timestamps: datetime) -> list[int]:
        events = [
            NewEvent(
                type=EventType.DISPLAY,
                helpline_pk=helpline.pk,
                helpline_id=helpline.public_id,
                session_id=f"sess_{n}",
                timestamp=moment,
            )
            for n, moment in enumerate(timestamps)
        ]
        return [e.id for e in record_events(partner=partner, api_key=live_key.key, events=events)]

    return make


def purge(*args: str) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_events", *args, stdout=out)
    return out.getvalue()


def test_events_older_than_the_days_are_deleted_and_the_boundary_is_kept(store: Store) -> None:
    cutoff = NOW - timedelta(days=10)
    [october, just_before] = store(cutoff - timedelta(days=30), cutoff - timedelta(microseconds=1))
    kept = store(cutoff, cutoff + timedelta(seconds=1), NOW - timedelta(hours=1))

    output = purge("--older-than", "10")

    if is_partitioned():
        # The purge creates November's partition (the late-arrival window reaches into
        # it), which the event just before the cutoff then lives in: it stays until the
        # whole of November is past the cutoff. October had no partition: its event, in
        # the default partition, is deleted as a row.
        assert output == "Deleted 1 events older than 2026-11-12 12:00:00 UTC.\n"
        kept.append(just_before)
    else:
        assert output == "Deleted 2 events older than 2026-11-12 12:00:00 UTC.\n"
    assert sorted(Event.objects.values_list("id", flat=True)) == sorted(kept)
    assert not Event.objects.filter(id=october).exists()


def test_the_purge_works_through_chunks(store: Store) -> None:
    store(*(NOW - timedelta(days=40, minutes=n) for n in range(7)))
    kept = store(NOW - timedelta(days=1))

    output = purge("--older-than", "30", "--chunk-size", "3")

    assert output.startswith("Deleted 7 events ")
    assert list(Event.objects.values_list("id", flat=True)) == kept


@override_settings(EVENTS_RETENTION_DAYS=60)
def test_the_default_retention_is_the_setting(store: Store) -> None:
    store(NOW - timedelta(days=60, seconds=1))
    kept = store(NOW - timedelta(days=59, hours=23))

    output = purge()

    assert output == "Deleted 1 events older than 2026-09-23 12:00:00 UTC.\n"
    assert list(Event.objects.values_list("id", flat=True)) == kept


def test_nothing_to_purge_says_zero(store: Store) -> None:
    store(NOW - timedelta(days=2))

    assert purge("--older-than", "3").startswith("Deleted 0 events ")
    assert Event.objects.count() == 1


def test_a_dry_run_counts_and_deletes_nothing(store: Store) -> None:
    store(NOW - timedelta(days=20), NOW - timedelta(days=1))

    output = purge("--older-than", "10", "--dry-run")

    # Partitioned, November (the cutoff's month) has or is about to get its partition, so
    # its events stay until it is wholly past: the purge would delete none yet.
    would = 0 if is_partitioned() else 1
    assert output == f"Would delete {would} events older than 2026-11-12 12:00:00 UTC.\n"
    assert Event.objects.count() == 2
    assert purge("--older-than", "10").startswith(f"Deleted {would} events ")


@pytest.mark.parametrize("days", ["0", "-5"])
def test_days_below_one_are_refused(store: Store, days: str) -> None:
    store(NOW - timedelta(days=400))

    with pytest.raises(CommandError, match="--older-than must be at least 1 day"):
        purge("--older-than", days)

    assert Event.objects.count() == 1


@pytest.mark.parametrize("days", ["2", "1"])
def test_days_still_open_to_late_events_are_refused(store: Store, days: str) -> None:
    # A purged day's late events would find no earlier events of their sessions to count
    # them once against: the window (1 day here) and a day's margin stay.
    store(NOW - timedelta(days=400))

    with pytest.raises(CommandError, match="--older-than must be more than 2 days"):
        purge("--older-than", days)

    assert Event.objects.count() == 1
