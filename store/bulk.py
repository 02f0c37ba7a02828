"""Bulk operations on every contact matching a filter: tag, untag, delete (server-side)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store import tags
from store.access import Actor, audit, require
from store.contacts import delete_rows
from store.db import raw_transaction
from store.errors import Conflict, Invalid
from store.query import count_matching, iter_matching_ids, matching

DELETE_BATCH = 2000


async def bulk_tag(
    actor: Actor,
    *,
    filter: Any = None,
    q: str = "",
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> int:
    """Add and/or remove tags on every matching contact; returns how many contacts matched.

    One INSERT … SELECT / DELETE … WHERE per tag: no contact list travels to Python.
    """
    require(actor, "admin")
    if not add and not remove:
        raise Invalid("name tags to add or remove")
    to_add = tags.clean(add) if add else []
    to_remove = tags.clean(remove) if remove else []
    async with raw_transaction() as tx:
        where = await matching(tx, actor, filter=filter, q=q)
        matched = await count_matching(tx, where)
        for tag_id in (await tags.ensure(tx, actor.workspace_id, to_add)).values():
            await tx.execute(
                "INSERT INTO contact_tag (contact_id, tag_id, created_at)"
                f" SELECT c.id, ?, CURRENT_TIMESTAMP FROM contact c WHERE {where.sql}"
                " ON CONFLICT DO NOTHING",
                [tag_id, *where.params],
            )
        found = await tags.ids(tx, actor.workspace_id, [tags.key(n) for n in to_remove])
        for tag_id in found.values():
            await tx.execute(
                "DELETE FROM contact_tag WHERE tag_id = ? AND contact_id IN"
                f" (SELECT c.id FROM contact c WHERE {where.sql})",
                [tag_id, *where.params],
            )
        detail = {"add": to_add, "remove": to_remove, "matched": matched, "q": q}
        await audit(tx, actor, "tag.bulk", None, {**detail, "filter": _shown(filter)})
    return matched


async def bulk_delete(
    actor: Actor, *, filter: Any = None, q: str = "", expected: int | None = None
) -> int:
    """Delete every matching contact; `expected` (the count the user confirmed) must match.

    Refuses an empty filter and search (that is the monthly reset's job, with its export).
    """
    require(actor, "admin")
    if filter in (None, "", {}, []) and not q.strip():
        raise Invalid("bulk delete needs a filter or a search; to delete everything use reset")
    async with raw_transaction() as tx:
        where = await matching(tx, actor, filter=filter, q=q)
        matched = await count_matching(tx, where)
        if expected is not None and expected != matched:
            raise Conflict(f"{matched} contacts match now, not the {expected} confirmed")
        async for ids in iter_matching_ids(tx, where, DELETE_BATCH):
            await delete_rows(tx, ids)
        await audit(
            tx,
            actor,
            "contact.bulk_delete",
            None,
            {"deleted": matched, "q": q, "filter": _shown(filter)},
        )
    return matched


def _shown(filter: Any) -> Any:
    return filter if isinstance(filter, str | dict | list) or filter is None else str(filter)
