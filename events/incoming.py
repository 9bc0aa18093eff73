"""The rules every incoming event obeys (docs/product.md §3.1), written once for every ingest path.

`validate_event` judges one event, for the single endpoints and for each item of a batch,
and either returns it as a `NewEvent` or raises a DRF `ValidationError` naming every
field at fault (`{field: [ErrorDetail(message, code)]}`), which `api.errors` renders.

Hand-written rather than a DRF serializer per event: a serializer walks a dozen generic
layers per field (empty-value checks, validators, `validate_<field>` lookups, deep copies
of its fields) and cost about a fifth of a single event's time and most of a batch's
Python time (bench/README.md, "Where the time went"). The messages and codes of the rules
DRF used to apply (`required`, `null`, `blank`, `invalid_choice`, NUL and surrogate
characters) are DRF's own, word for word, so no answer changed.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, NamedTuple, NoReturn

from django.conf import settings
from rest_framework.exceptions import ErrorDetail, ValidationError

from events.models import ContactMethod, EventType
from events.pii import SESSION_ID_MAX_LENGTH, SESSION_ID_PATTERN, pii_kind
from events.services import NewEvent
from events.timestamps import NaiveTimestamp, parse_iso_timestamp

# The fields of each event type, in the order their errors are listed.
FIELDS: dict[str, tuple[str, ...]] = {
    EventType.DISPLAY: ("helpline_id", "session_id", "timestamp"),
    EventType.CLICK: ("helpline_id", "session_id", "timestamp", "contact_method"),
}
CONTACT_METHODS = frozenset(ContactMethod.values)
# The names an event may carry: its fields, and in a batch its `type` too.
_ALLOWED = {event_type: frozenset(names) for event_type, names in FIELDS.items()}
_ALLOWED_IN_BATCH = {event_type: names | {"type"} for event_type, names in _ALLOWED.items()}

# An error names at most this many unknown fields of one object: a body of thousands of
# unknown keys would otherwise cost seconds of CPU and an answer several times its size.
MAX_UNKNOWN_FIELDS_NAMED = 10

_MISSING: Any = object()

MESSAGES = {
    "required": "This field is required.",
    "null": "This field may not be null.",
    "blank": "This field may not be blank.",
    "wrong_type": "Must be a string.",
    "null_characters_not_allowed": "Null characters are not allowed.",
    "timestamp_wrong_type": "Must be an ISO 8601 string.",
    "timestamp_invalid": "Must be an ISO 8601 timestamp, e.g. 2026-11-22T14:05:00Z.",
    "timezone_required": "Must include a UTC offset, e.g. Z or +01:00.",
    "in_future": "More than 5 minutes in the future: check the client's clock.",
    "unknown_helpline": "No helpline in the directory has this id.",
    "invalid_characters": "Only letters, digits and . _ : - are allowed.",
    "unknown_field": "Unknown field: it is not part of this event.",
    "contact_method_on_display": "contact_method is only accepted on helpline_click events.",
}


class RefusalHelp(NamedTuple):
    meaning: str
    fix: str


# What each code a refused event is counted under means, and how the integrating engineer
# fixes it: the partner's integration health page shows these beside its refusal counts
# (docs/product.md §3.1). The codes are those the ingest answers with: a field's code for
# a validation error (the first field's), else the error's own code. A limit is named by
# its {placeholder} and written in by `refusal_help` from the settings in force, so the
# page tells a partner the limits this server applies, not the defaults.
REFUSAL_HELP: dict[str, RefusalHelp] = {
    "required": RefusalHelp(
        "A field of the event is missing.",
        "Send helpline_id, session_id and timestamp on every event, and contact_method on "
        "clicks; in a batch, each event's type too.",
    ),
    "null": RefusalHelp(
        "A field was sent as null.",
        "Send a value, or leave the event out until you have one.",
    ),
    "blank": RefusalHelp("A field was sent as an empty string.", "Send a non-empty value."),
    "wrong_type": RefusalHelp(
        "A field is not a string (a number, a list, an object).",
        "Send every field as a JSON string, the timestamp as ISO 8601 text.",
    ),
    "null_characters_not_allowed": RefusalHelp(
        "A field holds a NUL character (\\u0000).",
        "Strip NUL characters from the values you send.",
    ),
    "surrogate_characters_not_allowed": RefusalHelp(
        "A field holds a lone UTF-16 surrogate, which is not text.",
        "Send valid Unicode text; check how your client escapes strings into JSON.",
    ),
    "invalid": RefusalHelp(
        "A value cannot be read: a timestamp that is not ISO 8601, or a batch item that is "
        "not a JSON object.",
        "Send timestamps such as 2026-11-22T14:05:00Z and each batch item as an object.",
    ),
    "timezone_required": RefusalHelp(
        "The timestamp has no UTC offset, so the instant it names is unknown.",
        "End every timestamp with Z or an offset such as +01:00.",
    ),
    "in_future": RefusalHelp(
        "The timestamp is more than {future_seconds:,} seconds ahead of the server's clock.",
        "Synchronise the sending machine's clock (NTP), and send when the event happened.",
    ),
    "too_old": RefusalHelp(
        "The timestamp is older than the late-arrival window ({late_days:,} days).",
        "Send events within days; a queue replayed after a long outage loses older events.",
    ),
    "unknown_helpline": RefusalHelp(
        "No helpline in the directory has this helpline_id.",
        "Send the id exactly as GET /v1/helplines gives it; do not build or shorten ids.",
    ),
    "looks_like_pii": RefusalHelp(
        "The session_id looks like personal data: an email address, a phone number, an IP "
        "address or a card number.",
        "Send an opaque id (a UUID, a hash, a random token) and never a user's details.",
    ),
    "max_length": RefusalHelp(
        "The session_id is longer than {session_id_length:,} characters, or a batch holds "
        "more than {max_batch:,} events.",
        "Send a shorter opaque id; split larger batches.",
    ),
    "invalid_characters": RefusalHelp(
        "The session_id holds characters other than A-Z a-z 0-9 . _ : -.",
        "Use a UUID, a hex or base64url hash, or a prefixed random token.",
    ),
    "unknown_field": RefusalHelp(
        "The event has a field the API does not take (contact_method on a display counts).",
        "Send only the documented fields: an extra field is where personal data leaks in.",
    ),
    "invalid_choice": RefusalHelp(
        "contact_method, or a batch item's type, is not one of the accepted values.",
        "contact_method: phone, sms, online_chat, website, tty, whatsapp or reporting_form; "
        "type: helpline_display or helpline_click.",
    ),
    "empty": RefusalHelp("A batch with no events.", "Send 1 to {max_batch:,} events per batch."),
    "not_a_list": RefusalHelp(
        "A batch whose events field is not a list.", 'Send {{"events": [...]}}.'
    ),
    "parse_error": RefusalHelp(
        "The body is not valid JSON (or not UTF-8, nested too deep, a number out of range, "
        "or gzip that does not decompress).",
        "Serialise with a JSON library, in UTF-8, without a byte order mark.",
    ),
    "duplicate_key": RefusalHelp(
        "A JSON object holds the same key twice.", "Send each field once per object."
    ),
    "request_too_large": RefusalHelp(
        "The body is over {body_bytes:,} bytes for one event, or over {batch_body_bytes:,} "
        "bytes for a batch (decompressed).",
        "Send smaller batches.",
    ),
    "unsupported_media_type": RefusalHelp(
        "The body is not sent as application/json, or with a Content-Encoding other than gzip.",
        "Send Content-Type: application/json, and gzip or no Content-Encoding.",
    ),
    "throttled": RefusalHelp(
        "The key sent more requests than its rate limit ({rate_limit}).",
        "Slow down, wait for Retry-After, and use POST /v1/events/batch for volume.",
    ),
    "method_not_allowed": RefusalHelp(
        "The endpoint was called with a method other than POST.", "Send events with POST."
    ),
    "not_found": RefusalHelp("No such endpoint.", "Check the path against /v1/docs/."),
}


def refusal_help(code: str) -> RefusalHelp:
    """The meaning and fix of `code`, with this server's limits written in; a neutral line
    for a code not (yet) described."""
    described = REFUSAL_HELP.get(code)
    if described is None:
        return RefusalHelp(f"Refused with the code {code}.", "See the API documentation.")
    limits = {
        "future_seconds": settings.EVENTS_FUTURE_TOLERANCE_SECONDS,
        "late_days": settings.EVENTS_LATE_ARRIVAL_DAYS,
        "session_id_length": SESSION_ID_MAX_LENGTH,
        "max_batch": settings.EVENTS_MAX_BATCH,
        "body_bytes": settings.EVENTS_MAX_BODY_BYTES,
        "batch_body_bytes": settings.EVENTS_MAX_BATCH_BODY_BYTES,
        "rate_limit": settings.EVENTS_RATE_LIMIT,
    }
    return RefusalHelp(described.meaning.format(**limits), described.fix.format(**limits))


class FieldRefused(Exception):
    """One field's errors, raised inside a field's check and collected per field."""

    def __init__(self, *errors: ErrorDetail) -> None:
        self.errors = list(errors)


def _refuse(message: str, code: str) -> NoReturn:
    raise FieldRefused(ErrorDetail(message, code=code))


class Window(NamedTuple):
    """The timestamps accepted at one instant: late arrivals back to `earliest`, clocks
    ahead up to `latest` (EVENTS_LATE_ARRIVAL_DAYS, EVENTS_FUTURE_TOLERANCE_SECONDS)."""

    earliest: datetime
    latest: datetime


def accepted_window(now: datetime) -> Window:
    """The window of a request received at `now`: read once per request, not per event."""
    return Window(
        earliest=now - timedelta(days=settings.EVENTS_LATE_ARRIVAL_DAYS),
        latest=now + timedelta(seconds=settings.EVENTS_FUTURE_TOLERANCE_SECONDS),
    )


def validate_event(
    data: Any,
    event_type: str,
    *,
    helplines: Mapping[str, int],
    window: Window,
    in_batch: bool = False,
) -> NewEvent:
    """`data` as a NewEvent of `event_type`, or ValidationError naming each field at fault.

    `helplines`: public id -> primary key of the helplines the request names (inactive
    ones included: a late event about a helpline since retired must not be lost).
    `window`: the timestamps accepted (`accepted_window`). `in_batch`: `data` is an item
    of a batch, whose `type` (checked by the caller) is one of its names.
    """
    if data is None:
        raise ValidationError({"non_field_errors": [ErrorDetail("No data provided", "null")]})
    if not isinstance(data, Mapping):
        message = f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
        raise ValidationError({"non_field_errors": [ErrorDetail(message, "invalid")]})

    fields = FIELDS[event_type]
    errors: dict[str, list[ErrorDetail]] = {}
    values: dict[str, Any] = {}
    for name in fields:
        try:
            values[name] = _CHECKS[name](data.get(name, _MISSING), helplines, window)
        except FieldRefused as refused:
            errors[name] = refused.errors
    allowed = (_ALLOWED_IN_BATCH if in_batch else _ALLOWED)[event_type]
    if not data.keys() <= allowed:
        errors.update(
            unknown_field_errors(
                (name for name in data if name not in allowed),
                lambda name: MESSAGES[
                    "contact_method_on_display" if name == "contact_method" else "unknown_field"
                ],
            )
        )
    if errors:
        raise ValidationError(errors)
    return NewEvent(
        type=event_type,
        helpline_pk=helplines[values["helpline_id"]],
        helpline_id=values["helpline_id"],
        session_id=values["session_id"],
        timestamp=values["timestamp"],
        contact_method=values.get("contact_method", ""),
    )


def unknown_field_errors(
    names: Iterable[str], message: Callable[[str], str]
) -> dict[str, list[ErrorDetail]]:
    """`unknown_field` for each of `names`, at most MAX_UNKNOWN_FIELDS_NAMED of them: the
    one rule for extra fields, in an event and in the batch envelope."""
    return {
        name: [ErrorDetail(message(name), code="unknown_field")]
        for name in islice(names, MAX_UNKNOWN_FIELDS_NAMED)
    }


def refusal(field: str, message: str, code: str) -> dict[str, list[ErrorDetail]]:
    """One field refused with one error, in the shape `api.errors` renders."""
    return {field: [ErrorDetail(message, code=code)]}


def unknown_helpline() -> ErrorDetail:
    return ErrorDetail(MESSAGES["unknown_helpline"], code="unknown_helpline")


def _present(value: Any) -> None:
    if value is _MISSING:
        _refuse(MESSAGES["required"], "required")
    if value is None:
        _refuse(MESSAGES["null"], "null")


def _text(value: Any) -> str:
    """A non-empty string free of NUL and lone surrogates (both reported if both)."""
    if type(value) is str and value and value.isascii() and "\x00" not in value:
        return value  # the common case, settled at once; what follows names the fault
    _present(value)
    if value == "":
        _refuse(MESSAGES["blank"], "blank")
    if not isinstance(value, str):
        _refuse(MESSAGES["wrong_type"], "wrong_type")
    if value.isascii() and "\x00" not in value:
        return value
    errors = []
    if "\x00" in value:
        errors.append(
            ErrorDetail(MESSAGES["null_characters_not_allowed"], "null_characters_not_allowed")
        )
    surrogate = next((char for char in value if 0xD800 <= ord(char) <= 0xDFFF), None)
    if surrogate is not None:
        errors.append(
            ErrorDetail(
                f"Surrogate characters are not allowed: U+{ord(surrogate):X}.",
                "surrogate_characters_not_allowed",
            )
        )
    if errors:
        raise FieldRefused(*errors)
    return value


def _helpline_id(value: Any, helplines: Mapping[str, int], window: Window) -> str:
    public_id = _text(value)
    if public_id not in helplines:
        raise FieldRefused(unknown_helpline())
    return public_id


def _session_id(value: Any, helplines: Mapping[str, int], window: Window) -> str:
    """Opaque, never personal data: refused as `looks_like_pii` before any other rule,
    so the partner learns why (events/pii.py)."""
    # An empty string is judged below, after the personal-data rules.
    session_id = "" if value == "" else _text(value)
    kind = pii_kind(session_id)
    if kind is not None:
        _refuse(
            f"Looks like {kind}: send an opaque id such as a UUID or a hash, never personal data.",
            "looks_like_pii",
        )
    if not session_id:
        _refuse(MESSAGES["blank"], "blank")
    if len(session_id) > SESSION_ID_MAX_LENGTH:
        _refuse(f"At most {SESSION_ID_MAX_LENGTH} characters.", "max_length")
    if not SESSION_ID_PATTERN.fullmatch(session_id):
        _refuse(MESSAGES["invalid_characters"], "invalid_characters")
    return session_id


def offset_timestamp(value: Any) -> datetime:
    """An ISO 8601 string with an offset, as an aware UTC datetime; FieldRefused otherwise.

    The rule for every timestamp a partner sends, in an event or a query parameter.
    """
    if not isinstance(value, str):
        _refuse(MESSAGES["timestamp_wrong_type"], "wrong_type")
    try:
        return parse_iso_timestamp(value)
    except NaiveTimestamp:
        _refuse(MESSAGES["timezone_required"], "timezone_required")
    except ValueError:
        _refuse(MESSAGES["timestamp_invalid"], "invalid")


def _timestamp(value: Any, helplines: Mapping[str, int], window: Window) -> datetime:
    """ISO 8601 with an offset, within `window`."""
    _present(value)
    stamp = offset_timestamp(value)
    if stamp > window.latest:
        _refuse(MESSAGES["in_future"], "in_future")
    if stamp < window.earliest:
        _refuse(
            f"Older than the late-arrival window of {settings.EVENTS_LATE_ARRIVAL_DAYS} days.",
            "too_old",
        )
    return stamp


def _contact_method(value: Any, helplines: Mapping[str, int], window: Window) -> str:
    _present(value)
    if str(value) not in CONTACT_METHODS:
        _refuse(f'"{value}" is not a valid choice.', "invalid_choice")
    return str(value)


_CHECKS = {
    "helpline_id": _helpline_id,
    "session_id": _session_id,
    "timestamp": _timestamp,
    "contact_method": _contact_method,
}
