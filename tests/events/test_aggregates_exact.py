"""Every figure read from the aggregates equals an independent count of the events sent.

Hypothesis sends random traffic (three partners with live and test keys, four helplines
in three countries, a small pool of session ids, displays and clicks with contact
methods, identical repeats, events arriving for days already rolled up) around the nights
London's and New York's clocks go back, rolls it up in several rounds, and compares
`metric_rows` / `totals` for every grouping the product reads, in UTC, London, New York,
Kolkata (+05:30) and Kathmandu (+05:45), with a plain-Python count of the same events,
written from the definitions in the docstring of `events.metrics`:

- displays and clicks per contact method count stored events (an identical repeat is
  stored once);
- per local calendar day, per partner and kind of traffic, a session id is reached when
  it has a display that day in the group, converted when that day it has a display and a
  click of the same helpline; summed over the days;
- session figures are None only where the docstring says they are not available.

The helpers here (`Cast`, `Sent`, `Ledger`, `expected_rows`, `assert_figures`) are shared
with tests/events/test_rollup.py.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.utc import floor_hour
from events.metrics import (
    Dimension,
    EventFilter,
    MetricRow,
    forget_kept_zones,
    hourly_clicks,
    iter_metric_rows,
    metric_rows,
    totals,
)
from events.models import (
    BillingStatement,
    ContactMethod,
    DayCount,
    DaySessionCount,
    Event,
    EventType,
    HourClicks,
    KeyDay,
    QuarterHourCount,
    RollupState,
)
from events.rollup import rebuild, roll_up
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner, PartnerAPIKey
from helplines.services import issue_key

DAY, HOUR = Dimension.DAY, Dimension.HOUR
PARTNER, HELPLINE, COUNTRY = Dimension.PARTNER, Dimension.HELPLINE, Dimension.COUNTRY
METHOD, TRAFFIC = Dimension.CONTACT_METHOD, Dimension.TRAFFIC

METHODS: tuple[str, ...] = tuple(ContactMethod.values)
ZONES = tuple(
    ZoneInfo(name)
    for name in ("UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu")
)
# Slug -> billing zone; all three are zones the aggregates keep days for.
PARTNERS = {"acme": "UTC", "beacon": "America/New_York", "cedar": "Asia/Kathmandu"}
# Public id -> country.
LINES = {"gb-1": "GB", "gb-2": "GB", "us-1": "US", "in-1": "IN"}
SESSIONS = ("s1", "s2", "s3", "s4")
# "Now" while the traffic is sent: every event is in the past, no billing month is due.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
# Local days that hold every generated event, in every zone of ZONES.
FIRST_DAY, LAST_DAY = date(2026, 10, 23), date(2026, 11, 3)
# Instants next to the day boundaries that matter; events fall within 150 minutes of one.
ANCHORS = (
    datetime(2026, 10, 24, 18, 15, tzinfo=UTC),  # midnight in Kathmandu (+05:45)
    datetime(2026, 10, 24, 18, 30, tzinfo=UTC),  # midnight in Kolkata (+05:30)
    datetime(2026, 10, 24, 23, 0, tzinfo=UTC),  # midnight in London (BST)
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # London's clocks go back: 01:00 twice
    datetime(2026, 10, 25, 4, 0, tzinfo=UTC),  # midnight in New York (EDT)
    datetime(2026, 10, 26, 0, 0, tzinfo=UTC),  # midnight in UTC and London (GMT)
    datetime(2026, 11, 1, 4, 0, tzinfo=UTC),  # midnight in New York (EDT)
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York's clocks go back: 01:00 twice
    datetime(2026, 11, 2, 5, 0, tzinfo=UTC),  # midnight in New York (EST)
)

# Every grouping the product reads (dashboard pages, exports, stats API, billing).
GROUPINGS: tuple[tuple[Dimension, ...], ...] = (
    (),
    (DAY,),
    (HELPLINE,),
    (PARTNER,),
    (COUNTRY,),
    (METHOD,),
    (TRAFFIC,),
    (HOUR,),
    (DAY, PARTNER, HELPLINE),
    (HOUR, TRAFFIC),
    (HOUR, HELPLINE),
    (TRAFFIC, DAY),
    (TRAFFIC, HELPLINE),
    (TRAFFIC, COUNTRY),
    (TRAFFIC, METHOD),
)

HYPOTHESIS = settings(
    deadline=None,
    print_blob=True,
    # The cast (partners, keys, helplines) is set up once per test, and each example
    # empties the tables it writes; examples are slow (a database round trip per figure).
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# ------------------------------------------------------------------------------ the cast


@dataclass
class Cast:
    partners: dict[str, Partner]
    keys: dict[tuple[str, bool], PartnerAPIKey]  # (slug, is_test) -> key
    raw_keys: dict[tuple[str, bool], str]
    lines: dict[str, Helpline]

    def narrowing(
        self,
        *,
        partners: Iterable[str] = (),
        lines: Iterable[str] = (),
        countries: Iterable[str] = (),
        include_test: bool = False,
        test_only: bool = False,
    ) -> dict[str, Any]:
        """EventFilter keyword arguments naming partners and helplines by slug/public id."""
        return {
            "partner_ids": frozenset(self.partners[slug].pk for slug in partners),
            "helpline_ids": frozenset(self.lines[public_id].pk for public_id in lines),
            "countries": frozenset(countries),
            "include_test": include_test,
            "test_only": test_only,
        }


def make_cast() -> Cast:
    """Three partners, each with a live and a test key, and four helplines in GB, US, IN."""
    partners = {
        slug: Partner.objects.create(name=slug.title(), slug=slug, billing_timezone=zone)
        for slug, zone in PARTNERS.items()
    }
    keys, raw_keys = {}, {}
    for slug, partner in partners.items():
        for is_test in (False, True):
            key, raw = issue_key(
                partner=partner, name="staging" if is_test else "live", is_test=is_test
            )
            key.partner = partner
            keys[(slug, is_test)], raw_keys[(slug, is_test)] = key, raw
    lines = {
        public_id: Helpline.objects.create(
            public_id=public_id, name=f"Line {public_id}", country_code=country
        )
        for public_id, country in LINES.items()
    }
    return Cast(partners=partners, keys=keys, raw_keys=raw_keys, lines=lines)


@pytest.fixture
def cast(transactional_db: None) -> Cast:
    """Transactional: on PostgreSQL the rollup reads only committed events."""
    return make_cast()


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class Sent:
    """One event as a partner sends it: a display when `method` is "", else a click."""

    partner: str
    is_test: bool
    line: str
    session: str
    when: datetime  # aware, UTC
    method: str = ""

    @property
    def identity(self) -> tuple:
        """What makes two events the same event (the `event_identity_unique` constraint):
        the key's kind of traffic is not part of it, so the first one stored wins."""
        return (self.partner, self.session, bool(self.method), self.line, self.when, self.method)


