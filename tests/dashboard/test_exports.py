"""CSV exports: exact columns, metadata, figures equal to what was sent, safe cells."""

import csv
import io
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client

from dashboard.exports import safe_cell
from events.models import ContactMethod
from helplines.models import Helpline, Partner, PartnerAPIKey
from helplines.services import issue_key
from tests.conftest import IssuedKey, Send

REPORT_HEADER = [
    "date",
    "partner",
    "helpline_id",
    "helpline_name",
    "country_code",
    "displays",
    "clicks",
    "ctr",
    "sessions_reached",
    "sessions_converted",
    "conversion_rate",
    "clicks_phone",
    "clicks_sms",
    "clicks_online_chat",
    "clicks_website",
    "clicks_tty",
    "clicks_whatsapp",
    "clicks_reporting_form",
]


def download(
    client: Client, url: str, params: dict[str, str]
) -> tuple[list[str], list[dict[str, str]]]:
    """The `#` metadata lines and the rows (as dicts) of a streamed CSV export."""
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    metadata = [line for line in lines if line.startswith("#")]
    assert lines[: len(metadata)] == metadata  # metadata first, then the header
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[len(metadata) :]))))
    return metadata, rows


@pytest.fixture
def beacon_key(other_partner: Partner) -> PartnerAPIKey:
    return issue_key(partner=other_partner, name="live")[0]


@pytest.fixture
def french_line(db: None) -> Helpline:
    return Helpline.objects.create(public_id="fr-1", name="Ecoute France", country_code="FR")


def test_report_equals_an_independent_count_of_random_traffic(
    staff_client: Client,
    send: Send,
    live_key: IssuedKey,
    test_key: IssuedKey,
    beacon_key: PartnerAPIKey,
    helpline: Helpline,
    french_line: Helpline,
) -> None:
    rng = random.Random(11)
    tz = ZoneInfo("America/New_York")
    expected: Counter[tuple[str, str, str, str]] = Counter()
    sent: set[tuple] = set()
    for _ in range(250):
        key = rng.choice([live_key.key, test_key.key, beacon_key])
        line = rng.choice([helpline, french_line])
        when = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 6))
        method = rng.choice(["", "", *ContactMethod.values])
        session = f"s{rng.randrange(30)}"
        send(key, line, session, when, method)
        identity = (key.partner_id, line.pk, session, when, method)
        if key.is_test or identity in sent:
            continue
        sent.add(identity)
        day = when.astimezone(tz).date().isoformat()
        expected[
            (day, key.partner.slug, line.public_id, f"clicks_{method}" if method else "displays")
        ] += 1

    metadata, rows = download(
        staff_client,
        "/dashboard/export/report.csv",
        {"start": "2026-10-31", "end": "2026-11-08", "tz": "America/New_York"},
    )

    assert "# start: 2026-10-31" in metadata and "# end: 2026-11-08" in metadata
    assert "# time zone: America/New_York" in metadata
    assert any(line.startswith("# generated at: ") for line in metadata)
    assert list(rows[0]) == REPORT_HEADER
    got: Counter[tuple[str, str, str, str]] = Counter()
    for row in rows:
        group = (row["date"], row["partner"], row["helpline_id"])
        for column in ["displays", *(f"clicks_{m}" for m in ContactMethod.values)]:
            got[(*group, column)] += int(row[column])
        assert int(row["clicks"]) == sum(int(row[f"clicks_{m}"]) for m in ContactMethod.values)
        displays, clicks = int(row["displays"]), int(row["clicks"])
        assert row["ctr"] == (f"{clicks / displays:.4f}" if displays else "")
    assert +got == +expected
    assert {row["partner"] for row in rows} == {"acme", "beacon"}


