"""Bulk operations on every contact matching a filter: tag, untag, delete (server-side)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from store import outbox, tags
from store.access import Actor, audit, require
from store.contacts import Contact, delete_rows, load_many
from store.db import RawTx, raw_transaction
from store.errors import Conflict, Invalid
from store.query import count_matching, iter_matching_ids, matching

DELETE_BATCH = 2000
EVENT_BATCH = 500  # contacts loaded per statement for their events


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
        events = Changes(tx, actor)
        added = await tags.ensure(tx, actor.workspace_id, to_add)
        for name in to_add:
            sql = (
                "INSERT INTO contact_tag (contact_id, tag_id, created_at)"
                f" SELECT c.id, ?, CURRENT_TIMESTAMP FROM contact c WHERE {where.sql}"
                " ON CONFLICT DO NOTHING"
            )
            await events.run(sql, [added[tags.key(name)], *where.params], "contact.tagged", name)
        found = await tags.ids(tx, actor.workspace_id, [tags.key(n) for n in to_remove])
        for name in to_remove:
            if tags.key(name) not in found:
                continue
            sql = (
                "DELETE FROM contact_tag WHERE tag_id = ? AND contact_id IN"
                f" (SELECT c.id FROM contact c WHERE {where.sql})"
            )
            await events.run(sql, [found[tags.key(name)], *where.params], "contact.untagged", name)
        await events.emit()
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
        wanted = await outbox.wanted(tx, actor.workspace_id, "contact.deleted")
        async for ids in iter_matching_ids(tx, where, DELETE_BATCH):
            gone = await load_many(tx, actor.workspace_id, ids) if wanted else []
            await delete_rows(tx, ids)
            await outbox.emit_many(tx, [_event(actor, c, "contact.deleted") for c in gone])
        await audit(
            tx,
            actor,
            "contact.bulk_delete",
            None,
            {"deleted": matched, "q": q, "filter": _shown(filter)},
        )
    return matched


class Changes:
    """The contacts a bulk tag changed, by event type and tag, when a subscription wants them."""

    def __init__(self, tx: RawTx, actor: Actor) -> None:
        self.tx, self.actor = tx, actor
        self.changed: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._wanted: dict[str, bool] = {}

    async def run(self, sql: str, params: list[Any], type_: str, tag: str) -> None:
        """Run one tag statement; note the contacts it changed when `type_` is wanted."""
        if type_ not in self._wanted:
            self._wanted[type_] = await outbox.wanted(self.tx, self.actor.workspace_id, type_)
        if not self._wanted[type_]:
            await self.tx.execute(sql, params)
            return
        for (contact_id,) in await self.tx.fetch(f"{sql} RETURNING contact_id", params):
            self.changed[type_][int(contact_id)].append(tag)

    async def emit(self) -> None:
        """One event per contact and type, with the tags that changed, in batches."""
        for type_, by_contact in self.changed.items():
            ids = sorted(by_contact)
            for start in range(0, len(ids), EVENT_BATCH):
                chunk = ids[start : start + EVENT_BATCH]
                found = await load_many(self.tx, self.actor.workspace_id, chunk)
                await outbox.emit_many(
                    self.tx, [_event(self.actor, c, type_, tags=by_contact[c.id]) for c in found]
                )


def _event(actor: Actor, contact: Contact, type_: str, **extra: Any) -> outbox.Event:
    data = outbox.contact_event(contact, outbox.source_of(actor), **extra)
    return outbox.Event(actor.workspace_id, contact.id, type_, data)


def _shown(filter: Any) -> Any:
    return filter if isinstance(filter, str | dict | list) or filter is None else str(filter)
