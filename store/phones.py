"""Phone and email normalisation (phonenumbers does the hard part)."""

from __future__ import annotations

import re

import phonenumbers

from store import text


def to_e164(raw: str | None, region: str = "US") -> str | None:
    """`raw` as E.164 (`+593991234567`), or None when it is not a plausible phone number."""
    number = _parse(raw, region)
    return None if number is None else _e164(number)


def parse_phone(raw: str | None, region: str = "US") -> tuple[str, list[str]] | None:
    """`to_e164(raw, region)` and `store.text.phone_variants` of it, parsing the number once."""
    number = _parse(raw, region)
    if number is None:
        return None
    e164 = _e164(number)
    if number.extension or _prefix_again(number):
        return e164, text.phone_variants(e164)  # parsing the E.164 form may read it differently
    digits = e164.lstrip("+")
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    national_digits = "".join(ch for ch in national if ch.isdigit())
    return e164, [digits] if national_digits in digits else [digits, national_digits]


def _parse(raw: str | None, region: str) -> phonenumbers.PhoneNumber | None:
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _prefix_again(number: phonenumbers.PhoneNumber) -> bool:
    """Whether the national number starts with what a parse of its E.164 form strips as a prefix.

    phone_variants parses the E.164 form with its country's main region: a national number that
    starts like a national prefix there could lose it, so such (rare) numbers take that path.
    """
    code = number.country_code or 0
    region = phonenumbers.region_code_for_country_code(code)
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    prefix = meta.national_prefix_for_parsing if meta is not None else None
    if not prefix:
        return False
    return re.match(prefix, phonenumbers.national_significant_number(number)) is not None


def normalise_email(raw: str | None) -> str | None:
    """A trimmed, lower-cased email address, or None for an empty one."""
    if not raw:
        return None
    value = raw.strip().lower()
    return value or None
