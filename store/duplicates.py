"""The duplicate finder: likely duplicate pairs of live contacts, ranked, with their reasons;
and dismissing a pair that is not one person.

Computed on request, from indexes (migration 0012): each reason is one grouping of live
contacts by a key over a partial index that holds only the live rows having that key, then the
members of the repeated keys. A key shared by more than MAX_GROUP contacts (an office number, a
common name) is no evidence of one person and pairs nobody. Merged-away contacts are never in a
pair, deleted ones are gone; a dismissed pair (stored lower id first) never comes back.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

from store.access import Actor, audit, require
from store.contacts import COLUMNS, Contact, as_datetime, contact_from_row, load, with_tags
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Invalid, NotFound
from store.fold import fold
from store.query import MAX_LIMIT

MAX_GROUP = 10  # contacts sharing one key; more is a shared value, not one person
DEFAULT_LIMIT = 100  # pairs a page holds unless asked; at most store.query.MAX_LIMIT
# reason kind -> weight; a pair's score is the sum of its reasons' weights, at most 100
WEIGHTS = {"phone": 70, "email": 70, "identifier": 60, "name_company": 40, "name_city": 30}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Two steps, not one join: the planner cannot know how few keys repeat, and joining the grouping
# back made PostgreSQL scan the whole table a second time (200k contacts: 440 ms, not 140).
_REPEATED = (
    "SELECT {key} FROM contact WHERE workspace_id = ? AND merged_into_id IS NULL"
    " AND {key} IS NOT NULL GROUP BY {key} HAVING COUNT(*) BETWEEN 2 AND ?"
)
_MEMBERS = (
    "SELECT id, created_at, {key}, name, company, city FROM contact"
    " WHERE workspace_id = ? AND merged_into_id IS NULL AND {key} IN ({marks})"
)
CHUNK = 500  # keys per members query
# an email a channel vouched for on one contact's identity, held by another contact
_EMAIL = (
    "SELECT o.id, o.created_at, c.id, c.created_at, c.email FROM identity i"
    " JOIN contact o ON o.id = i.contact_id"
    " JOIN contact c ON c.workspace_id = i.workspace_id AND c.email = i.email"
    " WHERE i.workspace_id = ? AND i.email IS NOT NULL AND c.id <> o.id"
    " AND c.merged_into_id IS NULL AND o.merged_into_id IS NULL"
)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why two contacts look like one person: `kind` of WEIGHTS and the value they share."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class Pair:
    """A likely duplicate pair: `a` the older contact (lower id), `b` the other."""

    a: Contact
    b: Contact
    score: int
    reasons: list[Reason]


@dataclass(frozen=True, slots=True)
class DuplicatePage:
    """A page of pairs, strongest first; `total` counts every pair; `next_cursor` None at
    the end."""

    pairs: list[Pair]
    total: int
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Dismissed:
    """A pair dismissed (lower id first); `already`: it had been dismissed before."""

    a: int
    b: int
    already: bool


@dataclass(slots=True)
class _Candidate:
    a: int
    b: int
    newest: datetime
    reasons: list[Reason]

    @property
    def score(self) -> int:
        return min(100, sum(WEIGHTS[r.kind] for r in self.reasons))

    def sort_key(self) -> tuple[int, int, int, int]:
        """Ascending order = the ranking: score, then newest, then ids, all descending."""
        micros = (self.newest - EPOCH) // timedelta(microseconds=1)
        return (-self.score, -micros, -self.b, -self.a)


class _Found:
    """Candidate pairs gathered reason by reason, one entry per pair."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[int, int], _Candidate] = {}

    def add(self, x: Sequence[Any], y: Sequence[Any], reason: Reason) -> None:
        """Note `reason` for the pair of (id, created_at) `x` and `y`."""
        (i, made_i), (j, made_j) = sorted((tuple(x[:2]), tuple(y[:2])))
        if i == j:
            return
        newest = max(as_datetime(made_i) or EPOCH, as_datetime(made_j) or EPOCH)
        found = self.pairs.setdefault((i, j), _Candidate(i, j, newest, []))
        if reason not in found.reasons:
            found.reasons.append(reason)


