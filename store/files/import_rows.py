"""Batched SQL of a CSV import: look contacts up by value, read their state, write them in bulk.

Statements take many rows at once (a chunk fits MAX_PARAMS); on PostgreSQL, lookups probe the
index once per value and IN lists are one array parameter, so a cached plan serves every batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store import text
from store.db import RawTx
from store.phone_keys import phone_key
from store.serial import dump_json

STATE = (
    *("name", "email", "phone", "identifier", "company", "city", "country", "language"),
    *("avatar_url", "assignee", "custom"),
)
UNIQUE = ("email", "phone")
INSERT_COLUMNS = (
    *("id", "workspace_id", *STATE, "source", "created_at", "updated_at"),
    *("search_text", "name_key", "phone_key"),
)
UPDATE_COLUMNS = (*STATE, "updated_at", "search_text", "name_key", "phone_key")
UPDATE_TYPES = (
    *("int", *(["text"] * (len(STATE) - 1)), "jsonb", "timestamptz"),
    *("text", "text", "text"),
)
MAX_PARAMS = 16000  # per statement (SQLite allows 32766 since 3.32, PostgreSQL 32767)


@dataclass(slots=True)
class Target:
    """A contact a batch writes: an existing one (as it is now) or one the file creates."""

    id: int | None
    fields: dict[str, Any]
    tag_keys: set[str]
    line: int = 0  # the row that creates it, for a new one
    changed: bool = False
    new_tags: dict[str, str] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)  # unique columns whose old value it frees
    text: tuple[str, str | None] | None = None
    written: bool = False  # a row of the file resolved to it: a later change is a conflict

    def label(self) -> str:
        """How an error names this contact."""
        return f"contact #{self.id}" if self.id else f"the contact of line {self.line}"


def marks(values: Any) -> str:
    """One `?` placeholder per value, comma-separated."""
    return ",".join("?" * len(values))


async def fetch_in(
    tx: RawTx,
    select: str,
    params: list[Any],
    among: tuple[str, list[Any], str],
    order: str = "",
    *,
    lock: bool = False,
) -> list[Sequence[Any]]:
    """`SELECT {select} AND column IN values`, run as one index probe per value on PostgreSQL.

    `select` ends in a WHERE clause; `among` is (column, values, SQL type). PostgreSQL's planner,
    with statistics that go stale while an import grows the table, otherwise scans it. `lock`
    takes the rows FOR UPDATE (SQLite's write lock already covers the batch).
    """
    column, values, kind = among
    if tx.dialect != "postgres":
        sql = f"SELECT {select} AND {column} IN ({marks(values)}){order}"
        return await tx.fetch(sql, [*params, *values])
    locking = " FOR UPDATE" if lock else ""
    sql = (
        f"SELECT t.* FROM unnest(?::{kind}[]) AS v(val) CROSS JOIN LATERAL"
        f" (SELECT {select} AND {column} = v.val OFFSET 0{locking}) AS t{order}"
    )
    return await tx.fetch(sql, [values, *params])


def _in(tx: RawTx, column: str, values: list[Any], kind: str) -> tuple[str, list[Any]]:
    """`column IN (...)`; on PostgreSQL one array parameter, so one cached plan serves all."""
    if tx.dialect == "postgres":
        return f"{column} = ANY(?::{kind}[])", [values]
    return f"{column} IN ({marks(values)})", values


async def lookup(
    tx: RawTx, ws: int, key: str, values: list[str]
) -> list[tuple[str, str, int, int | None]]:
    """(key, value, row id, merged_into_id) of rows holding these values, live rows first.

    Phones are looked up, and `values` given, by their match key (store.phone_keys).
    """
    if not values:
        return []
    column = "phone_key" if key == "phone" else key
    rows = await fetch_in(
        tx,
        f"{column}, id, merged_into_id FROM contact WHERE workspace_id = ?",
        [ws],
        (column, values, "text"),
        " ORDER BY merged_into_id IS NOT NULL, id",
    )
    return [(key, str(v), int(i), int(m) if m is not None else None) for v, i, m in rows]


async def live(tx: RawTx, ws: int, ids: set[int], *, lock: bool) -> dict[int, list[Any]]:
    """The state of the live contact each id resolves to (following merges), by that id."""
    out: dict[int, list[Any]] = {}
    pending = {i: i for i in ids}
    for _hop in range(8):  # merge chains are flat; the bound only guards against a cycle
        if not pending:
            break
        # By id alone: with `workspace_id = ?` too, SQLite walks a workspace index instead.
        rows = await fetch_in(
            tx,
            f"id, merged_into_id, workspace_id, {', '.join(STATE)} FROM contact WHERE true",
            [],
            ("id", sorted(set(pending.values())), "int"),  # one lock order for everyone
            lock=lock,
        )
        by_id = {int(r[0]): [r[0], r[1], *r[3:]] for r in rows if r[2] == ws}
        following: dict[int, int] = {}
        for origin, at in pending.items():
            row = by_id.get(at)
            if row is not None and row[1] is None:
                out[origin] = [row[0], *row[2:]]
            elif row is not None:
                following[origin] = int(row[1])
        pending = following
    return out


async def update(
    tx: RawTx, targets: list[Target], now: datetime, variants: Mapping[str, list[str]]
) -> None:
    """Write changed contacts, their derived columns included, a statement per chunk of rows.

    `variants` holds the search variants of phones the batch has parsed already, by phone.
    """
    if not targets:
        return
    ids = [t.id for t in targets if t.id is not None]
    for key in UNIQUE:  # free old values first so a value moving between contacts never collides
        freed = [t.id for t in targets if key in t.released]
        if freed:
            where, params = _in(tx, "id", freed, "int")
            also = ", phone_key = NULL" if key == "phone" else ""
            await tx.execute(f"UPDATE contact SET {key} = NULL{also} WHERE {where}", params)
    identities = await _identities(tx, ids)
    rows = []
    for t in targets:
        derived = _derived(t.fields, identities.get(t.id or 0, []), variants)
        rows.append([t.id, *_values(t.fields), now, *derived, phone_key(t.fields.get("phone"))])
    sets = ", ".join(f"{k} = v.column{n}" for n, k in enumerate(UPDATE_COLUMNS, start=2))
    one = _typed(tx, UPDATE_TYPES)
    for chunk in _chunks(rows, len(UPDATE_TYPES)):
        await tx.execute(
            f"UPDATE contact SET {sets} FROM (VALUES {','.join([one] * len(chunk))}) AS v"
            " WHERE contact.id = v.column1",
            [v for row in chunk for v in row],
        )


async def _identities(tx: RawTx, ids: list[Any]) -> dict[int, list[Sequence[str | None]]]:
    found: dict[int, list[Sequence[str | None]]] = {}
    rows = await fetch_in(
        tx,
        f"contact_id, {text.IDENTITY_HANDLES}, id FROM identity WHERE true",
        [],
        ("contact_id", ids, "int"),
        " ORDER BY id",
    )
    for cid, *handles, _id in rows:
        found.setdefault(int(cid), []).append(handles)
    return found


def _derived(
    fields: dict[str, Any],
    identities: list[Sequence[str | None]],
    variants: Mapping[str, list[str]],
) -> tuple[str, str | None]:
    """search_text and name_key, as store.text.refresh computes them."""
    known = variants.get(fields.get("phone") or "")
    search = text.search_text(fields, identities, variants=known)
    return search, text.fold_or_none(fields.get("name"))


def _values(fields: dict[str, Any]) -> list[Any]:
    return [*(fields.get(k) for k in STATE[:-1]), dump_json(fields["custom"])]


def _typed(tx: RawTx, types: tuple[str, ...]) -> str:
    """One VALUES row of placeholders, typed on PostgreSQL (it cannot infer them in FROM)."""
    if tx.dialect == "postgres":
        return f"({','.join(f'?::{t}' for t in types)})"
    return f"({marks(types)})"


def _chunks(rows: list[list[Any]], width: int) -> Iterator[list[list[Any]]]:
    """Rows in groups that fit the parameter limit of one statement."""
    size = max(1, MAX_PARAMS // width)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def insert(tx: RawTx, ws: int, targets: list[Target], now: datetime) -> None:
    """Insert new contacts with their derived columns, a statement per chunk of rows.

    One multi-row statement, not one per row: SQLite's FTS trigger flushes its pending terms at
    every statement, which made row-by-row inserts several times slower.
    """
    if not targets:
        return
    for target, cid in zip(targets, await _new_ids(tx, len(targets)), strict=True):
        target.id = cid
    rows = [
        [
            *(t.id, ws, *_values(t.fields), "import", now, now),
            *(t.text or _derived(t.fields, [], {})),
            phone_key(t.fields.get("phone")),
        ]
        for t in targets
    ]
    one = f"({marks(INSERT_COLUMNS)})"
    for chunk in _chunks(rows, len(INSERT_COLUMNS)):
        await tx.execute(
            f"INSERT INTO contact ({', '.join(INSERT_COLUMNS)})"
            f" VALUES {','.join([one] * len(chunk))}",
            [v for row in chunk for v in row],
        )


async def _new_ids(tx: RawTx, count: int) -> list[int]:
    """Ids for new contacts (SQLite: the batch holds the write lock, so max + n is free)."""
    if tx.dialect == "postgres":
        rows = await tx.fetch(
            "SELECT nextval(pg_get_serial_sequence('contact', 'id'))"
            " FROM generate_series(1, ?::int)",
            [count],
        )
        return [int(r[0]) for r in rows]
    rows = await tx.fetch(
        "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'contact'), 0),"
        " COALESCE((SELECT max(id) FROM contact), 0))"
    )
    base = int(rows[0][0])
    return list(range(base + 1, base + count + 1))
