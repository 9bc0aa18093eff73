"""gunicorn's settings in production (`make serve`), every knob from the environment.

The access log names no one: no client address (`%(h)s`), no query string (`%(U)s` is the
path alone: a key pasted into a URL by mistake never reaches a log file), no referer and
no user agent. Timeouts are graceful: a restart lets requests in flight finish, so a
partner's event is answered after its commit, never cut off.
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, not {value!r}.") from exc


bind = f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"
# Sync workers: the work per request is CPU (validation, rendering) and one short query.
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1))
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# A worker is replaced after this many requests (and some jitter, so that they are not all
# replaced at once): a slow leak can never grow without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = max_requests // 10
# The TLS proxy in front sets X-Forwarded-Proto; only its address is trusted to.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
