"""The one definition of every number: counts, ratios, sessions, days and hours in a time zone."""

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pytest_django import DjangoAssertNumQueries

from events.metrics import (
    Dimension,
    EventFilter,
    Metrics,
    fill_days,
    format_ratio,
    iter_metric_rows,
    metric_rows,
    ratio,
    totals,
)
from events.models import ContactMethod
from events.selectors import key_usage
from helplines.models import Helpline, Partner, PartnerAPIKey, Topic
from helplines.services import issue_key
from tests.conftest import IssuedKey, Send

LONDON = ZoneInfo("Europe/London")
PARIS = ZoneInfo("Europe/Paris")
UTC_ZONE = ZoneInfo("UTC")


def november(first: int = 1, last: int = 30, tz: ZoneInfo = UTC_ZONE, **kw: object) -> EventFilter:
    return EventFilter.for_days(date(2026, 11, first), date(2026, 11, last), tz, **kw)


@pytest.fixture
def key(live_key: IssuedKey) -> PartnerAPIKey:
    return live_key.key


@pytest.fixture
def second_line(db: None) -> Helpline:
    return Helpline.objects.create(public_id="line-fr-1", name="Ecoute France", country_code="FR")


def test_ratio_is_none_for_a_zero_denominator_and_written_with_four_decimals() -> None:
    assert ratio(3, 0) is None
    assert ratio(0, 5) == Decimal(0)
    assert format_ratio(ratio(1, 3)) == "0.3333"
    assert format_ratio(ratio(2, 3)) == "0.6667"
    assert format_ratio(ratio(5, 5)) == "1.0000"
    assert format_ratio(None) == ""
    assert Metrics(displays=0, clicks=0).ctr is None
    assert Metrics(sessions_reached=0, sessions_converted=0).conversion_rate is None


def test_random_traffic_matches_an_independent_count_per_day_partner_and_helpline(
    send: Send,
    partner: Partner,
    other_partner: Partner,
    key: PartnerAPIKey,
    helpline: Helpline,
    second_line: Helpline,
) -> None:
    other_key, _ = issue_key(partner=other_partner, name="live")
    test_key, _ = issue_key(partner=partner, name="staging", is_test=True)
    rng = random.Random(4)
    expected: Counter[tuple[date, str, str, str]] = Counter()
    seen: set[tuple] = set()
    for _ in range(300):
        sender = rng.choice([key, other_key, test_key])
        line = rng.choice([helpline, second_line])
        when = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 60 * 24 * 10))
        method = rng.choice(["", "", "", *ContactMethod.values])
        session = f"s{rng.randrange(40)}"
        identity = (sender.partner_id, line.pk, session, when, method)
        send(sender, line, session, when, method)
        if sender.is_test or identity in seen:
            continue
        seen.add(identity)
        kind = f"click_{method}" if method else "display"
        expected[(when.date(), sender.partner.slug, line.public_id, kind)] += 1

    rows = metric_rows(november(), [Dimension.DAY, Dimension.PARTNER, Dimension.HELPLINE])

    got: Counter[tuple[date, str, str, str]] = Counter()
    for row in rows:
        assert row.day and row.partner and row.helpline
        group = (row.day, row.partner.slug, row.helpline.public_id)
        got[(*group, "display")] = row.metrics.displays
        for method, clicks in row.metrics.clicks_by_method.items():
            got[(*group, f"click_{method}")] = clicks
        assert row.metrics.clicks == sum(row.metrics.clicks_by_method.values())
    assert +got == +expected
    total = totals(november())
    assert total.displays == sum(n for k, n in expected.items() if k[3] == "display")
    assert total.clicks == sum(n for k, n in expected.items() if k[3] != "display")


def test_test_key_events_count_only_when_asked(
    send: Send,
    partner: Partner,
    key: PartnerAPIKey,
    test_key: IssuedKey,
    helpline: Helpline,
) -> None:
    when = datetime(2026, 11, 5, 12, tzinfo=UTC)
    send(key, helpline, "live-1", when)
    send(test_key.key, helpline, "test-1", when)
    send(test_key.key, helpline, "test-1", when, "phone")

    assert totals(november()).displays == 1
    assert totals(november()).clicks == 0
    with_test = totals(november(include_test=True))
    assert (with_test.displays, with_test.clicks) == (2, 1)
    by_traffic = {
        row.is_test: row.metrics
        for row in metric_rows(november(include_test=True), [Dimension.TRAFFIC])
    }
    assert (by_traffic[False].displays, by_traffic[True].displays, by_traffic[True].clicks) == (
        1,
        1,
        1,
    )