@dataclass
class Ledger:
    """The events stored, as the test expects them: the first of identical ones."""

    stored: dict[tuple, Sent] = field(default_factory=dict)

    def add(self, events: Iterable[Sent]) -> list[bool]:
        """Record `events` in order; returns whether each is new (created)."""
        created = []
        for event in events:
            created.append(event.identity not in self.stored)
            self.stored.setdefault(event.identity, event)
        return created

    @property
    def events(self) -> list[Sent]:
        return list(self.stored.values())


def store(cast: Cast, events: Sequence[Sent], ledger: Ledger) -> None:
    """Send `events` through `record_events`, one call per run of events of one key, and
    check that each is reported created exactly when it is not a repeat."""
    for (slug, is_test), run in groupby(events, key=lambda e: (e.partner, e.is_test)):
        batch = list(run)
        key = cast.keys[(slug, is_test)]
        results = record_events(
            partner=cast.partners[slug],
            api_key=key,
            events=[
                NewEvent(
                    type=EventType.CLICK if event.method else EventType.DISPLAY,
                    helpline_pk=cast.lines[event.line].pk,
                    helpline_id=event.line,
                    session_id=event.session,
                    timestamp=event.when,
                    contact_method=event.method,
                )
                for event in batch
            ],
        )
        assert [result.created for result in results] == ledger.add(batch)


def stored_events() -> set[tuple]:
    """The rows of the events table, as `Sent.identity` plus the traffic."""
    return {
        (partner, session, type_ == EventType.CLICK, line, when, method, is_test)
        for partner, session, type_, line, when, method, is_test in Event.objects.values_list(
            "partner__slug",
            "session_id",
            "type",
            "helpline__public_id",
            "timestamp",
            "contact_method",
            "is_test",
        )
    }


def assert_stored(ledger: Ledger) -> None:
    assert stored_events() == {(*e.identity, e.is_test) for e in ledger.events}


