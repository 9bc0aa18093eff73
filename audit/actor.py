"""Who is making the current change: the signed-in staff user of the request, a partner
calling the API, or the system (the management command being run)."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from django.http import HttpRequest, HttpResponse

from helplines.models import Partner

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_label: ContextVar[str | None] = ContextVar("audit_actor_label", default=None)


class AuditActorMiddleware:
    """Keeps the request for the audit trail while it is served (after authentication).

    The user is read only when an audited object changes, so requests that change
    nothing (the event API above all) never load it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@contextmanager
def acting_as(label: str) -> Iterator[None]:
    """Changes made inside are recorded as made by `label` (e.g. "system:nightly-sync")."""
    token = _label.set(label)
    try:
        yield
    finally:
        _label.reset(token)


def current_actor() -> tuple[int | None, str]:
    """(user id or None, label) of whoever makes the change now."""
    label = _label.get()
    if label is not None:
        return None, label
    request = _request.get()
    if request is None:
        return None, _process_label()
    user = getattr(request, "user", None)
    # The partner API's authentication puts the Partner in the request's user.
    if isinstance(user, Partner):
        return None, f"partner:{user.slug}"
    if user is not None and user.is_authenticated:
        return user.pk, user.get_username()
    return None, "anonymous"


def _process_label() -> str:
    # Outside a request the change comes from a command: `manage.py <name> ...` (cron,
    # `make run`, an operator). Anything else (a test, a script) is plain "system".
    argv = sys.argv
    if len(argv) > 1 and Path(argv[0]).name in {"manage.py", "django-admin"}:
        return f"system:{argv[1]}"
    return "system"
