"""How long a sign-in lasts: it ends after `SESSION_COOKIE_AGE` without a request (the
idle timeout) and, however busy, `SESSION_MAX_AGE` after the sign-in (the absolute one).

Renewing the idle timeout on every request (Django's `SESSION_SAVE_EVERY_REQUEST`) wrote
the session row and waited for its commit on every page a user opened, a page that
otherwise only reads. Here a request renews it when the last renewal is at least
`RENEW_AFTER` old, so a session ends between `SESSION_COOKIE_AGE - RENEW_AFTER` and
`SESSION_COOKIE_AGE` after its last request. The absolute lifetime ends a session that
is never idle: a browser left on the load page, which reloads itself every two minutes.

Both times are kept in the session's own data (signed, seconds since the epoch: no
address, no browser), set at sign-in, and read before the user is: an ended session is
flushed, so the request goes on signed out (the page sends it to the sign-in form).
"""

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from accounts.middleware import UNGUARDED_PREFIXES

# Seconds between two renewals of the idle timeout.
RENEW_AFTER = 60
SIGNED_IN_AT = "_signed_in_at"
RENEWED_AT = "_renewed_at"


def _now() -> int:
    return int(time.time())


def start(session: SessionBase) -> None:
    """A new sign-in: both clocks start now."""
    session[SIGNED_IN_AT] = session[RENEWED_AT] = _now()


@receiver(user_logged_in, dispatch_uid="accounts.sessions.start")
def _signed_in(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        start(request.session)


class SessionLifetimeMiddleware:
    """After SessionMiddleware, before AuthenticationMiddleware: ends a session past its
    absolute lifetime, and renews the idle timeout at most once every `RENEW_AFTER`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The API's callers carry keys, not sessions: their hot path never reads one.
        if not request.path.startswith(UNGUARDED_PREFIXES):
            self._check(request.session)
        return self.get_response(request)

    @staticmethod
    def _check(session: SessionBase) -> None:
        if session.session_key is None:
            return
        signed_in = session.get(SIGNED_IN_AT)
        if session.is_empty():  # the cookie names no live session
            return
        now = _now()
        if signed_in is None:
            # A session from before these clocks were kept starts them now.
            start(session)
        elif now - signed_in >= settings.SESSION_MAX_AGE:
            session.flush()
        elif now - session.get(RENEWED_AT, 0) >= RENEW_AFTER:
            # Modified, so SessionMiddleware saves it with a new expiry and cookie.
            session[RENEWED_AT] = now
