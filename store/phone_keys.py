"""The match key of a stored phone: one value for every written variant of one subscriber."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def phone_key(e164: str | None) -> str | None:
    """The match key of a stored phone: equal for every variant of one subscriber.

    Mexico without the mobile `1` (`+521…` -> `+52…`), Argentina without the mobile `9`
    (`+549…` -> `+54…`), Brazil without a mobile's ninth digit (`+55 AA 9XXXX-XXXX` ->
    `+55 AA XXXX-XXXX`); anything else is its own key.
    """
    if not e164:
        return None
    if e164.startswith("+521") and len(e164) == 14:
        return "+52" + e164[4:]
    if e164.startswith("+549") and len(e164) == 14:
        return "+54" + e164[4:]
    if e164.startswith("+55") and len(e164) == 14 and e164[5] == "9":
        return e164[:5] + e164[6:]
    return e164


def keyed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Contact column values with `phone_key` beside a `phone` (every writer of the phone)."""
    out = dict(values)
    if "phone" in out:
        out["phone_key"] = phone_key(out["phone"])
    return out


def key_digits(e164: str | None) -> list[str]:
    """The key's digits when they differ from the phone's, for search_text (else nothing)."""
    key = phone_key(e164)
    return [key.lstrip("+")] if key and key != e164 else []


def lookup(column: str, value: Any) -> tuple[str, Any]:
    """The (column, value) a contact lookup compares: a phone by its indexed match key."""
    return ("phone_key", phone_key(value)) if column == "phone" else (column, value)
