"""Listing contacts: search box + filter, sorted with empty values last, cursor pages."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from store import filters, search
from store.access import Actor, require
from store.contacts import COLUMNS, Contact, contact_from_row, with_tags, workspace_region
from store.db import ClientTx, RawTx
from store.errors import Conflict, Invalid, NotFound
from store.where import Where, all_of

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# sort name -> the key expressions (an index on (workspace_id, <keys>) serves each)
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("c.name_key",),
    "email": ("c.email",),
    "phone": ("length(c.phone)", "c.phone"),  # E.164 digits: shorter is smaller, numerically
    "company": ("c.company",),
    "city": ("c.city",),
    "country": ("c.country",),
    "created_at": ("c.created_at",),
    "last_activity_at": ("c.last_activity_at",),
}
SORT_ALIASES = {
    "created": "created_at",
    "last_activity": "last_activity_at",
    "activity": "last_activity_at",
}
DEFAULT_SORT = "-last_activity_at"
SELECT = ", ".join(f"c.{col.strip()}" for col in COLUMNS.split(","))
NCOLS = len(COLUMNS.split(","))


@dataclass(slots=True)
class Page:
    """One page of contacts; `next_cursor` is None on the last page."""

    contacts: list[Contact]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Sort:
    """A parsed sort: field, its key expressions, direction."""

    field: str
    keys: tuple[str, ...]
    descending: bool

    @property
    def text(self) -> str:
        return ("-" if self.descending else "") + self.field


def parse_sort(sort: str | None) -> Sort:
    """`name`, `-last_activity_at`, `phone`…; Invalid lists the choices."""
    raw = (sort or DEFAULT_SORT).strip()
    descending = raw.startswith("-")
    name = raw.lstrip("-+").strip().lower()
    name = SORT_ALIASES.get(name, name)
    if name not in SORTS:
        raise Invalid(
            f"cannot sort by {raw!r}; choose one of {', '.join(SORTS)} (prefix - to reverse)"
        )
    return Sort(name, SORTS[name], descending)


def parse_limit(limit: int | None) -> int:
    """Page size: 100 by default, 1-500."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


async def matching(
    tx: RawTx,
    actor: Actor,
    *,
    filter: Any = None,
    q: str = "",
    ids: list[int] | None = None,
    alone: bool | None = None,
) -> Where:
    """The full condition for live contacts of the actor's workspace matching filter and q.

    `ids` (the matches of a search's rare words, see search.narrow_ids) keeps SQLite off the
    workspace indexes so that the id list drives the plan; q then holds the other words.
    """
    compiled = await compiled_filter(tx, actor, filter)
    words = search.match(q or "", actor.workspace_id, tx.dialect, alone=alone)
    if ids is not None and tx.dialect == "sqlite":
        base = Where("+c.workspace_id = ? AND c.merged_into_id IS NULL", [actor.workspace_id])
        listed = Where("c.id IN (SELECT value FROM json_each(?))", [orjson.dumps(ids).decode()])
        return all_of(base, compiled, listed, words)
    if ids is not None:
        listed = Where("c.id = ANY(?::int[])", [ids])
        base = Where("c.workspace_id = ? AND c.merged_into_id IS NULL", [actor.workspace_id])
        return all_of(base, compiled, listed, words)
    base = Where("c.workspace_id = ? AND c.merged_into_id IS NULL", [actor.workspace_id])
    return all_of(base, compiled, words)


async def compiled_filter(
    tx: RawTx, actor: Actor, filter: Any, region: str | None = None
) -> Where | None:
    """A filter in any accepted form (or an already compiled Where) as its SQL condition."""
    if filter is None or isinstance(filter, Where):
        return filter
    tree = filters.parse_filter(filter)
    return filters.compile_filter(
        tree,
        workspace_id=actor.workspace_id,
        dialect=tx.dialect,
        now=datetime.now(UTC),
        region=region or await workspace_region(tx, actor.workspace_id),
        big_tags=await _big_tags(tx, actor.workspace_id, tree),
    )


