from django.urls import path

from accounts import partner_views

app_name = "partner"

urlpatterns = [
    path("", partner_views.home, name="home"),
]
