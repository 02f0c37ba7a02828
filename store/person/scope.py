"""What belongs to one person: their contact, every contact merged into it, their identities
and the keys a message from them is parked under before it becomes theirs."""

from __future__ import annotations

from dataclasses import dataclass

from store.access import Actor, require
from store.contacts import Contact, load
from store.db import RawTx

MAX_FAMILY = 10_000


@dataclass(frozen=True, slots=True)
class Person:
    """A live contact and what hangs on it.

    `family`: the contact's id first, then every contact merged into it (however deep).
    `keys`: (channel id, external id) of each identity. `handles`: the external ids a held
    message or a waiting multipart part from this person would carry on any channel: their
    identities' ids and their phones (with and without `+`) and emails.
    """

    contact: Contact
    family: list[int]
    identity_ids: list[int]
    keys: list[tuple[int, str]]
    handles: list[str]


async def family(tx: RawTx, ws: int, contact_id: int) -> list[int]:
    """The contact and every contact merged into it, however deep."""
    found = [contact_id]
    frontier = [contact_id]
    while frontier and len(found) < MAX_FAMILY:
        marks = ",".join("?" * len(frontier))
        rows = await tx.fetch(
            f"SELECT id FROM contact WHERE workspace_id = ? AND merged_into_id IN ({marks})",
            [ws, *frontier],
        )
        frontier = [int(r[0]) for r in rows if int(r[0]) not in found]
        found.extend(frontier)
    return found


async def person(tx: RawTx, actor: Actor, contact_id: int) -> Person:
    """The person a contact id names (a merged-away id gives the one it was merged into);
    admins only. NotFound when there is no such live contact."""
    require(actor, "admin")
    contact = await load(tx, actor.workspace_id, contact_id)
    ids = await family(tx, actor.workspace_id, contact.id)
    marks = ",".join("?" * len(ids))
    rows = await tx.fetch(
        "SELECT id, channel_id, external_id, scoped_id, phone, email FROM identity"
        f" WHERE contact_id IN ({marks}) ORDER BY id",
        ids,
    )
    contacts = await tx.fetch(f"SELECT phone, email FROM contact WHERE id IN ({marks})", ids)
    handles: set[str] = set()
    for _i, _channel, external, scoped, phone, email in rows:
        handles.update(v for v in (external, scoped) if v)
        handles.update(_phone_forms(phone))
        if email:
            handles.update({email, email.lower()})
    for phone, email in contacts:
        handles.update(_phone_forms(phone))
        if email:
            handles.update({email, email.lower()})
    return Person(
        contact,
        ids,
        [int(r[0]) for r in rows],
        [(int(r[1]), str(r[2])) for r in rows],
        sorted(handles),
    )


def _phone_forms(phone: str | None) -> set[str]:
    """`+593991234567` as channels write it: with the `+` (SMS) and without (WhatsApp)."""
    if not phone:
        return set()
    return {phone, phone.removeprefix("+"), "+" + phone.removeprefix("+")}
