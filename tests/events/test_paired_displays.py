"""Paired priority services: the directory keeps pairs symmetric, and the rollup counts, per
partner and UTC day, the sessions that displayed one service of a pair without the other."""

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from pytest_django import Settings
from rest_framework.test import APIClient

from events.metrics import PairedDisplays, paired_display_rows, paired_display_totals
from events.models import PairedDisplayDay
from events.rollup import rebuild
from helplines.models import Helpline, Partner
from helplines.resources import COLUMNS
from helplines.services import issue_key, pair_helplines
from tests.conftest import IssuedKey, Send

T = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
DAY = date(2026, 11, 10)


@pytest.fixture
def youth(transactional_db: None, helpline: Helpline) -> Helpline:
    """A youth line paired with the cast's helpline."""
    line = Helpline.objects.create(
        public_id="youth-line-gb", name="Youth Line Example", country_code="GB", is_priority=True
    )
    pair_helplines(helpline=helpline, other=line)
    return line


def stored() -> dict[tuple[int, bool, date], tuple[int, int]]:
    return {
        (row.partner_id, row.is_test, row.day): (row.sessions_paired, row.sessions_alone)
        for row in PairedDisplayDay.objects.all()
    }


def test_a_lone_display_is_counted_once_and_a_display_of_both_is_not(
    send: Send, live_key: IssuedKey, helpline: Helpline, youth: Helpline
) -> None:
    key = live_key.key
    send(key, helpline, "alone", T)
    send(key, helpline, "alone", T + timedelta(minutes=30))  # the same session again
    send(key, helpline, "both", T)
    send(key, youth, "both", T + timedelta(minutes=4))

    assert stored() == {(key.partner_id, False, DAY): (2, 1)}


def test_the_pair_arriving_later_within_the_window_undoes_the_alone(
    send: Send, live_key: IssuedKey, helpline: Helpline, youth: Helpline
) -> None:
    key = live_key.key
    send(key, helpline, "s1", T)
    assert stored() == {(key.partner_id, False, DAY): (1, 1)}

    send(key, youth, "s1", T - timedelta(minutes=10))  # late, exactly at the window's edge

    assert stored() == {(key.partner_id, False, DAY): (1, 0)}


def test_a_pair_displayed_beyond_the_window_leaves_both_alone_once(
    send: Send, live_key: IssuedKey, helpline: Helpline, youth: Helpline
) -> None:
    key = live_key.key
    send(key, helpline, "s1", T)
    send(key, youth, "s1", T + timedelta(minutes=10, seconds=1))

    assert stored() == {(key.partner_id, False, DAY): (1, 1)}


def test_the_window_is_a_setting(
    send: Send,
    live_key: IssuedKey,
    helpline: Helpline,
    youth: Helpline,
    settings: Settings,
) -> None:
    settings.PAIRED_DISPLAY_WINDOW_MINUTES = 30
    send(live_key.key, helpline, "s1", T)
    send(live_key.key, youth, "s1", T + timedelta(minutes=25))

    assert stored() == {(live_key.key.partner_id, False, DAY): (1, 0)}


def test_a_pair_shown_across_midnight_is_shown_together_on_both_days(
    send: Send, live_key: IssuedKey, helpline: Helpline, youth: Helpline
) -> None:
    key = live_key.key
    midnight = datetime(2026, 11, 11, tzinfo=UTC)
    send(key, helpline, "s1", midnight - timedelta(minutes=2))
    send(key, youth, "s1", midnight + timedelta(minutes=3))

    assert stored() == {
        (key.partner_id, False, DAY): (1, 0),
        (key.partner_id, False, DAY + timedelta(days=1)): (1, 0),
    }


def test_unpaired_helplines_test_traffic_and_clicks_are_apart(
    send: Send,
    live_key: IssuedKey,
    test_key: IssuedKey,
    helpline: Helpline,
    youth: Helpline,
) -> None:
    unpaired = Helpline.objects.create(public_id="other", name="Other", country_code="GB")
    send(live_key.key, unpaired, "s1", T)
    send(live_key.key, helpline, "s2", T, "phone")  # a click is not a display
    send(test_key.key, helpline, "t1", T)

    assert stored() == {(live_key.key.partner_id, True, DAY): (1, 1)}
    assert paired_display_rows(DAY, DAY) == []
    assert paired_display_rows(DAY, DAY, include_test=True)[0].sessions_alone == 1


def test_a_rebuild_gives_what_the_runs_added(
    send: Send,
    live_key: IssuedKey,
    other_partner: Partner,
    helpline: Helpline,
    youth: Helpline,
) -> None:
    other_key, _ = issue_key(partner=other_partner, name="live")
    key = live_key.key
    send(key, helpline, "a", T)
    send(key, youth, "a", T + timedelta(minutes=2))
    send(key, youth, "b", T + timedelta(hours=2))
    send(other_key, helpline, "a", T + timedelta(days=1))
    send(key, helpline, "c", T + timedelta(hours=11, minutes=58))
    send(key, youth, "c", T + timedelta(hours=12, minutes=5))
    incremental = stored()

    rebuild(DAY - timedelta(days=1), DAY + timedelta(days=2))

    assert stored() == incremental
    assert incremental == {
        (key.partner_id, False, DAY): (3, 1),
        (key.partner_id, False, DAY + timedelta(days=1)): (1, 0),
        (other_partner.pk, False, DAY + timedelta(days=1)): (1, 1),
    }


