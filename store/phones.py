"""Phone and email normalisation (phonenumbers does the hard part)."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str | None, region: str = "US") -> str | None:
    """`raw` as E.164 (`+593991234567`), or None when it is not a plausible phone number."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str | None) -> str | None:
    """A trimmed, lower-cased email address, or None for an empty one."""
    if not raw:
        return None
    value = raw.strip().lower()
    return value or None
