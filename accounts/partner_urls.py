from django.urls import path

from accounts import partner_integration, partner_keys, partner_views

app_name = "partner"

urlpatterns = [
    path("", partner_views.home, name="home"),
    path("statement/", partner_views.statement, name="statement"),
    path("statement.csv", partner_views.statement_csv, name="statement_csv"),
    path("report/", partner_views.report, name="report"),
    path("report.pdf", partner_views.report_pdf, name="report_pdf"),
    path("export/report.csv", partner_views.export_report, name="export_report"),
    path("export/events.csv", partner_views.export_events, name="export_events"),
    path("integration/", partner_integration.integration, name="integration"),
    path(
        "integration/test/",
        partner_integration.integration,
        {"test_only": True},
        name="integration_test",
    ),
    path("keys/", partner_keys.keys, name="keys"),
    path("keys/issue/", partner_keys.issue, name="key_issue"),
    path("keys/<str:prefix>/name/", partner_keys.rename, name="key_rename"),
    path("keys/<str:prefix>/revoke/", partner_keys.revoke_key, name="key_revoke"),
    path("keys/clients/new/", partner_keys.new_client, name="client_new"),
    path("keys/clients/<str:label>/revoke/", partner_keys.revoke_client, name="client_revoke"),
]