def test_the_figures_per_partner_and_day_and_their_total(
    send: Send,
    live_key: IssuedKey,
    partner: Partner,
    helpline: Helpline,
    youth: Helpline,
) -> None:
    send(live_key.key, helpline, "a", T)
    send(live_key.key, youth, "b", T + timedelta(days=1))
    send(live_key.key, youth, "c", T + timedelta(days=1))
    send(live_key.key, helpline, "c", T + timedelta(days=1, minutes=1))

    rows = paired_display_rows(DAY, DAY + timedelta(days=1), partner_ids=frozenset({partner.pk}))

    assert [(row.day, row.sessions_paired, row.sessions_alone) for row in rows] == [
        (DAY, 1, 1),
        (DAY + timedelta(days=1), 2, 1),
    ]
    total = paired_display_totals(rows)
    assert (total.sessions_paired, total.sessions_alone) == (3, 2)
    assert total.alone_rate == PairedDisplays(sessions_paired=3, sessions_alone=2).alone_rate


# ------------------------------------------------------------------ the directory's pairs


def test_pairing_is_symmetric_and_a_new_pair_breaks_the_old_one_on_both_sides(
    youth: Helpline, helpline: Helpline
) -> None:
    helpline.refresh_from_db()
    youth.refresh_from_db()
    assert (helpline.paired_with, youth.paired_with) == (youth, helpline)

    french = Helpline.objects.create(public_id="fr-line", name="Ligne FR", country_code="FR")
    pair_helplines(helpline=youth, other=french)

    assert dict(Helpline.objects.values_list("public_id", "paired_with__public_id")) == {
        helpline.public_id: None,
        "youth-line-gb": "fr-line",
        "fr-line": "youth-line-gb",
    }


def test_a_service_paired_with_a_third_one_is_refused(youth: Helpline, helpline: Helpline) -> None:
    french = Helpline.objects.create(public_id="fr-line", name="Ligne FR", country_code="FR")
    with pytest.raises(ValidationError, match="youth-line-gb is paired with"):
        pair_helplines(helpline=french, other=youth)
    with pytest.raises(ValidationError, match="itself"):
        pair_helplines(helpline=french, other=french)


def test_the_directory_shows_the_pair_while_it_is_listed(
    youth: Helpline, helpline: Helpline, client_live: APIClient
) -> None:
    listed = {
        h["id"]: h["paired_with"] for h in client_live.get("/v1/helplines").json()["helplines"]
    }
    assert listed == {helpline.public_id: "youth-line-gb", "youth-line-gb": helpline.public_id}

    youth.is_active = False
    youth.save()
    body = client_live.get(f"/v1/helplines/{helpline.public_id}").json()
    assert body["paired_with"] is None


def import_file(tmp_path: Path, *rows: dict[str, str]) -> str:
    lines = [",".join(COLUMNS)]
    for row in rows:
        cells = {"country_code": "GB", "name": row["id"]} | row
        lines.append(",".join(cells.get(column, "") for column in COLUMNS))
    path = tmp_path / "directory.csv"
    path.write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    call_command("import_helplines", str(path), stdout=out)
    return out.getvalue()


def pairs() -> dict[str, str | None]:
    return dict(Helpline.objects.values_list("public_id", "paired_with__public_id"))


def test_import_pairs_both_sides_from_one_row_and_unpairs_with_an_empty_cell(
    db: None, tmp_path: Path
) -> None:
    import_file(tmp_path, {"id": "adult", "paired_with": "youth"}, {"id": "youth"})
    assert pairs() == {"adult": "youth", "youth": "adult"}

    import_file(tmp_path, {"id": "adult"})

    assert pairs() == {"adult": None, "youth": None}


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([{"id": "a", "paired_with": "a"}], "line 2: paired_with: a helpline cannot be paired"),
        ([{"id": "a", "paired_with": "nope"}], "line 2: paired_with: 'nope' is not a helpline id"),
        (
            [{"id": "a", "paired_with": "b"}, {"id": "b", "paired_with": "c"}, {"id": "c"}],
            "line 3: paired_with: 'b' is already paired with 'a' (line 2)",
        ),
    ],
)
def test_import_refuses_a_bad_pair_and_imports_nothing(
    db: None, tmp_path: Path, rows: list[dict[str, str]], problem: str
) -> None:
    with pytest.raises(CommandError, match=r"nothing imported") as raised:
        import_file(tmp_path, *rows)
    assert problem in str(raised.value)
    assert pairs() == {}
