"""Saved views: a named filter with its columns and sort."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store import filters
from store.access import Actor, audit, require
from store.contacts import stamp
from store.db import ClientTx, raw_transaction
from store.errors import Conflict, Invalid, NotFound
from store.query import Page, list_contacts, parse_sort
from store.serial import dump_json, load_json

VIEW_COLUMNS = (
    "id", "name", "email", "phone", "identifier", "company", "city", "country", "language",
    "assignee", "source", "created_at", "updated_at", "last_activity_at", "last_incoming_at",
    "last_channel", "tags", "channels", "custom",
)  # fmt: skip
DEFAULT_COLUMNS = ["id", "name", "email", "phone", "company", "city", "country", "tags"]


@dataclass(frozen=True, slots=True)
class ViewInfo:
    """A saved view."""

    name: str
    filter: Any
    columns: list[str]
    sort: str
    created_by: str
    created_at: datetime


def clean_columns(columns: Sequence[str] | None) -> list[str]:
    """Valid column names, name first; custom fields as `custom.<key>`."""
    chosen = list(columns or DEFAULT_COLUMNS)
    for col in chosen:
        prefixed = isinstance(col, str) and col.startswith(("custom.", "channel."))
        if prefixed and not col.split(".", 1)[1]:
            prefixed = False
        if not isinstance(col, str) or not (col in VIEW_COLUMNS or prefixed):
            raise Invalid(f"unknown column {col!r}; choose from {', '.join(VIEW_COLUMNS)}")
    return ["name", *[c for c in dict.fromkeys(chosen) if c != "name"]]


def _clean_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise Invalid("a view name must be 1-100 characters")
    if "\x00" in name:
        raise Invalid("a view name must not contain NUL")
    return name.strip()


async def save(
    actor: Actor,
    name: str,
    *,
    filter: Any = None,
    columns: Sequence[str] | None = None,
    sort: str | None = None,
    replace: bool = False,
) -> ViewInfo:
    """Save (or with replace=True, overwrite) a named view; the filter is validated first."""
    require(actor, "admin")
    name = _clean_name(name)
    tree = filters.parse_filter(filter)
    cols, order = clean_columns(columns), parse_sort(sort).text
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        found = await tx.fetch(
            "SELECT id FROM view WHERE workspace_id = ? AND name = ?", [actor.workspace_id, name]
        )
        if found and not replace:
            raise Conflict(f"a view named {name!r} exists (replace it explicitly)")
        if found:
            await tx.execute("DELETE FROM view WHERE id = ?", [found[0][0]])
        await tx.execute(
            'INSERT INTO view (workspace_id, name, "filter", columns, sort, created_by,'
            " created_at) VALUES (?,?,?,?,?,?,?)",
            [actor.workspace_id, name, dump_json(tree), dump_json(cols), order, actor.name, now],
        )
        await audit(tx, actor, "view.save", name, {"filter": tree, "columns": cols, "sort": order})
    return ViewInfo(name, tree, cols, order, actor.name, now)


async def list_views(actor: Actor) -> list[ViewInfo]:
    """Every view of the workspace, by name."""
    require(actor, "agent")
    rows = await ClientTx().fetch(
        'SELECT name, "filter", columns, sort, created_by, created_at FROM view'
        " WHERE workspace_id = ? ORDER BY name",
        [actor.workspace_id],
    )
    return [_info(r) for r in rows]


def _info(row: Sequence[Any]) -> ViewInfo:
    name, tree, cols, sort, by, at = row
    return ViewInfo(name, load_json(tree), load_json(cols) or [], sort, by, stamp(at))


async def get(actor: Actor, name: str) -> ViewInfo:
    """One view by name."""
    require(actor, "agent")
    rows = await ClientTx().fetch(
        'SELECT name, "filter", columns, sort, created_by, created_at FROM view'
        " WHERE workspace_id = ? AND name = ?",
        [actor.workspace_id, name.strip() if isinstance(name, str) else name],
    )
    if not rows:
        raise NotFound(f"no view {name!r}")
    return _info(rows[0])


async def run(
    actor: Actor,
    name: str,
    *,
    cursor: str | None = None,
    limit: int | None = None,
    count: bool = False,
) -> Page:
    """A page of the view's contacts in its sort."""
    view = await get(actor, name)
    return await list_contacts(
        actor, filter=view.filter, sort=view.sort, cursor=cursor, limit=limit, count=count
    )


async def delete(actor: Actor, name: str) -> None:
    """Delete a view."""
    require(actor, "admin")
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "SELECT id FROM view WHERE workspace_id = ? AND name = ?", [actor.workspace_id, name]
        )
        if not rows:
            raise NotFound(f"no view {name!r}")
        await tx.execute("DELETE FROM view WHERE id = ?", [rows[0][0]])
        await audit(tx, actor, "view.delete", name)
