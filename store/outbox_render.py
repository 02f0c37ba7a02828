"""Bodies of events written by reference (store.inbound.events_out): rendered from the message
when the deliverer first claims the event, then kept, so every retry sends the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from store.contacts import stamp
from store.db import RawTx
from store.outbox import body
from store.serial import iso, load_json

SOURCE = "inbound"
COLUMNS = (
    "m.id, m.contact_id, c.key, c.kind, m.type, m.text, m.media, m.provider_message_id,"
    " m.sent_at, m.received_at"
)


async def render_received(
    tx: RawTx, refs: Sequence[tuple[int, int, datetime]]
) -> list[tuple[str, int]]:
    """(body, outbox id) of each (outbox id, message id, event time) `message.received`."""
    ids = sorted({message_id for _oid, message_id, _at in refs})
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM message m JOIN channel c ON c.id = m.channel_id"
        f" WHERE m.id IN ({','.join('?' * len(ids))})",
        ids,
    )
    found = {int(row[0]): _message(row) for row in rows}
    out = []
    for oid, message_id, at in refs:
        message = found.get(message_id)
        data: dict[str, Any] = {"message": message, "source": SOURCE}
        if message is None:  # deleted before its event went out (its contact deleted)
            data["message_id"] = message_id
        out.append((body("message.received", data, at), oid))
    return out


def _message(row: Sequence[Any]) -> dict[str, Any]:
    mid, contact_id, key, kind, type_, text, media, provider_id, sent, received = row
    return {
        "id": int(mid),
        "contact_id": int(contact_id),
        "channel_key": str(key),
        "channel_kind": str(kind),
        "direction": "in",
        "type": str(type_),
        "text": text,
        "media": load_json(media) or None,
        "provider_message_id": str(provider_id),
        "sent_at": iso(stamp(sent)),
        "received_at": iso(stamp(received)),
    }
