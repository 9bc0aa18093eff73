"""events.metrics.hourly_clicks: the load page's clicks per helpline and UTC hour."""

from datetime import UTC, datetime, timedelta

import pytest

from events.metrics import Dimension, EventFilter, hourly_clicks, metric_rows
from events.models import EventType
from events.rollup import roll_up
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner, PartnerAPIKey
from helplines.services import issue_key
from tests.conftest import IssuedKey

NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _send(key: PartnerAPIKey, helpline: Helpline, *moments: datetime, kind: str) -> None:
    record_events(
        partner=key.partner,
        api_key=key,
        events=[
            NewEvent(
                type=kind,
                helpline_pk=helpline.pk,
                helpline_id=helpline.public_id,
                session_id=f"s-{key.prefix}-{moment:%H%M%S}",
                timestamp=moment,
                contact_method=(
                    ("sms" if moment.minute % 2 else "phone") if kind == EventType.CLICK else ""
                ),
            )
            for moment in moments
        ],
    )


@pytest.mark.django_db(transaction=True)
def test_live_clicks_of_every_partner_per_helpline_and_utc_hour(
    helpline: Helpline,
    live_key: IssuedKey,
    test_key: IssuedKey,
    other_partner: Partner,
) -> None:
    other_key, _secret = issue_key(partner=other_partner, name="production")
    at = NOON.replace
    _send(live_key.key, helpline, at(minute=5), at(minute=59, second=59), kind=EventType.CLICK)
    _send(other_key, helpline, at(minute=31), at(hour=13, minute=0), kind=EventType.CLICK)
    _send(live_key.key, helpline, at(hour=14, minute=10), kind=EventType.DISPLAY)  # no click
    _send(test_key.key, helpline, at(minute=20), kind=EventType.CLICK)  # test traffic
    _send(live_key.key, helpline, at(hour=15, minute=1), kind=EventType.CLICK)  # after the end
    roll_up()

    found = hourly_clicks([helpline.pk], NOON, NOON + timedelta(hours=3))

    assert found == {
        (helpline.pk, NOON): 3,
        (helpline.pk, NOON + timedelta(hours=1)): 1,
    }
    # The same figures as the general read, for hours with clicks.
    rows = metric_rows(
        EventFilter(
            start=NOON, end=NOON + timedelta(hours=3), helpline_ids=frozenset({helpline.pk})
        ),
        [Dimension.HOUR, Dimension.HELPLINE],
    )
    assert found == {
        (helpline.pk, row.hour): row.metrics.clicks
        for row in rows
        if row.hour is not None and row.metrics.clicks
    }
    assert hourly_clicks([], NOON, NOON + timedelta(hours=3)) == {}


def test_only_whole_hours_are_read() -> None:
    with pytest.raises(ValueError, match="whole UTC hours"):
        hourly_clicks([1], NOON + timedelta(minutes=15), NOON + timedelta(hours=1))