def test_report_rows_carry_sessions_ratios_and_helpline_details(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    key = live_key.key
    when = datetime(2026, 11, 2, 10, tzinfo=UTC)
    for session in ["a", "b", "c"]:
        send(key, helpline, session, when)
    send(key, helpline, "a", when, "phone")
    send(key, helpline, "a", when, "sms")

    _, rows = download(
        staff_client,
        "/dashboard/export/report.csv",
        {"start": "2026-11-01", "end": "2026-11-30", "partner": "acme"},
    )

    assert rows == [
        {
            "date": "2026-11-02",
            "partner": "acme",
            "helpline_id": helpline.public_id,
            "helpline_name": "Samaritans Example",
            "country_code": "GB",
            "displays": "3",
            "clicks": "2",
            "ctr": "0.6667",
            "sessions_reached": "3",
            "sessions_converted": "1",
            "conversion_rate": "0.3333",
            "clicks_phone": "1",
            "clicks_sms": "1",
            "clicks_online_chat": "0",
            "clicks_website": "0",
            "clicks_tty": "0",
            "clicks_whatsapp": "0",
            "clicks_reporting_form": "0",
        }
    ]


def test_report_with_no_events_has_metadata_and_header_only(staff_client: Client, db: None) -> None:
    metadata, rows = download(
        staff_client, "/dashboard/export/report.csv", {"start": "2026-11-01", "end": "2026-11-02"}
    )
    assert rows == [] and metadata[0].startswith("# Throughline report")


def test_billing_reads_the_month_in_each_partners_time_zone(
    staff_client: Client,
    send: Send,
    partner: Partner,
    other_partner: Partner,
    live_key: IssuedKey,
    test_key: IssuedKey,
    beacon_key: PartnerAPIKey,
    helpline: Helpline,
) -> None:
    other_partner.billing_timezone = "America/Los_Angeles"
    other_partner.save()
    # 2026-11-01 03:00 UTC is still October in Los Angeles, already November in UTC.
    edge = datetime(2026, 11, 1, 3, tzinfo=UTC)
    send(live_key.key, helpline, "a", edge)
    send(beacon_key, helpline, "b", edge)
    # 2026-12-01 05:00 UTC is still November in Los Angeles.
    late = datetime(2026, 12, 1, 5, tzinfo=UTC)
    send(live_key.key, helpline, "c", late)
    send(beacon_key, helpline, "d", late)
    send(beacon_key, helpline, "d", late, "whatsapp")
    send(test_key.key, helpline, "t", datetime(2026, 11, 15, tzinfo=UTC))  # never billed

    metadata, rows = download(staff_client, "/dashboard/export/billing.csv", {"month": "2026-11"})

    assert "# month: 2026-11" in metadata
    assert rows == [
        {
            "partner": "acme",
            "partner_name": "Acme Chat",
            "month": "2026-11",
            "timezone": "UTC",
            "displays": "1",
            "clicks": "0",
            "ctr": "0.0000",
            "sessions_reached": "1",
            "sessions_converted": "0",
            "conversion_rate": "0.0000",
            "status": "open",
            "closed_at": "",
            "sha256": "",
        },
        {
            "partner": "beacon",
            "partner_name": "Beacon Search",
            "month": "2026-11",
            "timezone": "America/Los_Angeles",
            "displays": "1",
            "clicks": "1",
            "ctr": "1.0000",
            "sessions_reached": "1",
            "sessions_converted": "1",
            "conversion_rate": "1.0000",
            "status": "open",
            "closed_at": "",
            "sha256": "",
        },
    ]
    _, only_beacon = download(
        staff_client, "/dashboard/export/billing.csv", {"month": "2026-10", "partner": "beacon"}
    )
    assert [(r["partner"], r["displays"], r["ctr"]) for r in only_beacon] == [
        ("beacon", "1", "0.0000")
    ]


def test_billing_lists_partners_without_events_with_empty_ratios(
    staff_client: Client, partner: Partner
) -> None:
    _, rows = download(staff_client, "/dashboard/export/billing.csv", {"month": "2026-02"})
    assert [(r["partner"], r["displays"], r["ctr"], r["conversion_rate"]) for r in rows] == [
        ("acme", "0", "", "")
    ]


def test_events_export_lists_each_live_event_with_offsets(
    staff_client: Client,
    send: Send,
    live_key: IssuedKey,
    test_key: IssuedKey,
    helpline: Helpline,
) -> None:
    send(live_key.key, helpline, "a", datetime(2026, 11, 2, 23, 30, tzinfo=UTC))
    send(live_key.key, helpline, "a", datetime(2026, 11, 2, 23, 31, tzinfo=UTC), "online_chat")
    send(test_key.key, helpline, "t", datetime(2026, 11, 2, 23, 32, tzinfo=UTC))
    send(live_key.key, helpline, "z", datetime(2026, 11, 3, 23, 30, tzinfo=UTC))  # Nov 4 in Paris

    metadata, rows = download(
        staff_client,
        "/dashboard/export/events.csv",
        {"start": "2026-11-03", "end": "2026-11-03", "tz": "Europe/Paris"},
    )

    assert "# time zone: Europe/Paris" in metadata
    assert [list(r) for r in rows[:1]] == [
        [
            "id",
            "type",
            "partner",
            "helpline_id",
            "session_id",
            "timestamp",
            "contact_method",
            "received_at",
        ]
    ]
    assert [(r["type"], r["session_id"], r["timestamp"], r["contact_method"]) for r in rows] == [
        ("helpline_display", "a", "2026-11-03T00:30:00+01:00", ""),
        ("helpline_click", "a", "2026-11-03T00:31:00+01:00", "online_chat"),
    ]
    assert all(r["partner"] == "acme" and r["helpline_id"] == helpline.public_id for r in rows)
    assert all(
        datetime.fromisoformat(r["received_at"]).utcoffset() == timedelta(hours=1) for r in rows
    )


def test_text_cells_are_neutralised_against_formula_injection(
    staff_client: Client, send: Send, live_key: IssuedKey, db: None
) -> None:
    evil = Helpline.objects.create(
        public_id="-evil", name='=HYPERLINK("http://x","y")', country_code="GB"
    )
    send(live_key.key, evil, "+s", datetime(2026, 11, 2, tzinfo=UTC))

    _, report = download(
        staff_client, "/dashboard/export/report.csv", {"start": "2026-11-01", "end": "2026-11-30"}
    )
    _, events = download(
        staff_client, "/dashboard/export/events.csv", {"start": "2026-11-01", "end": "2026-11-30"}
    )

    assert report[0]["helpline_name"] == '\'=HYPERLINK("http://x","y")'
    assert report[0]["helpline_id"] == "'-evil"
    assert events[0]["session_id"] == "'+s"
    assert [safe_cell(v) for v in ["@a", "\tb", "\rc", "ok", 5]] == ["'@a", "'\tb", "'\rc", "ok", 5]


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/dashboard/export/report.csv", {"start": "2026-11-30", "end": "2026-11-01"}),
        ("/dashboard/export/report.csv", {"start": "2026-11-01"}),
        ("/dashboard/export/events.csv", {"start": "nope", "end": "2026-11-01"}),
        (
            "/dashboard/export/report.csv",
            {"range": "custom", "start": "2026-11-01", "end": "2026-11-02", "partner": "nobody"},
        ),
        (
            "/dashboard/export/report.csv",
            {"start": "2026-11-01", "end": "2026-11-02", "tz": "Mars/Olympus"},
        ),
        ("/dashboard/export/billing.csv", {"month": "2026-13"}),
        ("/dashboard/export/billing.csv", {}),
    ],
)
def test_invalid_export_parameters_are_a_400(
    staff_client: Client, url: str, params: dict[str, str]
) -> None:
    response = staff_client.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_exports_span_any_length_of_time(
    staff_client: Client, send: Send, live_key: IssuedKey, helpline: Helpline
) -> None:
    send(live_key.key, helpline, "old", datetime(2024, 1, 1, tzinfo=UTC))
    _, rows = download(
        staff_client, "/dashboard/export/events.csv", {"start": "2023-01-01", "end": "2026-12-31"}
    )
    assert [r["session_id"] for r in rows] == ["old"]


