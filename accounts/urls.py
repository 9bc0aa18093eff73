from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("2fa/enrol/", views.enrol, name="enrol"),
    path("2fa/verify/", views.verify, name="verify"),
]
