from django.urls import path

from accounts import partner_views

app_name = "partner"

urlpatterns = [
    path("", partner_views.home, name="home"),
    path("statement/", partner_views.statement, name="statement"),
    path("statement.csv", partner_views.statement_csv, name="statement_csv"),
    path("report/", partner_views.report, name="report"),
    path("report.pdf", partner_views.report_pdf, name="report_pdf"),
    path("export/report.csv", partner_views.export_report, name="export_report"),
    path("export/events.csv", partner_views.export_events, name="export_events"),
]
