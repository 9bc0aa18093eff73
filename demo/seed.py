"""Seeding the demo: the world of demo/world.py written through the product's own services,
and its traffic generated hour by hour.

Traffic is a pure function of the UTC hour it falls in (a `random.Random` seeded with that
hour), so seeding the same hour twice yields the same events, and a later run only has to
add the hours that are new since.
"""

import random
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.db import transaction
from django.db.models import Max, Min

from api.utc import floor_hour
from demo.world import (
    BASE_CTR,
    COUNTRY_PEAK_SESSIONS,
    CTR_BY_LOCAL_HOUR,
    DIURNAL,
    HELPLINES,
    HELPLINES_SHOWN,
    METHOD_WEIGHT,
    PARTNERS,
    TOPICS,
    DemoHelpline,
    demo_public_id,
)
from events.models import Event, EventType
from events.services import NewEvent, record_events
from helplines.models import Helpline, Partner, PartnerAPIKey, Topic
from helplines.services import create_partner, issue_key, replace_pairs


@dataclass(frozen=True)
class DemoEvent:
    partner_slug: str
    staging: bool  # sent with the partner's test key
    type: str
    helpline_key: str
    session_id: str
    timestamp: datetime
    contact_method: str = ""


@dataclass
class _Country:
    code: str
    timezone: zoneinfo.ZoneInfo
    helplines: list[DemoHelpline] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


@cache
def _countries() -> tuple[_Country, ...]:
    countries: dict[str, _Country] = {}
    for helpline in HELPLINES:
        if not helpline.active:  # closed helplines are no longer shown
            continue
        country = countries.get(helpline.country)
        if country is None:
            # A country's traffic follows the local time of its first (largest) helpline.
            country = _Country(helpline.country, zoneinfo.ZoneInfo(helpline.timezone))
            countries[helpline.country] = country
        country.helplines.append(helpline)
        country.weights.append(helpline.reach * (2.0 if helpline.priority else 1.0))
    return tuple(countries[code] for code in COUNTRY_PEAK_SESSIONS)


def events_in_hour(hour: datetime) -> Iterator[DemoEvent]:
    """The demo events of the UTC hour starting at `hour`; the same on every call.

    Every event falls inside the hour, so an hour is either wholly seeded or not at all.
    """
    rng = random.Random(f"throughline-demo:{hour:%Y-%m-%dT%H}")
    weekend = hour.weekday() >= 5
    for country in _countries():
        local = hour.astimezone(country.timezone)
        expected = (
            COUNTRY_PEAK_SESSIONS[country.code]
            * DIURNAL[local.hour]
            * (1.12 if local.weekday() >= 5 else 1.0)
        )
        sessions = int(expected) + (1 if rng.random() < expected % 1 else 0)
        for _ in range(sessions):
            yield from _session(rng, hour, country, local.hour, weekend)


def _session(
    rng: random.Random, hour: datetime, country: _Country, local_hour: int, weekend: bool
) -> Iterator[DemoEvent]:
    partner = rng.choices(PARTNERS, weights=[p.share for p in PARTNERS])[0]
    if partner.is_test and (weekend or not 8 <= hour.hour < 18):
        partner = PARTNERS[0]  # the sandbox is used by engineers in office hours only
    staging = partner.is_test or rng.random() < partner.staging_share
    session_id = f"sess_{rng.getrandbits(96):024x}"
    shown_count = rng.choices(
        [count for count, _ in HELPLINES_SHOWN], weights=[w for _, w in HELPLINES_SHOWN]
    )[0]
    shown = _sample(rng, country.helplines, country.weights, shown_count)
    # Leave room for the clicks that follow, so that every event stays inside the hour.
    displayed_at = hour + timedelta(seconds=rng.randrange(0, 3300))
    ctr = BASE_CTR * partner.ctr * CTR_BY_LOCAL_HOUR[local_hour]
    for position, helpline in enumerate(shown):
        yield DemoEvent(
            partner.slug, staging, EventType.DISPLAY, helpline.key, session_id, displayed_at
        )
        # The first helpline shown is clicked most.
        pull = helpline.evening_pull if local_hour >= 20 else 1.0
        if rng.random() >= ctr * pull * (1.5 if position == 0 else 0.6):
            continue
        methods = helpline.contact_methods
        clicks = 2 if rng.random() < 0.08 and len(methods) > 1 else 1
        chosen = _sample(rng, list(methods), [METHOD_WEIGHT[m] for m in methods], clicks)
        for method in chosen:
            yield DemoEvent(
                partner.slug,
                staging,
                EventType.CLICK,
                helpline.key,
                session_id,
                displayed_at + timedelta(seconds=rng.randrange(5, 280)),
                method,
            )