BIG_TAG = 50_000  # links above which SQLite should not drive a query from a tag
TIMES = {"created_at", "last_activity_at", "last_incoming_at"}


async def _big_tags(tx: RawTx, workspace_id: int, tree: Any) -> frozenset[str]:
    """Tags (folded) on more than BIG_TAG contacts, when the filter also has a time condition
    (an index range) that can drive the query instead. SQLite only: PostgreSQL plans from its
    own statistics. Measured on 1M contacts: the issue's 4-condition example went from 185 ms
    (driven by a 200k-contact tag) to 55 ms per page (driven by `last_in<30d`)."""
    keys = filters.tag_keys(tree)
    timed = any(leaf["field"] in TIMES for leaf in filters.leaves(tree))
    if tx.dialect != "sqlite" or not keys or not timed:
        return frozenset()
    big = set()
    for key in sorted(keys)[:20]:
        rows = await tx.fetch(
            "SELECT COUNT(*) FROM (SELECT 1 FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
            f" WHERE t.workspace_id = ? AND t.key = ? LIMIT {BIG_TAG + 1})",
            [workspace_id, key],
        )
        if int(rows[0][0]) > BIG_TAG:
            big.add(key)
    return frozenset(big)


async def list_contacts(
    actor: Actor,
    *,
    q: str = "",
    filter: Any = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
    count: bool = False,
) -> Page:
    """A page of live contacts matching the search box and the filter.

    Exact phone/email matches of `q` come first on the first page; the rest follow in `sort`
    order with empty values last, then by id. The cursor carries the position and is bound to
    the query it came from.
    """
    require(actor, "agent")
    order, size = parse_sort(sort), parse_limit(limit)
    tx = ClientTx()
    binding = _binding(q, filter, order)
    state = _decode(cursor, binding) if cursor else None
    region = await workspace_region(tx, actor.workspace_id) if q.strip() or filter else ""
    compiled = await compiled_filter(tx, actor, filter, region)  # once for both queries
    exact: list[Contact] = []
    if state is None:
        exact = await _exact(tx, actor, q, region, await matching(tx, actor, filter=compiled))
        if exact and search.is_identifier(q):  # a whole phone/email found: that is the answer
            return Page(await with_tags(tx, exact), None, len(exact) if count else None)
        state = {"p": 0, "x": [c.id for c in exact]}
    ids, broad = await search.narrow_ids(tx, q, actor.workspace_id) if q.strip() else (None, q)
    alone = search.only_short(q)
    where = await matching(tx, actor, filter=compiled, q=broad, ids=ids, alone=alone)
    if ids is not None and tx.dialect == "sqlite":  # off the sort index: sort the few matches
        order = Sort(order.field, tuple(f"+{k}" for k in order.keys), order.descending)
    rows, state_next = await _page(tx, where, order, state, size - len(exact))
    found = [contact_from_row(r[:NCOLS]) for r in rows]
    contacts = await with_tags(tx, exact + found)
    total = await count_matching(tx, where) if count else None
    return Page(contacts, _encode(state_next, binding) if state_next else None, total)


async def count_matching(tx: RawTx, where: Where) -> int:
    """How many contacts match."""
    rows = await tx.fetch(f"SELECT COUNT(*) FROM contact c WHERE {where.sql}", where.params)
    return int(rows[0][0])


async def _exact(tx: RawTx, actor: Actor, q: str, region: str, where: Where) -> list[Contact]:
    if not q.strip():
        return []
    ids = await search.exact_ids(tx, q, actor.workspace_id, region)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = await tx.fetch(
        f"SELECT {SELECT} FROM contact c WHERE c.id IN ({marks}) AND {where.sql} ORDER BY c.id",
        [*ids, *where.params],
    )
    return [contact_from_row(r) for r in rows]


