"""Refusing session ids that look like personal data (docs/product.md §3.1).

A session id must be an opaque token chosen by the partner: a UUID/GUID, a hex or
base64url hash, or a prefixed random token. Values shaped like an email address, a phone
number, an IP address or a payment card number are refused as `looks_like_pii`, checked
before the character rule so the partner learns why.

The rules, as documented to partners:
- email: contains "@" followed by a dotted domain;
- phone: only digits, spaces, "+", "(", ")", "." and "-", with 7 to 15 digits;
- IP address: a dotted IPv4 address or any valid IPv6 address;
- card: 13 to 19 digits (spaces and "-" allowed) that pass the Luhn check.
UUIDs, hex or base64url hashes of 128 bits or more, and tokens with a letter prefix
(`sess_...`) never match any rule.
"""

import ipaddress
import re

SESSION_ID_MAX_LENGTH = 128
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# No "@" and no white space. The email rule is written with it rather than as one regular
# expression: r"[^@\s]+@[^@\s]+\.[^@\s]+" backtracks quadratically on a long value with
# many dots (16 KB took seconds), and a session id is checked before its length is.
_EMAIL_PART = re.compile(r"[^@\s]+")
_PHONE_CHARACTERS = re.compile(r"\+?[\d\s().-]+")
_CARD_CHARACTERS = re.compile(r"[\d -]+")
# A character neither of the two patterns above allows (the card's are a subset).
_NOT_NUMBER = re.compile(r"[^\d\s().+-]")


def pii_kind(value: str) -> str | None:
    """The kind of personal data `value` looks like ("email", ...), or None."""
    if cannot_be_personal(value):
        return None
    return _judged(value)


def cannot_be_personal(value: str) -> bool:
    """What most session ids settle at once, a token with a letter in it, by what it lacks:
    no "@" (email), no "." or ":" (IP address), and a character that no card or phone
    number has. Never true of a value `_judged` would refuse (tests/events/test_pii.py)."""
    return (
        "@" not in value
        and "." not in value
        and ":" not in value
        and _NOT_NUMBER.search(value) is not None
    )


def _judged(value: str) -> str | None:
    """Each rule of the module's docstring in turn."""
    if _looks_like_email(value.strip()):
        return "an email address"
    if _looks_like_ip(value.strip()):
        return "an IP address"
    # Only values made of digits and separators can be a card or a phone number: the
    # digits are counted for those alone (most session ids have letters).
    card_shaped = _CARD_CHARACTERS.fullmatch(value) is not None
    phone_shaped = _PHONE_CHARACTERS.fullmatch(value.strip()) is not None
    if not (card_shaped or phone_shaped):
        return None
    digits = re.sub(r"\D+", "", value)
    if card_shaped and 13 <= len(digits) <= 19 and _luhn_valid(digits):
        return "a payment card number"
    if phone_shaped and 7 <= len(digits) <= 15:
        return "a phone number"
    return None


def _looks_like_email(value: str) -> bool:
    """One "@" between a local part and a domain with a "." neither first nor last."""
    local, at, domain = value.partition("@")
    return bool(
        at
        and _EMAIL_PART.fullmatch(local)
        and _EMAIL_PART.fullmatch(domain)
        and "." in domain[1:-1]
    )


def _looks_like_ip(value: str) -> bool:
    if "." not in value and ":" not in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
