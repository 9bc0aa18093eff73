"""Every code an event can be refused with has its meaning and its fix, written once
(`events.incoming.REFUSAL_HELP`), for the partner's integration page."""

import re
from pathlib import Path

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
    for code, (meaning, fix) in REFUSAL_HELP.items():
        assert meaning.endswith(".") and len(fix) > 10, code


def test_a_code_not_described_gets_a_neutral_line() -> None:
    assert refusal_help("brand_new") == RefusalHelp(
        "Refused with the code brand_new.", "See the API documentation."
    )
    assert refusal_help("too_old") is REFUSAL_HELP["too_old"]
