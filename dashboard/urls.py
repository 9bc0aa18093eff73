from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("partners/<slug:slug>/", views.partner_detail, name="partner"),
    path("partners/<slug:slug>/ctr.svg", views.partner_ctr_svg, name="partner_ctr_svg"),
    path("partners/<slug:slug>/report/", views.partner_report, name="partner_report"),
    path("partners/<slug:slug>/report.pdf", views.partner_report_pdf, name="partner_report_pdf"),
    path("helplines/<str:public_id>/", views.helpline_detail, name="helpline"),
    path("load/", views.load, name="load"),
    path("export/report.csv", views.report_csv, name="export_report"),
    path("export/billing.csv", views.billing_csv, name="export_billing"),
    path("export/events.csv", views.events_csv, name="export_events"),
    path("export/paired.csv", views.paired_csv, name="export_paired"),
    path("export/load.csv", views.load_csv, name="export_load"),
]
