from django.urls import path
from oauth2_provider.views import TokenView

app_name = "oauth"

# Only the token endpoint: no authorization, revocation or introspection endpoints, which
# client credentials do not need (staff revoke in the admin).
urlpatterns = [
    path("token", TokenView.as_view(), name="token"),
]
