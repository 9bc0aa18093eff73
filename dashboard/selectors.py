"""The dashboard's reads of the directory (what its filters and pages offer); every figure
is read through `events.metrics`, never here."""

from django.db.models import Exists, OuterRef, QuerySet

from helplines.models import Helpline, LoadEpisode, Partner, PartnerAPIKey


def filter_partners() -> list[Partner]:
    """Every partner by name, each with `has_live_key`: a test-only partner never has a
    figure on the dashboard, so the filter does not offer it (a link naming it still works)."""
    live_keys = PartnerAPIKey.objects.filter(partner=OuterRef("pk"), is_test=False)
    return list(Partner.objects.annotate(has_live_key=Exists(live_keys)).order_by("name", "slug"))


def filter_helplines() -> list[Helpline]:
    """Every helpline of the directory, by name (inactive ones too: they have history)."""
    return list(
        Helpline.objects.only("pk", "public_id", "name", "country_code").order_by(
            "name", "public_id"
        )
    )


def priority_helplines() -> list[Helpline]:
    """The priority helplines by name, with what the load page and load.csv show of them."""
    return list(
        Helpline.objects.filter(is_priority=True)
        .only("pk", "public_id", "name", "country_code", "hourly_capacity")
        .order_by("name", "public_id")
    )


def recent_load_episodes(limit: int, *, helpline: Helpline | None = None) -> list[LoadEpisode]:
    """The latest episodes over capacity, newest first (of one helpline when given)."""
    episodes: QuerySet[LoadEpisode] = LoadEpisode.objects.select_related("helpline")
    if helpline is not None:
        episodes = episodes.filter(helpline=helpline)
    return list(episodes.order_by("-started_at", "pk")[:limit])
