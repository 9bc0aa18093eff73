"""check_load: rolling hours of clicks against capacity, one email when an episode starts and
one when it ends, and the load status the directory shows (GET /v1/helplines)."""

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from pytest_django import Settings
from rest_framework.test import APIClient

from events.load import LoadReport, check_load
from events.models import EventType
from events.rollup import roll_up
from events.services import NewEvent, record_events
from helplines.models import Helpline, HelplineLoad, LoadEpisode, PartnerAPIKey
from tests.conftest import IssuedKey

NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
STAFF = ["duty@example.org", "safety@example.org"]


@pytest.fixture(autouse=True)
def alert_settings(settings: Settings) -> None:
    settings.LOAD_ALERT_EMAILS = STAFF
    settings.LOAD_ALERT_THRESHOLD_PERCENT = 100


@pytest.fixture
def line(transactional_db: None, helpline: Helpline) -> Helpline:
    """The cast's priority helpline, with a capacity of 3 contacts an hour."""
    helpline.hourly_capacity = 3
    helpline.save()
    return helpline


def clicks(key: PartnerAPIKey, helpline: Helpline, at: datetime, n: int) -> None:
    """`n` clicks one minute apart from `at`, each from its own session."""
    record_events(
        partner=key.partner,
        api_key=key,
        events=[
            NewEvent(
                type=EventType.CLICK,
                helpline_pk=helpline.pk,
                helpline_id=helpline.public_id,
                session_id=f"s-{at:%H%M}-{i}",
                timestamp=at + timedelta(minutes=i),
                contact_method="phone",
            )
            for i in range(n)
        ],
    )


def run_at(moment: datetime) -> LoadReport:
    """The scheduler's minute at `moment`: the rollup, then check_load."""
    with time_machine.travel(moment, tick=False):
        roll_up(now=moment)
        return check_load(now=moment)


def quarter_hours(first: datetime, last: datetime) -> Iterator[datetime]:
    moment = first
    while moment <= last:
        yield moment
        moment += timedelta(minutes=15)


def test_an_hour_over_capacity_sends_one_alert_and_one_recovery_an_hour_after(
    line: Helpline, live_key: IssuedKey
) -> None:
    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)  # 12:50 to 12:53

    sent_after: dict[datetime, int] = {}
    for boundary in quarter_hours(NOON + timedelta(hours=1), NOON + timedelta(hours=3)):
        for late in (timedelta(seconds=30), timedelta(minutes=7)):  # twice per quarter-hour
            run_at(boundary + late)
        sent_after[boundary] = len(mail.outbox)

    # Over in the hours to 13:00, 13:15, 13:30 and 13:45; under from the hour to 14:00; a
    # whole hour under at 14:45.
    assert sent_after == {
        NOON + timedelta(hours=1, minutes=m): 1 for m in (0, 15, 30, 45, 60, 75, 90)
    } | {NOON + timedelta(hours=2, minutes=m): 2 for m in (45, 60)}
    alert, recovery = mail.outbox
    assert alert.to == STAFF
    assert alert.subject == "Over capacity: Samaritans Example (4 clicks in an hour)"
    assert "4 clicks in the hour to 2026-11-10 13:00 UTC" in alert.body
    assert "hourly capacity of 3" in alert.body
    assert recovery.subject == "Back under capacity: Samaritans Example"
    assert "up to 2026-11-10 14:45 UTC" in recovery.body
    episode = LoadEpisode.objects.get()
    assert (
        episode.helpline_id,
        episode.started_at,
        episode.last_over_at,
        episode.ended_at,
        episode.peak_clicks,
        episode.peak_at,
        episode.capacity,
    ) == (
        line.pk,
        NOON + timedelta(hours=1),
        NOON + timedelta(hours=1, minutes=45),
        NOON + timedelta(hours=2, minutes=45),
        4,
        NOON + timedelta(hours=1),
        3,
    )
    assert episode.alert_sent_at == NOON + timedelta(hours=1, seconds=30)
    assert episode.recovery_sent_at == NOON + timedelta(hours=2, minutes=45, seconds=30)


def test_a_stopped_scheduler_misses_no_hour_when_it_starts_again(
    line: Helpline, live_key: IssuedKey
) -> None:
    run_at(NOON)
    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)

    report = run_at(NOON + timedelta(hours=4, seconds=30))

    # Every quarter-hour boundary from 12:15 to 16:00: the episode started and ended.
    assert report.measured == 16
    assert [e.started_at for e in report.started] == [NOON + timedelta(hours=1)]
    assert [e.ended_at for e in report.ended] == [NOON + timedelta(hours=2, minutes=45)]
    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "Over capacity",
        "Back under capacity",
    ]


def test_going_over_again_within_the_hour_under_continues_the_same_episode(
    line: Helpline, live_key: IssuedKey
) -> None:
    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)
    clicks(live_key.key, line, NOON + timedelta(hours=2, minutes=20), 5)  # under for 30 min

    for boundary in quarter_hours(NOON + timedelta(hours=1), NOON + timedelta(hours=5)):
        run_at(boundary + timedelta(seconds=30))

    episode = LoadEpisode.objects.get()
    assert (episode.peak_clicks, episode.peak_at) == (5, NOON + timedelta(hours=2, minutes=30))
    assert episode.last_over_at == NOON + timedelta(hours=3, minutes=15)
    assert episode.ended_at == NOON + timedelta(hours=4, minutes=15)
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(("threshold", "episodes"), [(100, 0), (67, 0), (66, 1)])
def test_the_threshold_is_a_share_of_the_capacity_and_reaching_it_is_not_over(
    line: Helpline,
    live_key: IssuedKey,
    settings: Settings,
    threshold: int,
    episodes: int,
) -> None:
    settings.LOAD_ALERT_THRESHOLD_PERCENT = threshold
    clicks(live_key.key, line, NOON + timedelta(minutes=10), 2)  # 2 of 3: 66.7%

    run_at(NOON + timedelta(hours=1, seconds=30))

    assert LoadEpisode.objects.count() == episodes
    assert len(mail.outbox) == episodes


