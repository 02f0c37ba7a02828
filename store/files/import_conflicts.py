"""When an import row would overwrite another person: the rule, and how the report words it.

A row matched by email or phone (not by identifier) whose name, folded, is another non-empty
name is a conflict; so is a row that would change a contact an earlier row of the same file
already resolved to (two rows of one file would otherwise flip it back and forth on every run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from store import text
from store.errors import Invalid
from store.files.import_rows import Target

OnConflict = Literal["skip", "update"]
ON_CONFLICT: tuple[OnConflict, ...] = ("skip", "update")


def on_conflict(value: str) -> OnConflict:
    """`skip` (the default: a conflict writes nothing) or `update` (write it anyway)."""
    for known in ON_CONFLICT:
        if value == known:
            return known
    raise Invalid(f"on_conflict must be skip or update, not {value[:40]!r}")


def same_name(a: str | None, b: str | None) -> bool:
    """Names equal once folded (`José Pérez` == `jose perez`); a blank is no name at all."""
    return text.fold_or_none(a) == text.fold_or_none(b)


def other_person(stored: str | None, given: str | None) -> bool:
    """Both names present and different once folded."""
    return bool(text.fold_or_none(stored) and text.fold_or_none(given)) and not same_name(
        stored, given
    )


@dataclass(slots=True)
class Change:
    """What a row would change on a contact: fields, custom fields, tags it adds."""

    fields: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    new_tags: dict[str, str] = field(default_factory=dict)  # folded key -> spelling

    def __bool__(self) -> bool:
        return bool(self.fields or self.custom or self.new_tags)

    def describe(self, target: Target) -> str:
        """`name 'Ana' -> 'Bea', custom.plan (empty) -> 'oro', tags + 'VIP'`, against `target`."""
        parts = [
            f"{k} {_shown(target.fields.get(k))} -> {_shown(v)}" for k, v in self.fields.items()
        ]
        stored = target.fields["custom"]
        parts += [
            f"custom.{k} {_shown(stored.get(k))} -> {_shown(v)}" for k, v in self.custom.items()
        ]
        parts += [f"tags + {_shown(n)}" for n in self.new_tags.values()]
        return ", ".join(parts)


def _shown(value: Any) -> str:
    return "(empty)" if value in (None, "") else repr(str(value))


@dataclass(frozen=True, slots=True)
class Conflict:
    """A row not written because it would overwrite another person; worded once ids are known."""

    target: Target  # its id is set by the time the report is written (new contacts too)
    by: str  # email | phone | the file (an earlier row wrote the contact)
    differs: str

    def __str__(self) -> str:
        who = f"contact #{self.target.id}"
        if self.by == "file":
            why = f"an earlier row of this file already wrote {who}"
        else:
            why = f"the {self.by} matches {who}, whose name is another person's"
        return f"conflict: {why}; not written (differs: {self.differs})"


class Written:
    """Ids of the contacts earlier rows of a file resolved to: a bitmap, O(1) in time, and
    an eighth of a byte per id in memory (a million-row file stays flat)."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, cid: int) -> None:
        """Remember a contact id."""
        byte = cid >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        self._bits[byte] |= 1 << (cid & 7)

    def __contains__(self, cid: object) -> bool:
        if not isinstance(cid, int) or cid < 0 or cid >> 3 >= len(self._bits):
            return False
        return bool(self._bits[cid >> 3] & (1 << (cid & 7)))
