from django.urls import path

from accounts import password_views, views

app_name = "accounts"

urlpatterns = [
    path("2fa/enrol/", views.enrol, name="enrol"),
    path("2fa/verify/", views.verify, name="verify"),
    path(
        "password/set/<uidb64>/<token>/",
        password_views.SetPasswordView.as_view(),
        name="set_password",
    ),
    path(
        "password/forgot/sent/",
        password_views.ForgotPasswordSentView.as_view(),
        name="forgot_password_sent",
    ),
    path("sign-out/", password_views.SignOutView.as_view(), name="sign_out"),
]