def _sample[T](rng: random.Random, items: list[T], weights: list[float], count: int) -> list[T]:
    """`count` distinct items drawn by weight (fewer when there are not enough)."""
    pool, pool_weights, chosen = list(items), list(weights), []
    for _ in range(min(count, len(pool))):
        index = rng.choices(range(len(pool)), weights=pool_weights)[0]
        chosen.append(pool.pop(index))
        pool_weights.pop(index)
    return chosen


def hours_between(start: datetime, end: datetime) -> Iterator[datetime]:
    """Each whole hour from `start` (inclusive) to `end` (exclusive)."""
    hour = start
    while hour < end:
        yield hour
        hour += timedelta(hours=1)


@dataclass
class SeedResult:
    helplines_created: int = 0
    helplines_updated: int = 0
    partners_created: list[str] = field(default_factory=list)
    hours_seeded: int = 0
    events_created: int = 0
    events_duplicate: int = 0


def seed(*, now: datetime, days: int) -> SeedResult:
    """Bring the demo up to date: directory, partners, and the last `days` days of events.

    Idempotent: helplines are upserted on their public id, partners found by slug, and
    only the whole hours that hold no demo event yet are generated (the identity
    constraint would drop repeats anyway, at a higher cost).
    """
    result = SeedResult()
    helpline_pks = _seed_directory(result)
    keys = _seed_partners(result)
    end = floor_hour(now)
    start = end - timedelta(days=days)
    seeded = Event.objects.filter(partner__slug__in=[p.slug for p in PARTNERS]).aggregate(
        first=Min("timestamp"), last=Max("timestamp")
    )
    pending: dict[tuple[str, bool], list[NewEvent]] = {}
    for hour in hours_between(start, end):
        if seeded["first"] and floor_hour(seeded["first"]) <= hour <= seeded["last"]:
            continue
        result.hours_seeded += 1
        for event in events_in_hour(hour):
            batch = pending.setdefault((event.partner_slug, event.staging), [])
            batch.append(
                NewEvent(
                    type=event.type,
                    helpline_pk=helpline_pks[event.helpline_key],
                    helpline_id=demo_public_id(event.helpline_key),
                    session_id=event.session_id,
                    timestamp=event.timestamp,
                    contact_method=event.contact_method,
                )
            )
            if len(batch) >= _BATCH_SIZE:
                _store(result, keys[(event.partner_slug, event.staging)], batch)
                batch.clear()
    for key, batch in pending.items():
        if batch:
            _store(result, keys[key], batch)
    return result


_BATCH_SIZE = 1000  # record_events' largest batch, as on the API


def _store(result: SeedResult, key: PartnerAPIKey, batch: list[NewEvent]) -> None:
    stored = record_events(partner=key.partner, api_key=key, events=batch)
    created = sum(1 for event in stored if event.created)
    result.events_created += created
    result.events_duplicate += len(stored) - created


@transaction.atomic
def _seed_directory(result: SeedResult) -> dict[str, int]:
    """Topics and helplines upserted; returns helpline key -> primary key."""
    topics = {}
    for slug, name in TOPICS.items():
        topics[slug], _ = Topic.objects.update_or_create(slug=slug, defaults={"name": name})
    pks = {}
    for demo in HELPLINES:
        helpline, created = Helpline.objects.update_or_create(
            public_id=demo.public_id, defaults=demo.model_fields()
        )
        helpline.topics.set([topics[slug] for slug in demo.topics])
        if created:
            result.helplines_created += 1
        else:
            result.helplines_updated += 1
        pks[demo.key] = helpline.pk
    by_key = {demo.key: demo for demo in HELPLINES}
    replace_pairs(
        public_ids=[demo.public_id for demo in HELPLINES],
        pairs=[
            (demo.public_id, by_key[demo.paired_with].public_id)
            for demo in HELPLINES
            if demo.paired_with and demo.key < demo.paired_with
        ],
    )
    return pks


def _seed_partners(result: SeedResult) -> dict[tuple[str, bool], PartnerAPIKey]:
    """(partner slug, staging) -> the key its demo events are sent with.

    Raw keys are never kept or printed: the demo sends its events through the service
    directly, and a user who wants to call the API creates a partner of their own.
    """
    keys = {}
    for demo in PARTNERS:
        partner = Partner.objects.filter(slug=demo.slug).first()
        if partner is None:
            partner, _ = create_partner(name=demo.name, slug=demo.slug, is_test=demo.is_test)
            result.partners_created.append(demo.slug)
        kinds = [True] if demo.is_test else [False, True] if demo.staging_share else [False]
        for is_test in kinds:
            key = (
                partner.api_keys.filter(is_test=is_test, revoked=False)
                .order_by("created", "prefix")
                .first()
            )
            if key is None:
                key, _ = issue_key(
                    partner=partner, name="staging" if is_test else "default", is_test=is_test
                )
            keys[(demo.slug, is_test)] = key
    return keys