async def _page(
    tx: RawTx, where: Where, order: Sort, state: dict[str, Any], size: int
) -> tuple[list[Sequence[Any]], dict[str, Any] | None]:
    """Rows after the cursor position: the non-empty phase, then the empty phase."""
    excluded = (
        Where(f"c.id NOT IN ({','.join('?' * len(state['x']))})", list(state["x"]))
        if state["x"]
        else None
    )
    rows: list[Sequence[Any]] = []
    if state["p"] == 0:
        rows = await _phase(tx, all_of(where, excluded), order, state, size + 1, filled=True)
        if len(rows) > size:
            return rows[:size], _after(rows[size - 1], order, state, 0)
        state = {"p": 1, "x": state["x"]}
        if len(rows) == size:  # the page ends on the last filled row: any empty ones left?
            peek = await _phase(tx, all_of(where, excluded), order, state, 1, filled=False)
            return rows, _after(rows[-1], order, state, 0) if peek else None
    more = await _phase(
        tx, all_of(where, excluded), order, state, size - len(rows) + 1, filled=False
    )
    rows += more
    if len(rows) > size:
        return rows[:size], _after(rows[size - 1], order, state, 1)
    return rows, None


async def _phase(
    tx: RawTx, where: Where, order: Sort, state: dict[str, Any], limit: int, *, filled: bool
) -> list[Sequence[Any]]:
    direction = "DESC" if order.descending and filled else "ASC"
    column = order.keys[-1]
    if filled:
        keys = [*order.keys, "c.id"]
        cond = Where(f"{column} IS NOT NULL")
        if "v" in state:
            cmp = "<" if order.descending else ">"
            values = [*(_decode_value(v) for v in state["v"]), state["i"]]
            cond = all_of(
                cond, Where(f"({', '.join(keys)}) {cmp} ({','.join('?' * len(keys))})", values)
            )
    else:
        keys = ["c.id"]
        cond = Where(f"{column} IS NULL")
        if "i" in state:
            cond = all_of(cond, Where("c.id > ?", [state["i"]]))
    full = all_of(where, cond)
    order_sql = ", ".join(f"{k} {direction}" for k in keys)
    extra = ", ".join(order.keys)
    return await tx.fetch(
        f"SELECT {SELECT}, {extra} FROM contact c WHERE {full.sql} ORDER BY {order_sql} LIMIT ?",
        [*full.params, limit],
    )


def _after(row: Sequence[Any], order: Sort, state: dict[str, Any], phase: int) -> dict[str, Any]:
    nkeys = len(order.keys)
    position: dict[str, Any] = {"p": phase, "x": state["x"], "i": int(row[0])}
    if phase == 0:
        position["v"] = [_encode_value(v) for v in row[-nkeys:]]
    return position


def _encode_value(value: Any) -> Any:
    return {"dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("dt"), str):
        return datetime.fromisoformat(value["dt"])
    return value


def _binding(q: str, filter: Any, order: Sort) -> str:
    seed = orjson.dumps([q.strip(), repr(filter), order.text], option=orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(seed).hexdigest()[:12]


def _encode(state: dict[str, Any], binding: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({**state, "b": binding})).decode().rstrip("=")


def _decode(cursor: str, binding: str) -> dict[str, Any]:
    try:
        state = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise NotFound("no such page: the cursor is not one this server gave out") from exc
    if not isinstance(state, dict) or state.get("b") != binding:
        raise Conflict("the cursor belongs to another query (same q, filter and sort needed)")
    if state.get("p") not in (0, 1) or not isinstance(state.get("x"), list):
        raise NotFound("no such page: the cursor is not one this server gave out")
    return state


async def iter_matching_ids(tx: RawTx, where: Where, batch: int = 5000) -> AsyncIterator[list[int]]:
    """Ids of matching contacts in id order, a batch at a time (keyset, flat memory)."""
    last = 0
    # SQLite would walk a (workspace_id, ...) index and sort each batch: quadratic in all
    source = "contact c NOT INDEXED" if tx.dialect == "sqlite" else "contact c"
    while True:
        full = all_of(where, Where("c.id > ?", [last]))
        rows = await tx.fetch(
            f"SELECT c.id FROM {source} WHERE {full.sql} ORDER BY c.id LIMIT ?",
            [*full.params, batch],
        )
        if not rows:
            return
        ids = [int(r[0]) for r in rows]
        yield ids
        last = ids[-1]