def test_admin_event_export_needs_the_export_permission(
    client: Client,
    exporter: User,
    send: Send,
    live_key: IssuedKey,
    helpline: Helpline,
) -> None:
    send(live_key.key, helpline, "a", datetime(2026, 11, 2, tzinfo=UTC))
    viewer = User.objects.create_user("viewer", password="viewer-pass-123", is_staff=True)
    viewer.user_permissions.add(*exporter.user_permissions.filter(codename="view_event"))

    client.force_login(viewer)
    assert client.get("/admin/events/event/").status_code == 200
    assert client.get("/admin/events/event/export/").status_code == 403

    client.force_login(exporter)
    page = client.get(f"/admin/events/event/export/?partner__id__exact={live_key.key.partner_id}")
    assert page.status_code == 200
    response = client.post(
        f"/admin/events/event/export/?partner__id__exact={live_key.key.partner_id}",
        {
            "format": "0",
            **{
                f"eventresource_{name}": "on"
                for name in [
                    "id",
                    "type",
                    "partner",
                    "helpline_id",
                    "session_id",
                    "timestamp",
                    "contact_method",
                    "received_at",
                    "is_test",
                ]
            },
        },
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["partner"], r["helpline_id"], r["session_id"]) for r in rows] == [
        ("acme", helpline.public_id, "a")
    ]


def test_event_admin_is_read_only_with_filters_and_search(
    client: Client,
    superuser: User,
    send: Send,
    live_key: IssuedKey,
    beacon_key: PartnerAPIKey,
    helpline: Helpline,
) -> None:
    send(beacon_key, helpline, "elsewhere", datetime(2026, 10, 2, tzinfo=UTC))
    send(live_key.key, helpline, "findme", datetime(2026, 11, 2, tzinfo=UTC))
    send(live_key.key, helpline, "other", datetime(2026, 11, 2, tzinfo=UTC), "tty")
    client.force_login(superuser)
    assert client.get("/admin/events/event/add/").status_code == 403
    listing = client.get("/admin/events/event/", {"q": "findme"})
    assert listing.status_code == 200
    assert [e.session_id for e in listing.context["cl"].result_list] == ["findme"]
    clicks = client.get(
        "/admin/events/event/",
        {"contact_method__exact": "tty", "type__exact": "helpline_click", "is_test__exact": "0"},
    )
    assert [e.session_id for e in clicks.context["cl"].result_list] == ["other"]
    event = listing.context["cl"].result_list[0]
    detail = client.get(f"/admin/events/event/{event.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    by_month = client.get(
        "/admin/events/event/", {"timestamp__year": "2026", "timestamp__month": "11"}
    )
    assert len(by_month.context["cl"].result_list) == 2
    by_partner = client.get(
        "/admin/events/event/", {"partner__id__exact": str(live_key.key.partner_id)}
    )
    assert len(by_partner.context["cl"].result_list) == 2
    titles = [spec.title for spec in by_partner.context["cl"].filter_specs]
    assert titles[:3] == ["partner", "type", "contact method"]
