from django.urls import path

from oauth.views import RateLimitedTokenView

app_name = "oauth"

# Only the token endpoint: no authorization, revocation or introspection endpoints, which
# client credentials do not need (staff revoke in the admin, partners on their keys page).
# Rate limited per client (oauth/views.py).
urlpatterns = [
    path("token", RateLimitedTokenView.as_view(), name="token"),
]
