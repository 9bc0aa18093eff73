"""The audit trail is append-only for everyone: the admin lists and filters it but refuses to
add, change or delete (superusers too), the model refuses, and on PostgreSQL the database
refuses. Only the retention purge (purge_audit) removes entries, the old ones."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from audit.models import AppendOnlyError, AuditEntry
from helplines.models import Partner


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.org", "root-pass-123")


@pytest.fixture
def admin_client(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def entry(partner: Partner) -> AuditEntry:
    return AuditEntry.objects.get(object_type="helplines.partner")


def test_the_admin_lists_and_filters_the_trail(
    admin_client: Client, entry: AuditEntry, superuser: User
) -> None:
    response = admin_client.get(
        "/admin/audit/auditentry/", {"action__exact": "create", "q": "Acme"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [entry]
    filters = [spec.title for spec in response.context["cl"].filter_specs]
    assert filters == ["action", "object type", "actor", "at"]
    assert "Add audit entry" not in response.text
    assert 'value="delete_selected"' not in response.text


def test_the_admin_shows_an_entry_read_only(admin_client: Client, entry: AuditEntry) -> None:
    response = admin_client.get(f"/admin/audit/auditentry/{entry.pk}/change/")

    assert response.status_code == 200
    assert "<strong>daily_quota</strong>: <code>—</code> → <code>1000</code>" in response.text
    assert 'type="submit"' not in response.text.split('id="content-main"')[1].split("</form>")[0]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/admin/audit/auditentry/add/"),
        ("post", "/admin/audit/auditentry/{pk}/change/"),
        ("post", "/admin/audit/auditentry/{pk}/delete/"),
        ("get", "/admin/audit/auditentry/{pk}/delete/"),
    ],
)
def test_the_admin_refuses_a_superuser_any_change(
    admin_client: Client, entry: AuditEntry, method: str, path: str
) -> None:
    response = getattr(admin_client, method)(
        path.format(pk=entry.pk), {"actor": "someone-else", "post": "yes"}
    )

    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.actor == "system"
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_bulk_delete_action_is_refused(admin_client: Client, entry: AuditEntry) -> None:
    response = admin_client.post(
        "/admin/audit/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    # No action at all is offered, so the list is shown again with nothing done.
    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_model_refuses_to_change_or_delete(entry: AuditEntry) -> None:
    entry.actor = "someone-else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="someone-else")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    # bulk_update joins the test's transaction without a savepoint: give it one.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["actor"])

    assert AuditEntry.objects.get(pk=entry.pk).actor == "system"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditentry SET actor = 'someone-else'", "DELETE FROM audit_auditentry"],
)
def test_postgresql_refuses_sql_that_changes_or_deletes(entry: AuditEntry, sql: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert AuditEntry.objects.get(pk=entry.pk).actor == "system"


def test_purge_audit_deletes_only_entries_past_the_retention(
    partner: Partner, settings: object
) -> None:
    settings.AUDIT_RETENTION_DAYS = 30  # type: ignore[attr-defined]
    old = AuditEntry.objects.create(
        at=timezone.now() - timedelta(days=31),
        actor="system",
        action="update",
        object_type="helplines.partner",
        object_id=str(partner.pk),
        object_repr=str(partner),
    )
    recent = AuditEntry.objects.get(object_type="helplines.partner", action="create")
    out = StringIO()

    call_command("purge_audit", stdout=out)

    assert out.getvalue().startswith("Deleted 1 audit entries older than ")
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEntry.objects.filter(pk=old.pk).exists()


def test_purge_audit_refuses_a_retention_under_a_day(db: None) -> None:
    with pytest.raises(Exception, match="at least 1 day"):
        call_command("purge_audit", "--older-than", "0")
