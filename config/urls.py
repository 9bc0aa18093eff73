from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.forms import SignInForm
from accounts.password_views import ForgotPasswordView
from api.health import healthz
from api.views import favicon, not_found

admin.site.site_header = "Throughline Events"
admin.site.site_title = "Throughline Events"
admin.site.index_title = "Directory, partners and events"
# The admin's sign-in page is everyone's: staff, and partner users (sent to /partner/).
admin.site.login_form = SignInForm

v1_patterns: list[URLPattern | URLResolver] = [
    path("", include("events.urls")),
    path("", include("helplines.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    re_path(r"^(?P<path>.*)$", not_found),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask every site for /favicon.ico, whatever the page declares.
    path("favicon.ico", favicon),
    path("v1/", include(v1_patterns)),
    path("admin/", admin.site.urls),
    # Named as the admin's sign-in page looks for it, so it offers the link.
    path(
        "account/password/forgot/",
        ForgotPasswordView.as_view(),
        name="admin_password_reset",
    ),
    path("account/", include("accounts.urls")),
    path("partner/", include("accounts.partner_urls")),
    path("oauth/", include("oauth.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("", RedirectView.as_view(pattern_name="dashboard:overview", permanent=False)),
]