def test_an_event_at_the_last_millisecond_of_a_day_lands_on_that_day(
    send: Send, key: PartnerAPIKey, helpline: Helpline
) -> None:
    send(key, helpline, "late", datetime(2026, 11, 10, 23, 59, 59, 999000, tzinfo=PARIS))
    send(key, helpline, "early", datetime(2026, 11, 11, 0, 0, 0, tzinfo=PARIS))

    rows = metric_rows(november(10, 10, PARIS), [Dimension.DAY], PARIS)
    assert [(row.day, row.metrics.displays) for row in rows] == [(date(2026, 11, 10), 1)]
    # In UTC both fall on the 10th (23:00 UTC and 22:59:59.999 UTC).
    assert totals(november(10, 10)).displays == 2
    assert totals(november(11, 11, PARIS), PARIS).displays == 1


def test_the_day_the_clocks_go_back_has_25_hours(
    send: Send, key: PartnerAPIKey, helpline: Helpline
) -> None:
    # 25 October 2026, Europe/London: 01:00-02:00 happens twice (BST, then GMT).
    # Python adds timedelta to an aware datetime in wall-clock time: step in UTC instead.
    start = datetime(2026, 10, 25, 0, 0, tzinfo=LONDON).astimezone(UTC)
    for hour in range(25):
        send(key, helpline, f"s{hour}", start + timedelta(hours=hour))
    day = EventFilter.for_days(date(2026, 10, 25), date(2026, 10, 25), LONDON)
    assert day.end - day.start == timedelta(hours=25)

    rows = metric_rows(day, [Dimension.DAY], LONDON)
    assert [(row.day, row.metrics.displays) for row in rows] == [(date(2026, 10, 25), 25)]
    hours = metric_rows(day, [Dimension.HOUR], LONDON)
    assert len(hours) == 25  # the repeated 01:00 stays two buckets
    assert [h.hour.utcoffset() for h in hours[1:3] if h.hour] == [timedelta(hours=1), timedelta(0)]
    assert all(h.metrics.displays == 1 for h in hours)


def test_the_day_the_clocks_go_forward_has_23_hours(
    send: Send, key: PartnerAPIKey, helpline: Helpline
) -> None:
    send(key, helpline, "before", datetime(2026, 3, 28, 23, 59, 59, 999999, tzinfo=LONDON))
    send(key, helpline, "first", datetime(2026, 3, 29, 0, 0, tzinfo=LONDON))
    send(key, helpline, "last", datetime(2026, 3, 29, 23, 59, 59, 999000, tzinfo=LONDON))
    day = EventFilter.for_days(date(2026, 3, 29), date(2026, 3, 29), LONDON)
    assert day.end - day.start == timedelta(hours=23)
    assert totals(day, LONDON).displays == 2


def test_sessions_are_counted_per_day_and_summed_over_a_range(
    send: Send, key: PartnerAPIKey, helpline: Helpline, second_line: Helpline
) -> None:
    day1 = datetime(2026, 11, 3, 9, tzinfo=UTC)
    day2 = day1 + timedelta(days=1)
    send(key, helpline, "a", day1)
    send(key, helpline, "a", day1 + timedelta(minutes=1))  # same session, same day: one
    send(key, helpline, "a", day1 + timedelta(minutes=2), "phone")  # converted on day 1
    send(key, helpline, "a", day2)  # reached again on day 2, not converted
    send(key, helpline, "b", day1)
    send(key, second_line, "b", day1, "website")  # clicked a helpline it was not shown
    send(key, helpline, "c", day1, "sms")  # a click without any display: not reached

    days = {row.day: row.metrics for row in metric_rows(november(), [Dimension.DAY])}
    assert (days[day1.date()].sessions_reached, days[day1.date()].sessions_converted) == (2, 1)
    assert (days[day2.date()].sessions_reached, days[day2.date()].sessions_converted) == (1, 0)
    total = totals(november())
    assert (total.sessions_reached, total.sessions_converted) == (3, 1)
    assert total.conversion_rate == Decimal(1) / Decimal(3)
    by_line = {
        row.helpline.public_id: row.metrics
        for row in metric_rows(november(), [Dimension.HELPLINE])
        if row.helpline
    }
    assert (
        by_line[helpline.public_id].sessions_reached,
        by_line[helpline.public_id].sessions_converted,
    ) == (3, 1)
    assert (
        by_line[second_line.public_id].sessions_reached,
        by_line[second_line.public_id].sessions_converted,
    ) == (0, 0)


def test_the_same_session_id_at_two_partners_is_two_sessions(
    send: Send, key: PartnerAPIKey, other_partner: Partner, helpline: Helpline
) -> None:
    other_key, _ = issue_key(partner=other_partner, name="live")
    when = datetime(2026, 11, 3, 9, tzinfo=UTC)
    send(key, helpline, "shared", when)
    send(other_key, helpline, "shared", when)
    send(other_key, helpline, "shared", when, "phone")
    total = totals(november())
    assert (total.sessions_reached, total.sessions_converted) == (2, 1)


