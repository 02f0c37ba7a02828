"""Tags: one per workspace per folded name (`borrar`, `Borrar`, `BORRAR` are one tag)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from store.access import Actor, audit, require
from store.contacts import Contact, changed, load
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Invalid, NotFound
from store.fold import fold

MAX_TAG = 100


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag and how many live contacts carry it."""

    name: str
    contacts: int


def key(name: str) -> str:
    """The folded form two spellings of one tag share."""
    return fold(name.strip())


def clean(names: Iterable[str]) -> list[str]:
    """Validated tag names, first spelling of each folded name kept, order kept."""
    out: dict[str, str] = {}
    for raw in names:
        if not isinstance(raw, str):
            raise Invalid("tags must be strings")
        name = " ".join(raw.split())
        if not name:
            raise Invalid("a tag name cannot be empty")
        if len(name) > MAX_TAG or "\x00" in name:
            raise Invalid(f"tag {name[:40]!r} is longer than {MAX_TAG} characters or has NUL")
        out.setdefault(key(name), name)
    if not out:
        raise Invalid("name at least one tag")
    return list(out.values())


async def ensure(tx: RawTx, workspace_id: int, names: Sequence[str]) -> dict[str, int]:
    """Tag ids by folded key, creating the missing tags (existing spellings are kept)."""
    keys = {key(n): n for n in names}
    if not keys:
        return {}
    now = datetime.now(UTC)
    await tx.executemany(
        "INSERT INTO tag (workspace_id, name, key, created_at) VALUES (?,?,?,?)"
        " ON CONFLICT DO NOTHING",
        [(workspace_id, name, k, now) for k, name in keys.items()],
    )
    return await ids(tx, workspace_id, list(keys))


async def ids(tx: RawTx, workspace_id: int, keys: Sequence[str]) -> dict[str, int]:
    """Existing tag ids by folded key."""
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    rows = await tx.fetch(
        f"SELECT key, id FROM tag WHERE workspace_id = ? AND key IN ({marks})",
        [workspace_id, *keys],
    )
    return {str(k): int(i) for k, i in rows}


async def link(tx: RawTx, contact_ids: Sequence[int], tag_ids: Iterable[int]) -> None:
    """Put tags on contacts (already-tagged pairs are left alone)."""
    now = datetime.now(UTC)
    tag_list = list(tag_ids)
    if tx.dialect == "postgres":  # one statement for any number of pairs
        await tx.execute(
            "INSERT INTO contact_tag (contact_id, tag_id, created_at)"
            " SELECT c, t, ? FROM unnest(?::int[]) c, unnest(?::int[]) t ON CONFLICT DO NOTHING",
            [now, list(contact_ids), tag_list],
        )
        return
    await tx.executemany(
        "INSERT INTO contact_tag (contact_id, tag_id, created_at) VALUES (?,?,?)"
        " ON CONFLICT DO NOTHING",
        [(cid, tid, now) for cid in contact_ids for tid in tag_list],
    )


async def add(actor: Actor, contact_id: int, names: Sequence[str]) -> Contact:
    """Tag one contact; agents may (this is how support staff mark `Borrar`)."""
    require(actor, "agent")
    names = clean(names)
    async with raw_transaction() as tx:
        contact = await load(tx, actor.workspace_id, contact_id)
        found = await ensure(tx, actor.workspace_id, names)
        await link(tx, [contact.id], found.values())
        await audit(tx, actor, "tag.add", f"#{contact.id}", {"tags": names})
        return await changed(tx, actor, contact.id, "contact.tagged", tags=names)


async def remove(actor: Actor, contact_id: int, names: Sequence[str]) -> Contact:
    """Untag one contact; naming a tag it does not carry is not an error."""
    require(actor, "agent")
    names = clean(names)
    async with raw_transaction() as tx:
        contact = await load(tx, actor.workspace_id, contact_id)
        found = await ids(tx, actor.workspace_id, [key(n) for n in names])
        gone: list[str] = []
        if found:
            marks = ",".join("?" * len(found))
            rows = await tx.fetch(
                f"DELETE FROM contact_tag WHERE contact_id = ? AND tag_id IN ({marks})"
                " RETURNING tag_id",
                [contact.id, *found.values()],
            )
            removed = {int(r[0]) for r in rows}
            gone = [n for n in names if found.get(key(n)) in removed]
        await audit(tx, actor, "tag.remove", f"#{contact.id}", {"tags": names})
        if not gone:  # nothing changed: no event
            return await load(tx, actor.workspace_id, contact.id)
        return await changed(tx, actor, contact.id, "contact.untagged", tags=gone)


async def list_tags(actor: Actor) -> list[TagInfo]:
    """Every tag of the workspace with its live-contact count, by name."""
    require(actor, "agent")
    rows = await ClientTx().fetch(
        "SELECT t.name, COUNT(c.id) FROM tag t"
        " LEFT JOIN contact_tag ct ON ct.tag_id = t.id"
        " LEFT JOIN contact c ON c.id = ct.contact_id AND c.merged_into_id IS NULL"
        " WHERE t.workspace_id = ? GROUP BY t.id, t.name, t.key ORDER BY t.key",
        [actor.workspace_id],
    )
    return [TagInfo(str(name), int(n)) for name, n in rows]


async def delete_tag(actor: Actor, name: str) -> int:
    """Remove a tag from the workspace and from every contact; returns contacts untagged."""
    require(actor, "admin")
    async with raw_transaction() as tx:
        found = await ids(tx, actor.workspace_id, [key(name)])
        if not found:
            raise NotFound(f"no tag {name!r}")
        tag_id = next(iter(found.values()))
        rows = await tx.fetch("SELECT COUNT(*) FROM contact_tag WHERE tag_id = ?", [tag_id])
        await tx.execute("DELETE FROM contact_tag WHERE tag_id = ?", [tag_id])
        await tx.execute("DELETE FROM tag WHERE id = ?", [tag_id])
        await audit(tx, actor, "tag.delete", name, {"contacts": int(rows[0][0])})
        return int(rows[0][0])
