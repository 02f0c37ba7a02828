"""The events out of a stored batch (store.outbox): `contact.created` for each contact a new
sender got, `message.received` for each message; built from what the batch already holds, so
the ingest path adds one statement per batch (and writes rows only for subscribed workspaces)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from store.contacts import Contact
from store.inbound.senders import Resolved
from store.outbox import Event, contact_event
from store.serial import iso
from store.types import Item

SOURCE = "inbound"


def received_events(
    rows: Sequence[tuple[Item, Resolved | None]],
    stored: Mapping[tuple[int, str], int | None],
    now: datetime,
) -> list[Event]:
    """The events of the stored rows, in order: a new contact's before its first message."""
    out: list[Event] = []
    created: set[int] = set()
    for item, hit in rows:
        if hit is None:
            continue
        ws = item.channel.workspace_id
        if hit.created is not None and hit.contact_id not in created:
            created.add(hit.contact_id)
            data = contact_event(_new_contact(item, hit.created, now), SOURCE)
            out.append(Event(ws, hit.contact_id, "contact.created", data))
        message_id = stored.get((item.channel.id, item.inbound.provider_message_id))
        if message_id is not None:
            data = {"message": _message(item, hit, message_id, now), "source": SOURCE}
            out.append(Event(ws, hit.contact_id, "message.received", data))
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


def _message(item: Item, hit: Resolved, message_id: int, now: datetime) -> dict[str, Any]:
    inbound = item.inbound
    return {
        "id": message_id,
        "contact_id": hit.contact_id,
        "channel_key": item.channel.key,
        "channel_kind": item.channel.kind,
        "direction": "in",
        "type": inbound.type,
        "text": inbound.text,
        "media": inbound.media or None,
        "provider_message_id": inbound.provider_message_id,
        "sent_at": iso(inbound.sent_at),
        "received_at": iso(now),
    }