def test_breakdowns_by_country_topic_and_contact_method(
    send: Send, key: PartnerAPIKey, helpline: Helpline, second_line: Helpline, topic: Topic
) -> None:
    when = datetime(2026, 11, 3, 9, tzinfo=UTC)
    send(key, helpline, "a", when)
    send(key, helpline, "a", when, "phone")
    send(key, second_line, "b", when)
    send(key, second_line, "b", when, "online_chat")
    send(key, second_line, "c", when, "online_chat")

    countries = {
        row.country: (row.metrics.displays, row.metrics.clicks)
        for row in metric_rows(november(), [Dimension.COUNTRY])
    }
    assert countries == {"GB": (1, 1), "FR": (1, 2)}
    topics = {row.topic: row.metrics.clicks for row in metric_rows(november(), [Dimension.TOPIC])}
    assert topics == {topic.slug: 1, "": 2}
    methods = {
        row.contact_method: row.metrics
        for row in metric_rows(november(), [Dimension.CONTACT_METHOD])
    }
    assert set(methods) == set(ContactMethod.values)
    assert (methods["phone"].clicks, methods["online_chat"].clicks, methods["sms"].clicks) == (
        1,
        2,
        0,
    )
    assert methods["online_chat"].displays == 2 and methods["online_chat"].sessions_reached is None
    assert methods["online_chat"].ctr == Decimal(1)


def test_narrowing_by_partner_country_helpline_and_priority(
    send: Send,
    key: PartnerAPIKey,
    other_partner: Partner,
    helpline: Helpline,
    second_line: Helpline,
) -> None:
    other_key, _ = issue_key(partner=other_partner, name="live")
    when = datetime(2026, 11, 3, 9, tzinfo=UTC)
    send(key, helpline, "a", when)
    send(key, second_line, "a", when)
    send(other_key, second_line, "b", when)
    assert totals(november(partner_ids=frozenset({other_partner.pk}))).displays == 1
    assert totals(november(countries=frozenset({"FR"}))).displays == 2
    assert totals(november(helpline_ids=frozenset({helpline.pk}))).displays == 1
    assert totals(november(priority_only=True)).displays == 1  # only `helpline` is priority


def test_each_grouping_is_one_query(
    send: Send,
    key: PartnerAPIKey,
    helpline: Helpline,
    second_line: Helpline,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    for n in range(5):
        send(
            key,
            helpline if n % 2 else second_line,
            f"s{n}",
            datetime(2026, 11, 1 + n, tzinfo=UTC),
            "phone",
        )
    every = list(Dimension)
    with django_assert_num_queries(1):
        rows = metric_rows(november(), every)
    assert sum(row.metrics.clicks for row in rows) == 5 * len(ContactMethod.values) // len(
        ContactMethod.values
    )


def test_streamed_rows_equal_listed_rows(
    send: Send, key: PartnerAPIKey, helpline: Helpline, second_line: Helpline
) -> None:
    for n in range(30):
        send(
            key,
            helpline if n % 3 else second_line,
            f"s{n % 7}",
            datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=7 * n),
        )
    dims = [Dimension.DAY, Dimension.PARTNER, Dimension.HELPLINE]
    streamed = list(iter_metric_rows(november(), dims, LONDON))
    assert streamed == metric_rows(november(), dims, LONDON)
    assert [r.day for r in streamed] == sorted(r.day for r in streamed if r.day)
    with pytest.raises(ValueError):
        iter_metric_rows(november(), [Dimension.PARTNER])


def test_fill_days_gives_zero_rows_for_quiet_days(
    send: Send, key: PartnerAPIKey, helpline: Helpline
) -> None:
    send(key, helpline, "a", datetime(2026, 11, 2, 8, tzinfo=UTC))
    filled = fill_days(
        metric_rows(november(1, 3), [Dimension.DAY]), date(2026, 11, 1), date(2026, 11, 3)
    )
    assert [(row.day, row.metrics.displays) for row in filled] == [
        (date(2026, 11, 1), 0),
        (date(2026, 11, 2), 1),
        (date(2026, 11, 3), 0),
    ]


def test_key_usage_reports_last_use_of_each_key(
    send: Send,
    partner: Partner,
    key: PartnerAPIKey,
    test_key: IssuedKey,
    helpline: Helpline,
) -> None:
    send(key, helpline, "a", datetime(2026, 11, 2, 8, tzinfo=UTC))
    send(key, helpline, "b", datetime(2026, 11, 2, 9, tzinfo=UTC))
    usage = {item.prefix: item for item in key_usage(partner.pk)}
    assert usage[key.prefix].events == 2 and usage[key.prefix].last_used is not None
    assert usage[test_key.key.prefix].events == 0 and usage[test_key.key.prefix].last_used is None
    assert usage[test_key.key.prefix].is_test


def test_a_filter_needs_aware_datetimes() -> None:
    with pytest.raises(ValueError):
        EventFilter(start=datetime(2026, 11, 1), end=datetime(2026, 11, 2))