async def find(
    actor: Actor, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> DuplicatePage:
    """A page of likely duplicate pairs: highest score first, then the newest pair."""
    require(actor, "agent")
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    after = _decode(cursor) if cursor else None
    tx = ClientTx()
    ranked = await _ranked(tx, actor.workspace_id)
    start = 0
    if after is not None:
        start = next((n for n, c in enumerate(ranked) if c.sort_key() > after), len(ranked))
    chosen = ranked[start : start + limit]
    more = start + limit < len(ranked)
    next_cursor = _encode(chosen[-1].sort_key()) if more and chosen else None
    return DuplicatePage(await _pairs(tx, actor.workspace_id, chosen), len(ranked), next_cursor)


async def _ranked(tx: RawTx, workspace_id: int) -> list[_Candidate]:
    # concurrent: PostgreSQL runs them on separate pooled connections (SQLite takes turns)
    phones, identifiers, names, emails, dismissed = await asyncio.gather(
        _groups(tx, workspace_id, "phone_key"),
        _groups(tx, workspace_id, "identifier"),
        _groups(tx, workspace_id, "name_key"),
        tx.fetch(_EMAIL, [workspace_id]),
        _dismissed(tx, workspace_id),
    )
    found = _Found()
    for kind, groups in (("phone", phones), ("identifier", identifiers)):
        for group in groups:
            for x, y in combinations(group, 2):
                found.add(x, y, Reason(kind, str(x[2])))
    for group in names:
        _by_name(found, group)
    shared = Counter(row[4] for row in emails)
    for o_id, o_made, c_id, c_made, email in emails:
        if shared[email] < MAX_GROUP:  # one address on many identities is a placeholder
            found.add((int(o_id), o_made), (int(c_id), c_made), Reason("email", str(email)))
    kept = [c for pair, c in found.pairs.items() if pair not in dismissed]
    return sorted(kept, key=_Candidate.sort_key)


async def _groups(tx: RawTx, workspace_id: int, key: str) -> list[list[Sequence[Any]]]:
    """Live contacts sharing a value of `key` with 1 to MAX_GROUP - 1 others, grouped."""
    repeated = [r[0] for r in await tx.fetch(_REPEATED.format(key=key), [workspace_id, MAX_GROUP])]
    rows: list[Sequence[Any]] = []
    for start in range(0, len(repeated), CHUNK):
        chunk = repeated[start : start + CHUNK]
        sql = _MEMBERS.format(key=key, marks=",".join("?" * len(chunk)))
        rows += await tx.fetch(sql, [workspace_id, *chunk])
    groups: dict[Any, list[Sequence[Any]]] = {}
    for row in rows:
        groups.setdefault(row[2], []).append((int(row[0]), *row[1:]))
    return [sorted(group, key=lambda row: row[0]) for group in groups.values()]


def _by_name(found: _Found, group: Iterable[Sequence[Any]]) -> None:
    """Pairs in one folded-name group that also share a company or a city (folded). A name of
    one word (`Juan`) is too common to count."""
    for x, y in combinations(group, 2):
        name = str(x[2])
        if " " not in name.strip():
            continue
        for kind, col in (("name_company", 4), ("name_city", 5)):
            if x[col] and y[col] and fold(str(x[col]).strip()) == fold(str(y[col]).strip()):
                found.add(x, y, Reason(kind, f"{x[3]}, {x[col]}"))


async def _dismissed(tx: RawTx, workspace_id: int) -> set[tuple[int, int]]:
    rows = await tx.fetch(
        "SELECT contact_a_id, contact_b_id FROM duplicate_dismissal WHERE workspace_id = ?",
        [workspace_id],
    )
    return {(int(a), int(b)) for a, b in rows}


async def _pairs(tx: RawTx, workspace_id: int, chosen: list[_Candidate]) -> list[Pair]:
    """The chosen candidates with both contacts read (tags and channels included)."""
    ids = sorted({i for c in chosen for i in (c.a, c.b)})
    if not ids:
        return []
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM contact WHERE workspace_id = ? AND id IN"
        f" ({','.join('?' * len(ids))})",
        [workspace_id, *ids],
    )
    contacts = {c.id: c for c in await with_tags(tx, [contact_from_row(r) for r in rows])}
    return [Pair(contacts[c.a], contacts[c.b], c.score, c.reasons) for c in chosen]


def _encode(key: tuple[int, int, int, int]) -> str:
    """The cursor: the last pair's position (score, newest in microseconds, ids)."""
    return ".".join(str(-part) for part in key)


def _decode(cursor: str) -> tuple[int, int, int, int]:
    parts = cursor.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) < 20 for p in parts):
        raise NotFound("no such page: the cursor is not one this server gave out")
    score, micros, b, a = (-int(p) for p in parts)
    return (score, micros, b, a)


async def dismiss(actor: Actor, first: int, second: int) -> Dismissed:
    """Remember that two contacts are not one person: the pair is never listed again."""
    require(actor, "admin")
    async with raw_transaction() as tx:
        one = await load(tx, actor.workspace_id, first)
        other = await load(tx, actor.workspace_id, second)
        if one.id == other.id:
            raise Invalid(f"#{first} and #{second} are one contact: nothing to dismiss")
        a, b = sorted((one.id, other.id))
        rows = await tx.fetch(
            "SELECT 1 FROM duplicate_dismissal WHERE contact_a_id = ? AND contact_b_id = ?", [a, b]
        )
        if not rows:
            await tx.execute(
                "INSERT INTO duplicate_dismissal (workspace_id, contact_a_id, contact_b_id,"
                " dismissed_by, dismissed_at) VALUES (?,?,?,?,?)",
                [actor.workspace_id, a, b, actor.name, datetime.now(UTC)],
            )
            await audit(tx, actor, "duplicate.dismiss", f"#{a}", {"other": b})
    return Dismissed(a, b, bool(rows))
