"""A parameterised SQL condition on the contact table (alias `c`), and ways to combine them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Where:
    """`sql` is a boolean expression over `contact c` with `?` placeholders for `params`."""

    sql: str = "1=1"
    params: list[Any] = field(default_factory=list)


def all_of(*parts: Where | None) -> Where:
    """The conjunction of the given conditions (None parts are skipped)."""
    kept = [p for p in parts if p is not None and p.sql != "1=1"]
    if not kept:
        return Where()
    return Where(" AND ".join(f"({p.sql})" for p in kept), [v for p in kept for v in p.params])


def like_pattern(text: str, *, prefix: bool = False) -> str:
    """A LIKE pattern matching `text` literally as a substring (or prefix); use ESCAPE '\\'."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"