def forget_everything() -> None:
    """Empty the events and everything derived from them (between hypothesis examples,
    which share one transactional test's tables). The kept zones stay: they are settings."""
    for model in (
        Event,
        QuarterHourCount,
        HourClicks,
        DayCount,
        DaySessionCount,
        KeyDay,
        BillingStatement,
        RollupState,
    ):
        model.objects.all().delete()
    forget_kept_zones()


@st.composite
def visits(draw: st.DrawFn) -> list[Sent]:
    """A session's visit: it is shown one to three helplines (or not) and clicks some of
    them (or ones it was not shown) within the next hour and a half, maybe across a
    midnight of some zone."""
    partner = draw(st.sampled_from(tuple(PARTNERS)))
    is_test = draw(st.sampled_from((False, False, True)))
    session = draw(st.sampled_from(SESSIONS))
    at = draw(st.sampled_from(ANCHORS)) + timedelta(
        minutes=draw(st.integers(-150, 150)),
        microseconds=draw(st.sampled_from((0, 0, 0, 1, 999_999))),
    )
    events = []
    steps = st.tuples(
        st.sampled_from(tuple(LINES)),
        st.integers(0, 60),  # minutes after the visit starts
        st.sampled_from((True, True, False)),  # shown
        st.lists(st.tuples(st.integers(0, 30), st.sampled_from(METHODS)), max_size=2),
    )
    for line, offset, shown, clicks in draw(st.lists(steps, min_size=1, max_size=3)):
        when = at + timedelta(minutes=offset)
        if shown or not clicks:
            events.append(Sent(partner, is_test, line, session, when))
        events += [
            Sent(partner, is_test, line, session, when + timedelta(minutes=delay), method)
            for delay, method in clicks
        ]
    return events


@st.composite
def traffic(draw: st.DrawFn) -> list[tuple[list[Sent], bool]]:
    """Rounds of (events sent, whether the rollup runs after them); the last one does.

    Later rounds hold events of days already rolled up (late arrivals), identical repeats
    of earlier events, and twins of earlier events sent with the partner's other key."""
    rounds: list[tuple[list[Sent], bool]] = []
    history: list[Sent] = []
    count = draw(st.integers(2, 4))
    for number in range(count):
        visited = draw(st.lists(visits(), min_size=1, max_size=5))
        batch = [event for visit in visited for event in visit]
        pool = history + batch
        batch += draw(st.lists(st.sampled_from(pool), max_size=3))  # identical repeats
        batch += [
            replace(event, is_test=not event.is_test)
            for event in draw(st.lists(st.sampled_from(pool), max_size=1))
        ]
        batch = draw(st.permutations(batch))
        then_roll_up = draw(st.sampled_from((True, True, False)))
        rounds.append((batch, number == count - 1 or then_roll_up))
        history += batch
    return rounds


def send_traffic(cast: Cast, rounds: list[tuple[list[Sent], bool]]) -> Ledger:
    """Empty the tables, then send and roll up the rounds as the scheduler would."""
    forget_everything()
    ledger = Ledger()
    with time_machine.travel(NOW, tick=False):
        for batch, then_roll_up in rounds:
            store(cast, batch, ledger)
            if then_roll_up:
                roll_up()
    assert_stored(ledger)
    return ledger


# ------------------------------------------------------------------------------ the count

# A row's identity: (day, UTC hour, partner slug, helpline public id, country, contact
# method, is_test), None where not grouped by.
Group = tuple[
    date | None, datetime | None, str | None, str | None, str | None, str | None, bool | None
]
# (displays, clicks, clicks per method in METHODS order, sessions reached, converted)
Figures = tuple[int, int, tuple[int, ...], int | None, int | None]


def is_local_midnight(moment: datetime, tz: ZoneInfo) -> bool:
    return moment.astimezone(tz).time() == time(0)


def sessions_available(
    dims: Iterable[Dimension], *, whole_days: bool, lines: int, countries: int
) -> bool:
    """Whether session figures exist, as `events.metrics` promises: for whole days of a
    kept zone (all zones of these tests are kept), for one helpline, one country or all,
    never per hour or per contact method."""
    dims = set(dims)
    if not whole_days or dims & {HOUR, METHOD}:
        return False
    if HELPLINE in dims or lines == 1:
        return True
    if lines:
        return False  # several helplines at once
    return COUNTRY in dims or countries <= 1


