"""A filter in any of its three forms (chat text, JSON tree, Chatwoot payload) as its tree."""

from __future__ import annotations

from typing import Any

from store.filters.chatwoot import from_chatwoot
from store.filters.text import parse_text
from store.filters.tree import FilterError, normalise


def parse_filter(value: str | dict[str, Any] | list[Any] | None) -> dict[str, Any] | None:
    """The validated, normalised JSON tree of a filter in any of its three forms (None: none)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return normalise(parse_text(value))
    if isinstance(value, list) or (isinstance(value, dict) and "payload" in value):
        return normalise(from_chatwoot(value))
    if isinstance(value, dict):
        return normalise(value)
    raise FilterError(
        "a filter must be text, a JSON object or a Chatwoot payload, not", type(value).__name__
    )
