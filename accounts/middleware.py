"""What the accounts middlewares share: they decide, before a page's view runs, whether
the signed-in user may reach it (accounts.partner_scope, accounts.second_factor)."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

# Paths passed untouched, before the session is read: those whose callers are programs
# authenticated by API keys or OAuth tokens (so the API's hot path never reads the
# session), and the site's icon, which every browser asks for whoever is signed in.
UNGUARDED_PREFIXES = ("/v1/", "/oauth/", "/healthz", "/favicon.ico")


class PageAccessMiddleware:
    """`check(request)` runs before the view of every page (not the unguarded paths): a
    response answers instead of the view, None lets it run."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        if request.path.startswith(UNGUARDED_PREFIXES):
            return None
        return self.check(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        raise NotImplementedError
