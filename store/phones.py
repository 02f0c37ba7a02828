"""Phone and email normalisation (phonenumbers does the hard part).

One subscriber, one stored form: `to_e164` returns phonenumbers' E.164 after three Latin
American corrections (`canonical`), and `phone_key` maps every variant of one subscriber that
no stored form can settle (an Argentine mobile with or without its `9`) to one match key.
docs/contacts.md has the table.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from store import text
from store.db import ClientTx
from store.phone_keys import key_digits, phone_key

MX, BR = 52, 55


def to_e164(raw: str | None, region: str = "US") -> str | None:
    """`raw` in its canonical E.164 form (`+593991234567`), or None when it is no phone number."""
    number = _parse(raw, region)
    return None if number is None else _e164(number)


def to_e164_read(raw: str | None, region: str = "US") -> str | None:
    """`to_e164` of a phone someone looks for: bare digits that are no valid number of the
    region are read as international too (`5215512345678`, a wa_id copied from WhatsApp)."""
    number = _parse(raw, region)
    if raw and (number is None or not phonenumbers.is_valid_number(number)):
        digits = "".join(ch for ch in raw if ch.isdigit())
        if digits and not raw.lstrip().startswith(("+", "0")):
            number = _parse("+" + digits, region) or number
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
    found = [digits] if national_digits in digits else [digits, national_digits]
    return e164, [*found, *key_digits(e164)]


def canonical(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """One national form per subscriber for the countries whose users write it several ways.

    Mexico dropped the mobile `1` (and the `044`/`045` prefixes) in 2019: `+52 1 55…` is
    `+52 55…`. Brazil's mobiles gained a ninth digit by 2016: an 8-digit number starting 6-9
    after a 2-digit area code gains the `9` (landlines start 2-5). Argentina's `15` mobile
    prefix phonenumbers turns into the international `9` itself.
    """
    code, nsn = number.country_code, phonenumbers.national_significant_number(number)
    if code == MX and len(nsn) == 11 and nsn.startswith("1"):
        nsn = nsn[1:]
    elif code == MX and len(nsn) == 13 and nsn[:3] in ("044", "045"):
        nsn = nsn[3:]
    elif code == BR and len(nsn) == 10 and nsn[2] in "6789":
        nsn = nsn[:2] + "9" + nsn[2:]
    else:
        return number
    return phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn))


def _parse(raw: str | None, region: str) -> phonenumbers.PhoneNumber | None:
    if not raw:
        return None
    try:
        number = canonical(phonenumbers.parse(raw, region.upper() or None))
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


async def backfill(client: Any, postgres: bool) -> None:
    """Migration 0009: re-canonicalise stored phones and fill `phone_key`, a chunk at a time.

    A phone whose canonical form another contact of the workspace already holds keeps its old
    form (the unique column forbids two): both then share one key, and the duplicate finder
    and a merge by hand settle them.
    """
    tx = ClientTx(client, "postgres" if postgres else "sqlite")
    last = 0
    while rows := await tx.fetch(
        "SELECT id, workspace_id, phone FROM contact WHERE phone IS NOT NULL AND id > ?"
        " ORDER BY id LIMIT 500",
        [last],
    ):
        last = int(rows[-1][0])
        keys, changed = [], []
        for cid, ws, stored in rows:
            phone = to_e164(str(stored)) or str(stored)
            if phone != stored and await tx.fetch(
                "SELECT 1 FROM contact WHERE workspace_id = ? AND phone = ?", [ws, phone]
            ):
                phone = str(stored)  # the clash: both keep their forms, under one key
            elif phone != stored:
                await tx.execute("UPDATE contact SET phone = ? WHERE id = ?", [phone, cid])
            keys.append((phone_key(phone), cid))
            if phone != stored or phone_key(phone) != phone:
                changed.append(int(cid))  # new search variants
        await tx.executemany("UPDATE contact SET phone_key = ? WHERE id = ?", keys)
        await text.refresh(tx, changed)
