"""The directory and partners in the Django admin, as staff use them."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import openpyxl
import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl.worksheet.worksheet import Worksheet

from helplines.authentication import find_key
from helplines.models import (
    CONTACT_CHANNEL_FIELDS,
    DirectoryCallBucket,
    Helpline,
    Partner,
    PartnerAPIKey,
)
from helplines.resources import COLUMNS
from tests.conftest import IssuedKey

pytestmark = pytest.mark.django_db

EXPORT_URL = reverse("admin:helplines_helpline_export")
IMPORT_URL = reverse("admin:helplines_helpline_import")
PROCESS_IMPORT_URL = reverse("admin:helplines_helpline_process_import")
CHANGELIST_URL = reverse("admin:helplines_helpline_changelist")
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def superuser_client(client: Client) -> Client:
    user = User.objects.create_superuser("admin", "admin@example.org", None)
    client.force_login(user)
    return client


def staff_client(*permissions: str) -> Client:
    user = User.objects.create_user("staff", "staff@example.org", None, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    staff = Client()
    staff.force_login(user)
    return staff


def export(client: Client, file_format: str) -> Any:
    return client.post(EXPORT_URL, {"format": file_format, "resource": "0"})


def import_file(client: Client, name: str, content: bytes, file_format: str) -> Any:
    return client.post(
        IMPORT_URL,
        {
            "resource": "0",
            "format": file_format,
            "import_file": SimpleUploadedFile(name, content),
        },
    )


def confirm_import(client: Client, preview: Any) -> None:
    confirm = preview.context["confirm_form"]
    response = client.post(PROCESS_IMPORT_URL, confirm.initial)
    assert response.status_code == 302


def test_csv_export_has_the_spec_columns(superuser_client: Client, helpline: Helpline) -> None:
    response = export(superuser_client, CSV_FORMAT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        COLUMNS,
        [
            helpline.public_id,
            "Samaritans Example",
            "",
            "GB",
            "",
            "Europe/London",
            "Suicidal thoughts",
            "116 123",
            "",
            "",
            "",
            "https://example.org/samaritans",
            "",
            "",
            "true",
            "true",
            "50",
            "",
        ],
    ]


def test_csv_round_trip_through_the_admin(superuser_client: Client, helpline: Helpline) -> None:
    exported = export(superuser_client, CSV_FORMAT).content.decode("utf-8-sig")
    changed = exported.replace("Samaritans Example", "Samaritans (renamed)").replace(
        "116 123", "116 999"
    )

    preview = import_file(superuser_client, "directory.csv", changed.encode(), CSV_FORMAT)

    assert preview.status_code == 200
    result = preview.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["update"] == 1
    # The preview is a dry run: nothing changed yet.
    helpline.refresh_from_db()
    assert helpline.name == "Samaritans Example"

    confirm_import(superuser_client, preview)

    helpline.refresh_from_db()
    assert (helpline.name, helpline.phone_number) == ("Samaritans (renamed)", "116 999")
    assert list(helpline.topics.values_list("name", flat=True)) == ["Suicidal thoughts"]


def test_xlsx_round_trip_through_the_admin(superuser_client: Client, helpline: Helpline) -> None:
    response = export(superuser_client, XLSX_FORMAT)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = cast(Worksheet, book.active)  # a new or loaded workbook has one sheet
    assert [cell.value for cell in sheet[1]] == COLUMNS
    assert sheet.cell(row=2, column=1).value == helpline.public_id
    sheet.cell(row=2, column=COLUMNS.index("priority") + 1).value = "false"
    sheet.cell(row=2, column=COLUMNS.index("topics") + 1).value = "Suicidal thoughts|Grief"
    sheet.append(["new-xlsx-1", "New Line", None, "ie", None, "Europe/Dublin"])
    changed = io.BytesIO()
    book.save(changed)

    preview = import_file(superuser_client, "directory.xlsx", changed.getvalue(), XLSX_FORMAT)
    assert preview.context["result"].totals["new"] == 1
    assert preview.context["result"].totals["update"] == 1
    confirm_import(superuser_client, preview)

    helpline.refresh_from_db()
    assert helpline.is_priority is False
    assert sorted(helpline.topics.values_list("name", flat=True)) == [
        "Grief",
        "Suicidal thoughts",
    ]
    assert Helpline.objects.get(public_id="new-xlsx-1").country_code == "IE"


def test_the_import_preview_names_the_bad_row(superuser_client: Client, helpline: Helpline) -> None:
    content = (
        ",".join(COLUMNS) + "\n"
        "good-1,Good Line,,FR,,,,,,,,,,,,,\n"
        "bad-row-7,Bad Line,,XX,,Nowhere/City,,,,,,,,,,,\n"
    ).encode()

    preview = import_file(superuser_client, "directory.csv", content, CSV_FORMAT)

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "bad-row-7" in page
    assert "&#x27;XX&#x27; is not an ISO 3166-1 alpha-2 country code." in page
    assert "&#x27;Nowhere/City&#x27; is not an IANA time zone name." in page
    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    assert not Helpline.objects.filter(public_id="good-1").exists()


def test_staff_without_the_export_permission_cannot_export(helpline: Helpline) -> None:
    staff = staff_client("view_helpline", "change_helpline")

    changelist = staff.get(CHANGELIST_URL)
    assert changelist.status_code == 200
    assert changelist.context["has_export_permission"] is False
    assert EXPORT_URL not in changelist.content.decode()
    assert staff.get(EXPORT_URL).status_code == 403
    assert export(staff, CSV_FORMAT).status_code == 403
    assert staff.get(IMPORT_URL).status_code == 403


def test_staff_granted_the_export_permission_can_export(helpline: Helpline) -> None:
    staff = staff_client("view_helpline", "export_helpline")

    assert EXPORT_URL in staff.get(CHANGELIST_URL).content.decode()
    response = export(staff, CSV_FORMAT)
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").splitlines()[0] == ",".join(COLUMNS)
    # Export alone does not allow import.
    assert staff.get(IMPORT_URL).status_code == 403


def test_partner_pages_show_quota_used_in_the_last_24_hours(
    superuser_client: Client, partner: Partner, live_key: IssuedKey
) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    DirectoryCallBucket.objects.bulk_create(
        [
            DirectoryCallBucket(partner=partner, hour=hour, calls=1200),
            DirectoryCallBucket(partner=partner, hour=hour - timedelta(hours=23), calls=34),
            # Out of the window: not counted.
            DirectoryCallBucket(partner=partner, hour=hour - timedelta(hours=24), calls=500),
        ]
    )
    partner.daily_quota = 5000
    partner.save()

    listing = superuser_client.get(reverse("admin:helplines_partner_changelist"))
    page = superuser_client.get(reverse("admin:helplines_partner_change", args=[partner.pk]))

    assert "1,234 of 5,000" in listing.content.decode()
    content = page.content.decode()
    assert "1,234 of 5,000" in content
    key = live_key.key
    assert key.prefix in content
    assert key.hashed_key not in content
    assert reverse("admin:helplines_partner_issue_key", args=[partner.pk]) in content


def test_issuing_a_key_shows_it_once(superuser_client: Client, partner: Partner) -> None:
    url = reverse("admin:helplines_partner_issue_key", args=[partner.pk])
    assert superuser_client.get(url).status_code == 200

    response = superuser_client.post(url, {"name": "staging", "is_test": "on"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw_key = response.context["raw_key"]
    assert raw_key in response.content.decode()
    key = find_key(raw_key)
    assert key is not None
    assert (key.partner, key.name, key.is_test, key.revoked) == (partner, "staging", True, False)
    # Stored nowhere in the clear: not in the key row, the log or a message.
    assert raw_key not in key.hashed_key
    assert not any(raw_key in entry.change_message for entry in LogEntry.objects.all())
    assert (
        raw_key
        not in superuser_client.get(
            reverse("admin:helplines_partner_change", args=[partner.pk])
        ).content.decode()
    )


def test_revoking_keys_from_the_partner_page(
    superuser_client: Client,
    partner: Partner,
    live_key: IssuedKey,
    test_key: IssuedKey,
) -> None:
    url = reverse("admin:helplines_partner_change", args=[partner.pk])
    page = superuser_client.get(url).content.decode()
    assert f'value="{test_key.key.prefix}"' in page

    response = superuser_client.post(
        url,
        {
            "name": partner.name,
            "slug": partner.slug,
            "is_active": "on",
            "billing_timezone": "UTC",
            "daily_quota": "250",
            "notes": "",
            "revoke_keys": [test_key.key.prefix],
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 key(s)." in response.content.decode()
    assert PartnerAPIKey.objects.get(pk=test_key.key.pk).revoked is True
    assert PartnerAPIKey.objects.get(pk=live_key.key.pk).revoked is False
    partner.refresh_from_db()
    assert partner.daily_quota == 250
    # A revoked key is no longer offered for revocation.
    assert f'value="{test_key.key.prefix}"' not in superuser_client.get(url).content.decode()


def test_adding_a_partner_in_the_admin(superuser_client: Client) -> None:
    url = reverse("admin:helplines_partner_add")
    assert superuser_client.get(url).status_code == 200

    response = superuser_client.post(
        url,
        {
            "name": "Harbour Social",
            "slug": "harbour",
            "is_active": "on",
            "billing_timezone": "Europe/Paris",
            "daily_quota": "1000",
            "notes": "",
        },
    )

    assert response.status_code == 302
    assert Partner.objects.get(slug="harbour").billing_timezone == "Europe/Paris"


def test_revoking_selected_keys(
    superuser_client: Client,
    live_key: IssuedKey,
    test_key: IssuedKey,
) -> None:
    response = superuser_client.post(
        reverse("admin:helplines_partnerapikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [live_key.key.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 key(s)." in response.content.decode()
    assert PartnerAPIKey.objects.get(pk=live_key.key.pk).revoked is True
    assert PartnerAPIKey.objects.get(pk=test_key.key.pk).revoked is False


def test_topic_admin_lists_topics_with_their_helpline_count(
    superuser_client: Client, helpline: Helpline
) -> None:
    response = superuser_client.get(reverse("admin:helplines_topic_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_list[0].helpline_count == 1


def test_helplines_are_retired_not_deleted_and_keep_their_id(
    admin_client: Client, helpline: Helpline
) -> None:
    page = admin_client.get(f"/admin/helplines/helpline/{helpline.pk}/change/")
    assert page.status_code == 200
    assert 'name="public_id"' not in page.content.decode()  # shown read-only

    delete = admin_client.get(f"/admin/helplines/helpline/{helpline.pk}/delete/")
    assert delete.status_code == 403


def test_admin_offers_only_partner_keys(admin_client: Client) -> None:
    html = admin_client.get("/admin/").content.decode()
    assert "/admin/helplines/partnerapikey/" in html
    assert "/admin/rest_framework_api_key/" not in html


def helpline_form(helpline: Helpline, **changes: object) -> dict[str, object]:
    """The change form of `helpline` as the admin posts it, with `changes`."""
    fields = {
        "name": helpline.name,
        "description": helpline.description,
        "topics": [topic.pk for topic in helpline.topics.all()],
        "country_code": helpline.country_code,
        "subdivision": helpline.subdivision,
        "timezone": helpline.timezone,
        **{channel: getattr(helpline, channel) for channel in CONTACT_CHANNEL_FIELDS},
        "is_priority": "on" if helpline.is_priority else "",
        "is_active": "on" if helpline.is_active else "",
        "hourly_capacity": helpline.hourly_capacity or "",
        "paired_with": helpline.paired_with_id or "",
    }
    return {key: value for key, value in (fields | changes).items() if value != ""}


def test_pairing_in_the_admin_writes_both_sides_and_refuses_a_taken_service(
    superuser_client: Client, helpline: Helpline
) -> None:
    youth = Helpline.objects.create(public_id="youth", name="Youth", country_code="GB")
    french = Helpline.objects.create(public_id="fr", name="Ligne", country_code="FR")
    url = f"/admin/helplines/helpline/{helpline.pk}/change/"

    response = superuser_client.post(url, helpline_form(helpline, paired_with=youth.pk))
    assert response.status_code == 302
    assert dict(Helpline.objects.values_list("public_id", "paired_with__public_id")) == {
        helpline.public_id: "youth",
        "youth": helpline.public_id,
        "fr": None,
    }

    refused = superuser_client.post(
        f"/admin/helplines/helpline/{french.pk}/change/",
        helpline_form(french, paired_with=youth.pk),
    )
    assert refused.status_code == 200
    assert "youth is paired with another service: unpair them first." in refused.content.decode()

    helpline.refresh_from_db()
    superuser_client.post(url, helpline_form(helpline, paired_with=""))
    assert set(Helpline.objects.values_list("paired_with", flat=True)) == {None}