def expected_rows(
    events: Iterable[Sent],
    *,
    dims: Sequence[Dimension],
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    partners: Iterable[str] = (),
    lines: Iterable[str] = (),
    countries: Iterable[str] = (),
    include_test: bool = False,
    test_only: bool = False,
) -> dict[Group, Figures]:
    """The figures of `events` counted in plain Python from the definitions."""
    partners, lines, countries = set(partners), set(lines), set(countries)
    sessions = sessions_available(
        dims,
        whole_days=is_local_midnight(start, tz) and is_local_midnight(end, tz),
        lines=len(lines),
        countries=len(countries),
    )
    displays: Counter[Group] = Counter()
    clicks: dict[Group, Counter[str]] = defaultdict(Counter)
    # (group, local day) -> (partner, traffic, session id) -> (helplines shown, clicked)
    people: dict[tuple[Group, date], dict[tuple, tuple[set[str], set[str]]]] = defaultdict(
        lambda: defaultdict(lambda: (set(), set()))
    )
    for event in events:
        if not start <= event.when < end:
            continue
        if (event.is_test and not (include_test or test_only)) or (test_only and not event.is_test):
            continue
        if partners and event.partner not in partners:
            continue
        if (lines and event.line not in lines) or (
            countries and LINES[event.line] not in countries
        ):
            continue
        local_day = event.when.astimezone(tz).date()
        group: Group = (
            local_day if DAY in dims else None,
            event.when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            if HOUR in dims
            else None,
            event.partner if PARTNER in dims else None,
            event.line if HELPLINE in dims else None,
            LINES[event.line] if COUNTRY in dims else None,
            None,
            event.is_test if TRAFFIC in dims else None,
        )
        displays[group] += 0 if event.method else 1
        clicks[group][event.method] += 1 if event.method else 0
        shown, clicked = people[(group, local_day)][(event.partner, event.is_test, event.session)]
        (clicked if event.method else shown).add(event.line)
    rows: dict[Group, Figures] = {}
    for group in displays:
        by_method = tuple(clicks[group][method] for method in METHODS)
        reached = converted = None
        if sessions:
            days = [who for (g, _), who in people.items() if g == group]
            reached = sum(1 for who in days for shown, _ in who.values() if shown)
            converted = sum(1 for who in days for shown, clicked in who.values() if shown & clicked)
        if METHOD not in dims:
            rows[group] = (displays[group], sum(by_method), by_method, reached, converted)
            continue
        # A contact-method row keeps its group's displays and has no sessions.
        for method, n in zip(METHODS, by_method, strict=True):
            only = tuple(n if other == method else 0 for other in METHODS)
            rows[(*group[:5], method, group[6])] = (displays[group], n, only, None, None)
    return rows


def actual_rows(cast: Cast, rows: Iterable[MetricRow], tz: ZoneInfo) -> dict[Group, Figures]:
    got: dict[Group, Figures] = {}
    for row in rows:
        metrics = row.metrics
        assert metrics.clicks == sum(metrics.clicks_by_method.values())
        if row.hour is not None:
            assert row.hour.tzinfo is not None and str(row.hour.tzinfo) == str(tz)
        if row.partner is not None:
            assert row.partner.id == cast.partners[row.partner.slug].pk
        if row.helpline is not None:
            assert row.helpline.id == cast.lines[row.helpline.public_id].pk
            assert row.helpline.country_code == LINES[row.helpline.public_id]
        group: Group = (
            row.day,
            row.hour.astimezone(UTC) if row.hour else None,
            row.partner.slug if row.partner else None,
            row.helpline.public_id if row.helpline else None,
            row.country,
            row.contact_method,
            row.is_test,
        )
        assert group not in got, f"two rows for {group}"
        got[group] = (
            metrics.displays,
            metrics.clicks,
            tuple(metrics.clicks_by_method[method] for method in METHODS),
            metrics.sessions_reached,
            metrics.sessions_converted,
        )
    return got


def assert_figures(
    cast: Cast,
    events: Iterable[Sent],
    *,
    dims: Sequence[Dimension],
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    **narrowing: Any,
) -> None:
    """metric_rows (and totals, and streamed rows) equal the independent count.

    Sessions are compared too, None included: a None the count does not allow fails."""
    want = expected_rows(events, dims=dims, tz=tz, start=start, end=end, **narrowing)
    event_filter = EventFilter(start=start, end=end, **cast.narrowing(**narrowing))
    got = actual_rows(cast, metric_rows(event_filter, dims, tz), tz)
    context = f"{tz} {[str(d) for d in dims]} {narrowing} {start:%Y-%m-%d %H:%M:%S.%f}..{end}"
    assert got == want, context
    if not dims:
        total = actual_rows(cast, [MetricRow(metrics=totals(event_filter, tz))], tz)
        zero = (0, 0, (0,) * len(METHODS), 0, 0)
        assert total == (want or {(None,) * 7: zero}), context
    if tuple(dims) == (DAY, PARTNER, HELPLINE):  # report.csv streams its rows
        streamed = actual_rows(cast, iter_metric_rows(event_filter, dims, tz), tz)
        assert streamed == want, context


