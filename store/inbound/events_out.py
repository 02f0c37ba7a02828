"""The events out of a stored batch (store.outbox): `contact.created` for each contact a new
sender got, then `message.received` for each message.

The ingest path is the hot one, so a message's event is written as a reference: one
INSERT … SELECT per batch over its new messages and the workspace's subscriptions (no row for
a workspace without one), with no body; the deliverer renders the body from the message when it
first claims the event (store.outbox_delivery) and keeps it, so every retry sends the same
bytes. New contacts are rarer and carry their contact as it was made, built here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from store.contacts import Contact
from store.db import RawTx
from store.inbound.senders import Resolved
from store.outbox import Event, contact_event, emit_many
from store.types import Item

SOURCE = "inbound"
RECEIVED = "message.received"
WANTS_RECEIVED = (
    "(CAST(s.types AS TEXT) = '[]' OR CAST(s.types AS TEXT) LIKE '%\"message.received\"%')"
)
REFERENCES = (
    "INSERT INTO outbox_event (event_id, subscription_id, contact_id, type, payload,"
    " message_id, created_at, state, next_try_at, attempts)"
    " SELECT CAST(? AS TEXT) || CAST(m.id AS TEXT), s.id, m.contact_id, 'message.received',"
    " NULL, m.id, ?, 'pending', ?, 0 FROM message m JOIN event_subscription s"
    f" ON s.workspace_id = m.workspace_id AND s.active AND {WANTS_RECEIVED}"
)
PG_REFERENCES = f"{REFERENCES} WHERE m.id = ANY(?::bigint[]) ORDER BY m.id, s.id"
CHUNK = 500  # message ids per statement on SQLite


async def write_events(
    tx: RawTx,
    rows: Sequence[tuple[Item, Resolved | None]],
    stored: Mapping[tuple[int, str], int | None],
    now: datetime,
) -> None:
    """Write the batch's events: its new contacts', then its messages' (by reference)."""
    created = created_events(rows, now)
    if created:
        await emit_many(tx, created, now)
    ids = sorted({i for i in stored.values() if i is not None})
    if not ids:
        return
    prefix = f"msg_{uuid.uuid4().hex[:20]}_"  # with the message id: unique, same per event
    if tx.dialect == "postgres":
        await tx.execute(PG_REFERENCES, [prefix, now, now, ids])
        return
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        await tx.execute(
            f"{REFERENCES} WHERE m.id IN ({','.join('?' * len(chunk))}) ORDER BY m.id, s.id",
            [prefix, now, now, *chunk],
        )


def created_events(rows: Sequence[tuple[Item, Resolved | None]], now: datetime) -> list[Event]:
    """`contact.created` for each contact made for a sender of these rows, once."""
    out: list[Event] = []
    seen: set[int] = set()
    for item, hit in rows:
        if hit is None or hit.created is None or hit.contact_id in seen:
            continue
        seen.add(hit.contact_id)
        data = contact_event(_new_contact(item, hit.created, now), SOURCE)
        out.append(Event(item.channel.workspace_id, hit.contact_id, "contact.created", data))
    return out


def _new_contact(item: Item, fields: Mapping[str, Any], now: datetime) -> Contact:
    """The contact an inbound sender got, as store.contacts.load would read it after the batch."""
    return Contact(
        id=int(fields["id"]),
        workspace_id=item.channel.workspace_id,
        name=fields.get("name"),
        email=fields.get("email"),
        phone=fields.get("phone"),
        identifier=fields.get("identifier"),
        company=None,
        city=None,
        country=None,
        language=item.inbound.language,
        avatar_url=None,
        custom={},
        assignee=None,
        source=SOURCE,
        last_channel_id=item.channel.id,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
        last_incoming_at=now,
        channels=[item.channel.kind],
    )
