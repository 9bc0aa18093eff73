"""Every code an event can be refused with has its meaning and its fix, written once
(`events.incoming.REFUSAL_HELP`), for the partner's integration page."""

import re
from pathlib import Path

from pytest_django import Settings

from events.incoming import REFUSAL_HELP, RefusalHelp, refusal_help

README = Path(__file__).resolve().parents[2] / "README.md"
# 4xx codes of the README's error table that are never counted as a partner's refusal: the
# request has no partner (no or a bad key) or is a directory call, not an event.
NOT_EVENTS = {
    "not_authenticated",
    "invalid_api_key",
    "key_revoked",
    "key_expired",
    "partner_inactive",
    "quota_exceeded",
}


def readme_codes() -> set[str]:
    codes: set[str] = set()
    for line in README.read_text().splitlines():
        if re.match(r"^\| 4\d\d \| ", line):
            cells = line.split("|")
            codes |= set(re.findall(r"`([a-z_]+)`", cells[2]))
            if "`invalid`" in cells[2]:  # the field codes listed in its "When"
                codes |= set(re.findall(r"`([a-z_]+)`", cells[3]))
    return codes - NOT_EVENTS - {"fields"}  # "see `fields`"


def test_every_event_error_code_of_the_readme_has_a_meaning_and_a_fix() -> None:
    codes = readme_codes()
    assert {"looks_like_pii", "timezone_required", "parse_error", "throttled"} <= codes
    assert sorted(codes - set(REFUSAL_HELP)) == []
    for code in REFUSAL_HELP:
        meaning, fix = refusal_help(code)  # every placeholder has its value
        assert meaning.endswith(".") and len(fix) > 10, code
        assert "{" not in meaning and "}" not in meaning, code


def test_the_limits_named_are_the_ones_this_server_applies(settings: Settings) -> None:
    settings.EVENTS_LATE_ARRIVAL_DAYS = 3
    settings.EVENTS_FUTURE_TOLERANCE_SECONDS = 60
    settings.EVENTS_MAX_BATCH = 250
    settings.EVENTS_MAX_BODY_BYTES = 8192
    settings.EVENTS_MAX_BATCH_BODY_BYTES = 500_000
    settings.EVENTS_RATE_LIMIT = "20/s"

    assert refusal_help("too_old").meaning == (
        "The timestamp is older than the late-arrival window (3 days)."
    )
    assert refusal_help("in_future").meaning == (
        "The timestamp is more than 60 seconds ahead of the server's clock."
    )
    assert refusal_help("max_length").meaning == (
        "The session_id is longer than 128 characters, or a batch holds more than 250 events."
    )
    assert refusal_help("empty").fix == "Send 1 to 250 events per batch."
    assert refusal_help("request_too_large").meaning == (
        "The body is over 8,192 bytes for one event, or over 500,000 bytes for a batch "
        "(decompressed)."
    )
    assert refusal_help("throttled").meaning == (
        "The key sent more requests than its rate limit (20/s)."
    )
    assert refusal_help("not_a_list").fix == 'Send {"events": [...]}.'


def test_a_code_not_described_gets_a_neutral_line() -> None:
    assert refusal_help("brand_new") == RefusalHelp(
        "Refused with the code brand_new.", "See the API documentation."
    )
    assert refusal_help("unknown_helpline") == REFUSAL_HELP["unknown_helpline"]