def whole_days(tz: ZoneInfo, first: date = FIRST_DAY, last: date = LAST_DAY) -> dict[str, datetime]:
    return {
        "start": datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
        "end": datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC),
    }


# ------------------------------------------------------------------------------ the tests


@st.composite
def cut_ranges(draw: st.DrawFn) -> tuple[datetime, datetime]:
    """A range that starts and ends anywhere, mostly not on a quarter-hour."""
    start = draw(st.sampled_from(ANCHORS)) + timedelta(
        minutes=draw(st.integers(-200, 200)), seconds=draw(st.integers(0, 59))
    )
    return start, start + timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))


# The narrowings the product uses: live traffic only (dashboards), one partner's traffic
# by kind (stats API, billing), one country, one helpline (dashboard filters).
NARROWINGS: tuple[tuple[dict[str, Any], tuple[tuple[Dimension, ...], ...]], ...] = (
    ({}, ((), (DAY,), (HELPLINE,), (PARTNER,), (COUNTRY,), (DAY, PARTNER, HELPLINE))),
    (
        {"partners": ["beacon"], "include_test": True},
        ((TRAFFIC,), (TRAFFIC, DAY), (TRAFFIC, HELPLINE), (TRAFFIC, METHOD), (PARTNER,)),
    ),
    ({"countries": ["GB"]}, ((), (DAY,), (HELPLINE,), (PARTNER,), (TRAFFIC, COUNTRY))),
    ({"lines": ["gb-2"], "include_test": True}, ((), (DAY,), (PARTNER,), (TRAFFIC, COUNTRY))),
    # A partner page's test traffic of the period.
    ({"partners": ["beacon"], "test_only": True}, ((), (DAY,), (TRAFFIC,))),
)


@settings(HYPOTHESIS, max_examples=16)
@given(
    rounds=traffic(),
    zone=st.sampled_from(ZONES),
    narrowing=st.sampled_from(NARROWINGS),
    dst_day=st.sampled_from([(ZONES[1], date(2026, 10, 25)), (ZONES[2], date(2026, 11, 1))]),
    cut=cut_ranges(),
)
def test_every_figure_equals_an_independent_count_of_the_events_sent(
    cast: Cast,
    rounds: list[tuple[list[Sent], bool]],
    zone: ZoneInfo,
    narrowing: tuple[dict[str, Any], tuple[tuple[Dimension, ...], ...]],
    dst_day: tuple[ZoneInfo, date],
    cut: tuple[datetime, datetime],
) -> None:
    events = send_traffic(cast, rounds).events

    # Whole local days, live and test traffic: every grouping in one zone, the main ones
    # in every zone.
    for dims in GROUPINGS:
        assert_figures(cast, events, dims=dims, tz=zone, **whole_days(zone), include_test=True)
    for tz in ZONES:
        for dims in [(), (DAY, PARTNER, HELPLINE), (TRAFFIC, COUNTRY)]:
            assert_figures(cast, events, dims=dims, tz=tz, **whole_days(tz), include_test=True)
    # A narrowing the product uses, with the groupings it reads.
    narrow, groupings = narrowing
    for dims in groupings:
        assert_figures(cast, events, dims=dims, tz=zone, **whole_days(zone), **narrow)
    # One local day only: the day London's or New York's clocks go back (25 hours).
    tz, day = dst_day
    for dims in [(), (HELPLINE,)]:
        assert_figures(
            cast, events, dims=dims, tz=tz, **whole_days(tz, day, day), include_test=True
        )
    # UTC days read in another zone, and a range cut anywhere: displays and clicks from
    # quarter-hours plus raw events of the partial quarters at the ends; no sessions.
    assert_figures(cast, events, dims=(DAY,), tz=zone, **whole_days(ZONES[0]), include_test=True)
    start, end = cut
    for dims in [(), (HOUR,), (DAY, HELPLINE), (METHOD,)]:
        assert_figures(cast, events, dims=dims, tz=zone, start=start, end=end, include_test=True)
    assert_figures(cast, events, dims=(), tz=zone, start=start, end=end, test_only=True)
    # The load page's clicks per helpline and UTC hour (HourClicks), over the cut's hours.
    assert_hourly_clicks(cast, events, floor_hour(start), floor_hour(end) + timedelta(hours=1))