def test_test_traffic_does_not_count(line: Helpline, test_key: IssuedKey) -> None:
    clicks(test_key.key, line, NOON + timedelta(minutes=10), 10)

    run_at(NOON + timedelta(hours=1, seconds=30))

    assert HelplineLoad.objects.get().clicks == 0
    assert LoadEpisode.objects.count() == 0


def test_only_hours_the_rollup_has_passed_are_measured(line: Helpline, live_key: IssuedKey) -> None:
    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)
    with time_machine.travel(NOON + timedelta(minutes=58), tick=False):
        roll_up(now=NOON + timedelta(minutes=58))

    # The rollup last ran at 12:58: the hour to 13:00 is not complete in the aggregates.
    report = check_load(now=NOON + timedelta(hours=1, minutes=5))

    assert report.measured_to == NOON + timedelta(minutes=45)
    assert HelplineLoad.objects.get().hour_end == NOON + timedelta(minutes=45)
    assert LoadEpisode.objects.count() == 0


def test_without_recipients_the_episode_is_stored_and_the_alert_waits(
    line: Helpline, live_key: IssuedKey, settings: Settings
) -> None:
    settings.LOAD_ALERT_EMAILS = []
    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)
    run_at(NOON + timedelta(hours=1, seconds=30))
    assert mail.outbox == []
    assert LoadEpisode.objects.get().alert_sent_at is None

    settings.LOAD_ALERT_EMAILS = STAFF
    run_at(NOON + timedelta(hours=1, minutes=1))

    assert len(mail.outbox) == 1


def test_check_load_command_says_what_it_did(line: Helpline, live_key: IssuedKey) -> None:
    out = io.StringIO()
    call_command("check_load", stdout=out)
    assert out.getvalue() == "The rollup has not run yet: nothing to measure.\n"

    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)
    moment = NOON + timedelta(hours=1, seconds=30)
    with time_machine.travel(moment, tick=False):
        roll_up(now=moment)
        call_command("check_load", stdout=out)

    assert out.getvalue().splitlines()[1:] == [
        "Measured 1 rolling hours up to 2026-11-10 13:00 UTC; 1 episodes started, 0 ended, "
        "1 emails sent.",
        "  over capacity: Samaritans Example",
    ]


# ------------------------------------------------------------------ the directory


def load_of(client: APIClient, helpline: Helpline, moment: datetime) -> Any:
    with time_machine.travel(moment, tick=False):
        listed = client.get("/v1/helplines").json()["helplines"]
        one = client.get(f"/v1/helplines/{helpline.public_id}").json()
    assert [line["load"] for line in listed if line["id"] == helpline.public_id] == [one["load"]]
    return one["load"]


def test_the_directory_status_follows_the_rolling_hour(
    line: Helpline, live_key: IssuedKey, client_live: APIClient
) -> None:
    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)
    assert load_of(client_live, line, NOON) == {"status": "normal", "as_of": None}

    run_at(NOON + timedelta(hours=1, seconds=30))
    assert load_of(client_live, line, NOON + timedelta(hours=1, minutes=1)) == {
        "status": "busy",
        "as_of": "2026-11-10T13:00:00Z",
    }

    run_at(NOON + timedelta(hours=1, minutes=45, seconds=30))  # [12:45, 13:45): still over
    assert load_of(client_live, line, NOON + timedelta(hours=1, minutes=46))["status"] == "busy"

    # The hour to 14:00 has no click: normal at once, though the episode (and its
    # recovery email) waits for a whole hour under.
    run_at(NOON + timedelta(hours=2, seconds=30))
    assert load_of(client_live, line, NOON + timedelta(hours=2, minutes=1)) == {
        "status": "normal",
        "as_of": "2026-11-10T14:00:00Z",
    }
    assert LoadEpisode.objects.get().ended_at is None


def test_a_measurement_over_an_hour_old_no_longer_says_busy(
    line: Helpline, live_key: IssuedKey, client_live: APIClient
) -> None:
    clicks(live_key.key, line, NOON + timedelta(minutes=50), 4)
    run_at(NOON + timedelta(hours=1, seconds=30))

    assert load_of(client_live, line, NOON + timedelta(hours=2))["status"] == "busy"
    assert load_of(client_live, line, NOON + timedelta(hours=2, seconds=1)) == {
        "status": "normal",
        "as_of": "2026-11-10T13:00:00Z",
    }


def test_helplines_without_priority_or_capacity_have_no_load(
    line: Helpline, client_live: APIClient
) -> None:
    other = Helpline.objects.create(public_id="no-capacity", name="No Capacity", country_code="GB")
    other.is_priority = True
    other.save()

    listed = {h["id"]: h["load"] for h in client_live.get("/v1/helplines").json()["helplines"]}

    assert listed == {line.public_id: {"status": "normal", "as_of": None}, "no-capacity": None}
