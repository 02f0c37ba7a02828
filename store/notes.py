"""Notes on a contact, with author and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from store.access import Actor, audit, require
from store.contacts import load, stamp
from store.db import ClientTx, raw_transaction
from store.errors import Invalid, NotFound

MAX_NOTE = 10_000


@dataclass(frozen=True, slots=True)
class NoteInfo:
    """One note."""

    id: int
    contact_id: int
    author: str
    body: str
    created_at: datetime


def _clean(body: str) -> str:
    if not isinstance(body, str) or not body.strip():
        raise Invalid("a note needs some text")
    if len(body) > MAX_NOTE or "\x00" in body:
        raise Invalid(f"a note holds at most {MAX_NOTE} characters and no NUL")
    return body.strip()


async def add(actor: Actor, contact_id: int, body: str) -> NoteInfo:
    """Add a note to a contact; the actor is its author."""
    require(actor, "agent")
    text = _clean(body)
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        contact = await load(tx, actor.workspace_id, contact_id)
        rows = await tx.fetch(
            "INSERT INTO note (contact_id, author, body, created_at) VALUES (?,?,?,?) RETURNING id",
            [contact.id, actor.name, text, now],
        )
        await audit(tx, actor, "note.add", f"#{contact.id}", {"note": int(rows[0][0])})
    return NoteInfo(int(rows[0][0]), contact.id, actor.name, text, now)


async def list_notes(actor: Actor, contact_id: int) -> list[NoteInfo]:
    """A contact's notes, newest first."""
    require(actor, "agent")
    tx = ClientTx()
    contact = await load(tx, actor.workspace_id, contact_id)
    rows = await tx.fetch(
        "SELECT id, contact_id, author, body, created_at FROM note WHERE contact_id = ?"
        " ORDER BY created_at DESC, id DESC",
        [contact.id],
    )
    return [NoteInfo(int(i), int(c), a, b, stamp(t)) for i, c, a, b, t in rows]


async def delete(actor: Actor, note_id: int) -> None:
    """Delete a note of a contact of the actor's workspace."""
    require(actor, "agent")
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "SELECT n.contact_id FROM note n JOIN contact c ON c.id = n.contact_id"
            " WHERE n.id = ? AND c.workspace_id = ?",
            [note_id, actor.workspace_id],
        )
        if not rows:
            raise NotFound(f"no note #{note_id}")
        await tx.execute("DELETE FROM note WHERE id = ?", [note_id])
        await audit(tx, actor, "note.delete", f"#{int(rows[0][0])}", {"note": note_id})
