"""A contact's identities: who the person is on each channel, first and last seen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.access import Actor, require
from store.contacts import Contact, as_datetime, load, stamp
from store.db import ClientTx, RawTx

# last_seen is derived here, at read time, from the identity's newest inbound message (the
# message(identity_id) index): keeping a column would cost the ingest path a write per message.
IDENTITIES_SQL = (
    "SELECT c.kind, c.key, i.external_id, i.scoped_id, i.username, i.display_name, i.phone,"
    " i.email, i.created_at, (SELECT MAX(m.sent_at) FROM message m"
    " WHERE m.identity_id = i.id AND m.direction = 'in'), i.opted_out_at"
    " FROM identity i JOIN channel c ON c.id = i.channel_id WHERE i.contact_id = ? ORDER BY i.id"
)


@dataclass(frozen=True, slots=True)
class IdentityInfo:
    """The contact on one channel: its keys there, what the channel vouched, first/last seen."""

    channel_kind: str
    channel_key: str
    external_id: str
    scoped_id: str | None
    username: str | None
    display_name: str | None
    phone: str | None  # vouched by the channel (WhatsApp, SMS)
    email: str | None  # vouched by the channel (email)
    first_seen: datetime
    last_seen: datetime | None  # the newest message it sent; None when it sent none
    opted_out_at: datetime | None = None  # it sent an opt-out word (store.inbound.consent)


@dataclass(frozen=True, slots=True)
class ContactDetail:
    """A contact with its identities, oldest first."""

    contact: Contact
    identities: list[IdentityInfo]


def identity_from_row(row: Sequence[Any]) -> IdentityInfo:
    """An IdentityInfo from a row of IDENTITIES_SQL."""
    kind, key, external, scoped, username, name, phone, email, created, last, out = row
    return IdentityInfo(
        str(kind), str(key), str(external), scoped, username, name, phone, email,
        stamp(created), as_datetime(last), as_datetime(out),
    )  # fmt: skip


async def of_contact(tx: RawTx, contact_id: int) -> list[IdentityInfo]:
    """The identities of a live contact, oldest first."""
    return [identity_from_row(row) for row in await tx.fetch(IDENTITIES_SQL, [contact_id])]


async def detail(actor: Actor, contact_id: int) -> ContactDetail:
    """One contact with its identities (a merged-away id resolves to the primary)."""
    require(actor, "agent")
    tx = ClientTx()
    contact = await load(tx, actor.workspace_id, contact_id)
    return ContactDetail(contact, await of_contact(tx, contact.id))