def assert_hourly_clicks(
    cast: Cast, events: Iterable[Sent], start: datetime, end: datetime
) -> None:
    """hourly_clicks of every helpline equals a count of the live clicks sent."""
    want = Counter(
        (cast.lines[e.line].pk, floor_hour(e.when))
        for e in events
        if e.method and not e.is_test and start <= e.when < end
    )
    lines = [line.pk for line in cast.lines.values()]
    assert hourly_clicks(lines, start, end) == dict(want), f"{start}..{end}"


def test_a_range_cut_at_7_past_an_hour_counts_every_display_and_click(cast: Cast) -> None:
    """Quarter-hour counts for the whole quarters, raw events for the partial ones at both
    ends, including events on the last microsecond of a sliver and on its boundaries."""
    start = datetime(2026, 10, 24, 20, 7, tzinfo=UTC)
    end = datetime(2026, 10, 25, 1, 52, tzinfo=UTC)
    moments = [
        start - timedelta(microseconds=1),  # out
        start,  # in, in the first sliver [20:07, 20:15)
        datetime(2026, 10, 24, 20, 14, 59, 999_999, tzinfo=UTC),
        datetime(2026, 10, 24, 20, 15, tzinfo=UTC),  # first whole quarter
        datetime(2026, 10, 24, 23, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 7, tzinfo=UTC),  # London's second 01:07
        datetime(2026, 10, 25, 1, 44, 59, tzinfo=UTC),  # last whole quarter
        datetime(2026, 10, 25, 1, 45, tzinfo=UTC),  # last sliver [01:45, 01:52)
        end - timedelta(microseconds=1),
        end,  # out
    ]
    events = []
    for n, moment in enumerate(moments):
        line = ("gb-1", "us-1")[n % 2]
        events.append(Sent("acme", False, line, f"s{n % 3}", moment))
        events.append(Sent("beacon", n % 3 == 0, line, "s1", moment, METHODS[n % len(METHODS)]))
    with time_machine.travel(NOW, tick=False):
        ledger = Ledger()
        store(cast, events, ledger)
        roll_up()
    assert_stored(ledger)

    for tz in ZONES:
        for dims in [(), (HOUR,), (DAY,), (DAY, PARTNER, HELPLINE), (HOUR, TRAFFIC), (METHOD,)]:
            assert_figures(cast, events, dims=dims, tz=tz, start=start, end=end, include_test=True)
    total = totals(EventFilter(start=start, end=end, include_test=True))
    assert (total.displays, total.clicks) == (8, 8)
    assert (total.sessions_reached, total.sessions_converted) == (None, None)


def aggregate_tables() -> dict[str, list[tuple]]:
    """Every aggregate row, comparable across runs."""
    tables: dict[str, list[tuple]] = {}
    for model in (QuarterHourCount, HourClicks, DayCount, DaySessionCount, KeyDay):
        columns = [f.attname for f in model._meta.concrete_fields if f.attname != "pk"]
        tables[model.__name__] = sorted(model.objects.values_list(*columns), key=repr)
    return tables


@settings(HYPOTHESIS, max_examples=6)
@given(rounds=traffic(), day=st.sampled_from([date(2026, 10, 25), date(2026, 11, 1)]))
def test_rebuilding_the_days_gives_exactly_the_figures_the_incremental_runs_gave(
    cast: Cast, rounds: list[tuple[list[Sent], bool]], day: date
) -> None:
    events = send_traffic(cast, rounds).events
    incremental = aggregate_tables()
    assert incremental["DayCount"] and incremental["QuarterHourCount"]

    with time_machine.travel(NOW, tick=False):
        rebuild(day, day)  # one UTC day: the other zones' days that overlap it, whole
        assert aggregate_tables() == incremental
        rebuild(FIRST_DAY, LAST_DAY)
        assert aggregate_tables() == incremental
        rebuild(FIRST_DAY, LAST_DAY)  # idempotent
        assert aggregate_tables() == incremental

    for tz in (ZONES[1], ZONES[4]):
        for dims in [(), (DAY, PARTNER, HELPLINE), (TRAFFIC, COUNTRY), (HOUR,)]:
            assert_figures(cast, events, dims=dims, tz=tz, **whole_days(tz), include_test=True)
