"""The derived search columns of a contact (search_text, name_key), folded by store.fold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import phonenumbers

from store.db import ClientTx
from store.fold import fold
from store.phone_keys import key_digits
from store.serial import load_json

SEPARATOR = "\n"  # between fields, so no trigram of a query spans two of them


def fold_or_none(text: str | None) -> str | None:
    """`fold` for an optional value; blank stays None (sorted last)."""
    if text is None or not text.strip():
        return None
    return fold(text.strip())[:255]


def phone_variants(e164: str | None) -> list[str]:
    """Digits of a phone as typed internationally and nationally: +593991234567 -> 0991234567;
    and its match key's when they differ (+5491144445555 -> 541144445555, store.phone_keys)."""
    if not e164:
        return []
    digits = e164.lstrip("+")
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return [digits]
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    national_digits = "".join(ch for ch in national if ch.isdigit())
    found = [digits] if national_digits in digits else [digits, national_digits]
    return [*found, *key_digits(e164)]


def _custom_values(custom: Mapping[str, Any] | None) -> Iterable[str]:
    for value in (custom or {}).values():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            yield str(value)


def search_text(
    fields: Mapping[str, Any],
    identities: Iterable[Sequence[str | None]] = (),
    *,
    variants: Sequence[str] | None = None,
) -> str:
    """The folded bag of everything a search should find a contact by.

    `fields` are contact columns (name, email, phone, identifier, company, city, country,
    custom); `identities` are the handles of its channel identities (username, external id,
    scoped id: store.text.IDENTITY_HANDLES);
    `variants` are phone_variants of the phone when the caller has them already
    (store.phones.parse_phone), saving a parse.
    """
    parts: list[str] = []
    for key in ("name", "email", "identifier", "company", "city", "country"):
        value = fields.get(key)
        if value:
            parts.append(str(value))
    parts.extend(phone_variants(fields.get("phone")) if variants is None else variants)
    parts.extend(_custom_values(fields.get("custom")))
    for handles in identities:
        parts.extend(p for p in handles if p)
    seen: dict[str, None] = {}
    for part in parts:
        seen.setdefault(fold(part.replace(SEPARATOR, " ")), None)
    return SEPARATOR.join(seen)


def appended(parts: Iterable[str | None]) -> str:
    """Folded parts to append to an existing search_text."""
    return "".join(SEPARATOR + fold(p) for p in parts if p)


# What of an identity a search finds its contact by (a WhatsApp BSUID is a scoped id).
IDENTITY_HANDLES = "username, external_id, scoped_id"
CONTACT_COLUMNS = ("name", "email", "phone", "identifier", "company", "city", "country", "custom")


async def refresh(tx: Any, contact_ids: Sequence[int]) -> None:
    """Recompute search_text and name_key of contacts from their rows (any RawTx)."""
    for start in range(0, len(contact_ids), 500):
        chunk = list(contact_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows = await tx.fetch(
            f"SELECT id, {', '.join(CONTACT_COLUMNS)} FROM contact WHERE id IN ({marks})", chunk
        )
        idents = await tx.fetch(
            f"SELECT contact_id, {IDENTITY_HANDLES} FROM identity WHERE contact_id IN ({marks})"
            " ORDER BY id",
            chunk,
        )
        by_contact: dict[int, list[Sequence[str | None]]] = {}
        for cid, *handles in idents:
            by_contact.setdefault(int(cid), []).append(handles)
        updates = []
        for row in rows:
            fields = dict(zip(CONTACT_COLUMNS, row[1:], strict=True))
            fields["custom"] = load_json(fields["custom"])
            text = search_text(fields, by_contact.get(int(row[0]), ()))
            updates.append((text, fold_or_none(fields["name"]), int(row[0])))
        if updates:
            await tx.executemany(
                "UPDATE contact SET search_text = ?, name_key = ? WHERE id = ?", updates
            )


async def backfill(client: Any, postgres: bool) -> None:
    """Fill the derived columns of contacts that predate them (migration 0002)."""
    tx = ClientTx(client, "postgres" if postgres else "sqlite")
    rows = await tx.fetch("SELECT id FROM contact WHERE search_text = ''")
    await refresh(tx, [int(r[0]) for r in rows])
