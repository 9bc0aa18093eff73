"""manage.py seed_demo: a realistic, idempotent demo written through record_events."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min
from django.db.models.functions import TruncHour

from demo import world
from demo.seed import events_in_hour
from events.models import ContactMethod, Event, EventType, PairedDisplayDay
from events.pii import SESSION_ID_PATTERN, pii_kind
from helplines.models import Helpline, HelplineLoad, LoadEpisode, Partner, PartnerAPIKey, Topic

# A Sunday evening in Europe, afternoon in the Americas; not on an hour boundary.
NOW = datetime(2026, 11, 22, 19, 40, 12, tzinfo=UTC)
SEEDED_UNTIL = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)  # whole hours only


def seed(days: int, at: datetime = NOW) -> str:
    out = StringIO()
    with time_machine.travel(at, tick=False):
        call_command("seed_demo", "--days", str(days), stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "helplines": Helpline.objects.count(),
        "topics": Topic.objects.count(),
        "partners": Partner.objects.count(),
        "keys": PartnerAPIKey.objects.count(),
        "events": Event.objects.count(),
    }


def event_rows() -> set[tuple]:
    return set(
        Event.objects.values_list(
            "partner__slug",
            "is_test",
            "type",
            "helpline__public_id",
            "session_id",
            "timestamp",
            "contact_method",
        )
    )


@pytest.mark.django_db
def test_a_second_run_changes_nothing() -> None:
    seed(days=2)
    first = counts()
    rows = event_rows()

    output = seed(days=2)

    assert counts() == first
    assert event_rows() == rows
    assert "Helplines: 0 created, 34 already there." in output
    assert "Partners created: none (all already there)." in output
    assert "Events: 0 created over 0 new hours, 0 already stored." in output
    assert first["helplines"] == len(world.HELPLINES) == 34
    assert first["partners"] == len(world.PARTNERS) == 4


# The seed commits its events before it rolls them up, as it does under `make run`: inside
# one test transaction, PostgreSQL's snapshot would cover the test's own inserts only when
# another transaction happened to commit after them (the rollup reads committed events).
@pytest.mark.django_db(transaction=True)
def test_the_paired_services_are_paired_both_ways_and_their_compliance_counted() -> None:
    seed(days=2)

    english = Helpline.objects.get(public_id=world.demo_public_id("ca-northern-light"))
    french = Helpline.objects.get(public_id=world.demo_public_id("ca-ecoute"))
    assert (english.paired_with_id, french.paired_with_id) == (french.pk, english.pk)
    assert Helpline.objects.filter(paired_with__isnull=False).count() == 2
    # The demo's partners show one service of the pair alone in some sessions: the
    # partner page and paired.csv have something to show.
    assert PairedDisplayDay.objects.filter(sessions_alone__gt=0).exists()


@pytest.mark.django_db
def test_a_later_run_adds_only_the_hours_since_and_keeps_the_rest() -> None:
    seed(days=2)
    before = event_rows()

    output = seed(days=2, at=NOW + timedelta(hours=3))

    after = event_rows()
    assert before <= after
    added = after - before
    new_hours = [SEEDED_UNTIL + timedelta(hours=n) for n in range(3)]
    expected = {
        (
            event.partner_slug,
            event.staging,
            event.type,
            world.demo_public_id(event.helpline_key),
            event.session_id,
            event.timestamp,
            event.contact_method,
        )
        for hour in new_hours
        for event in events_in_hour(hour)
    }
    assert added == expected
    assert f"Events: {len(expected)} created over 3 new hours, 0 already stored." in output


@pytest.mark.django_db
def test_events_cover_whole_hours_of_the_window_only() -> None:
    seed(days=2)

    span = Event.objects.aggregate(first=Min("timestamp"), last=Max("timestamp"))
    assert span["first"] >= SEEDED_UNTIL - timedelta(days=2)
    assert span["last"] < SEEDED_UNTIL
    hours = Event.objects.annotate(hour=TruncHour("timestamp")).values("hour").distinct()
    assert hours.count() == 48


@pytest.mark.django_db
def test_the_directory_is_valid_and_varied() -> None:
    seed(days=1)

    helplines = list(Helpline.objects.prefetch_related("topics"))
    for helpline in helplines:
        helpline.full_clean()  # country, time zone, URLs: all valid
        assert helpline.topics.exists(), helpline.name
    assert len({h.country_code for h in helplines}) >= 10
    assert len({h.timezone for h in helplines}) >= 12
    priority = [h for h in helplines if h.is_priority]
    assert len(priority) >= 5
    assert all(h.hourly_capacity for h in priority)
    assert [h.name for h in helplines if not h.is_active] == ["Harbor Warmline (closed)"]
    readme_line = Helpline.objects.get(public_id=world.README_HELPLINE_ID)
    assert readme_line.is_active
    assert readme_line.name == "Listening Line UK"
    # The README's curl example sends this id.
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert f"HELPLINE={world.README_HELPLINE_ID}" in readme
    # Channels are sparse, as in a real directory: no helpline has them all.
    assert all(len(line.contact_methods) < len(ContactMethod.values) for line in world.HELPLINES)


@pytest.mark.django_db
def test_partners_are_three_live_and_one_test_with_test_traffic() -> None:
    seed(days=7)

    live = Partner.objects.exclude(slug="demo-sandbox")
    assert sorted(live.values_list("slug", flat=True)) == [
        "demo-harbor",
        "demo-lumen",
        "demo-wayfind",
    ]
    sandbox_keys = PartnerAPIKey.objects.filter(partner__slug="demo-sandbox")
    assert sandbox_keys.count() == 1
    assert sandbox_keys.get().is_test
    test_events = Event.objects.filter(is_test=True)
    assert set(test_events.values_list("partner__slug", flat=True).distinct()) == {
        "demo-sandbox",
        "demo-lumen",  # its staging key
    }
    assert Event.objects.filter(partner__slug="demo-sandbox", is_test=False).count() == 0
    assert 0 < test_events.count() < Event.objects.filter(is_test=False).count() / 10
    # Each event's test flag is its key's.
    assert not Event.objects.exclude(is_test=F("api_key__is_test")).exists()


@pytest.mark.django_db
def test_traffic_is_plausible() -> None:
    seed(days=7)

    live = Event.objects.filter(is_test=False)
    displays = live.filter(type=EventType.DISPLAY).count()
    clicks = live.filter(type=EventType.CLICK)
    assert displays > 10_000  # tens of thousands over the default four weeks
    assert 0.04 < clicks.count() / displays < 0.2
    by_method = Counter(dict(clicks.values_list("contact_method").annotate(n=Count("id"))))
    assert set(by_method) == set(ContactMethod.values)
    assert by_method.most_common(1)[0][0] == ContactMethod.PHONE
    # A click only uses a channel the helpline has.
    channels = {h.public_id: set(h.contact_methods) for h in world.HELPLINES}
    for public_id, method in clicks.values_list("helpline__public_id", "contact_method"):
        assert method in channels[public_id]
    # Sessions see one to three helplines, and click only on what they were shown.
    shown = Counter(live.filter(type=EventType.DISPLAY).values_list("session_id", flat=True))
    assert set(shown.values()) == {1, 2, 3}
    shown_pairs = set(live.filter(type=EventType.DISPLAY).values_list("session_id", "helpline"))
    assert set(clicks.values_list("session_id", "helpline")) <= shown_pairs
    # Session ids are the opaque tokens partners are told to send.
    for session_id in list(shown)[:2000]:
        assert SESSION_ID_PATTERN.fullmatch(session_id)
        assert pii_kind(session_id) is None
    # Evenings are busier than early mornings (UK users, UK time).
    uk = live.filter(type=EventType.DISPLAY, helpline__country_code="GB")
    evening = sum(1 for t in uk.values_list("timestamp", flat=True) if t.hour in (19, 20, 21))
    dawn = sum(1 for t in uk.values_list("timestamp", flat=True) if t.hour in (3, 4, 5))
    assert evening > 2 * dawn
    # The inactive helpline is no longer shown.
    assert not live.filter(helpline__is_active=False).exists()


@pytest.mark.django_db
def test_some_priority_helpline_is_over_capacity_in_the_last_24_hours() -> None:
    seed(days=1)

    per_hour = (
        Event.objects.filter(
            type=EventType.CLICK,
            is_test=False,
            helpline__is_priority=True,
            timestamp__gte=SEEDED_UNTIL - timedelta(hours=24),
        )
        .annotate(hour=TruncHour("timestamp"))
        .values("helpline__hourly_capacity", "helpline", "hour")
        .annotate(clicks=Count("id"))
    )
    over = [row for row in per_hour if row["clicks"] > row["helpline__hourly_capacity"]]
    assert over
    under = [row for row in per_hour if row["clicks"] <= row["helpline__hourly_capacity"]]
    assert len(under) > len(over)  # flagged hours stand out; they are not the norm


@pytest.mark.django_db(transaction=True)  # the rollup reads committed events only
def test_the_last_days_load_is_measured_so_the_load_page_lists_episodes() -> None:
    output = seed(days=2)

    episodes = list(LoadEpisode.objects.select_related("helpline"))
    assert episodes
    for episode in episodes:
        assert episode.helpline.is_priority
        assert episode.started_at >= NOW - timedelta(days=1, minutes=15)
        assert episode.peak_clicks * 100 > episode.capacity * settings.LOAD_ALERT_THRESHOLD_PERCENT
    # Every priority helpline with a capacity was measured up to the rollup's last run.
    measured = set(HelplineLoad.objects.values_list("helpline_id", flat=True))
    assert measured == set(
        Helpline.objects.filter(is_priority=True, hourly_capacity__isnull=False).values_list(
            "pk", flat=True
        )
    )
    assert f"{len(episodes)} episodes over capacity started" in output


@pytest.mark.django_db
def test_days_below_one_are_refused() -> None:
    with pytest.raises(CommandError, match="--days must be at least 1"):
        seed(days=0)
    assert Event.objects.count() == 0
