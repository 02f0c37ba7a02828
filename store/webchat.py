"""Web chat: the conversation as the visitor sees it, and what the pre-chat form fills in.

The widget's stream and long-poll read what the visitor wrote and what agents answered, oldest
first, after a message id (the stream's `Last-Event-ID`); failed sends are left out (the
visitor never got them). The pre-chat form's email and phone fill the contact's *empty* fields
only, marked unverified (custom field `unverified`), and never join another contact: a detail
another contact already holds stays on the message only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.access import Actor, audit, require
from store.contact_fields import clean_fields
from store.contacts import as_datetime, load, taken, update, workspace_region
from store.db import ClientTx, raw_transaction
from store.errors import Invalid
from store.serial import load_json

UNVERIFIED = "unverified"  # custom field: the contact's fields a visitor typed, unchecked
FILLED = ("email", "phone")

MAX_LINES = 200

CONVERSATION_SQL = (
    "SELECT m.id, m.direction, m.text, m.received_at, m.meta, m.provider_message_id FROM message m"
    " JOIN identity i ON i.id = m.identity_id"
    " WHERE i.channel_id = ? AND i.external_id = ? AND m.id > ? AND m.type = 'text'"
    " ORDER BY m.id LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One message of the conversation: `in` from the visitor, `out` from an agent."""

    id: int
    direction: str
    text: str
    at: datetime | None
    client_id: str | None = None  # the widget's message.id of a visitor's message

    def as_json(self) -> dict[str, Any]:
        """What the widget receives."""
        at = self.at.isoformat() if self.at else None
        return {"id": self.id, "direction": self.direction, "text": self.text, "at": at,
                "client_id": self.client_id}  # fmt: skip


async def conversation(
    channel_id: int, visitor_id: str, after: int = 0, limit: int = MAX_LINES
) -> list[ChatLine]:
    """The visitor's messages with an id above `after`, oldest first, at most `limit`."""
    rows = await ClientTx().fetch(CONVERSATION_SQL, [channel_id, visitor_id, after, limit])
    lines = []
    for mid, direction, text, at, meta, provider_id in rows:
        if direction == "out" and _status(meta) == "failed":
            continue
        client_id = str(provider_id).split(":", 1)[-1] if direction == "in" else None
        lines.append(
            ChatLine(int(mid), str(direction), str(text or ""), as_datetime(at), client_id)
        )
    return lines


def _status(meta: Any) -> Any:
    found = load_json(meta)
    return found.get("status") if isinstance(found, dict) else None


async def fill_unverified(
    actor: Actor, channel_id: int, visitor_id: str, details: Mapping[str, str]
) -> list[str]:
    """Fill the visitor's contact's empty email and phone with what they typed; the fields
    filled (also listed in the contact's custom `unverified`), audited in the same transaction."""
    require(actor, "agent")
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "SELECT contact_id FROM identity WHERE channel_id = ? AND external_id = ?",
            [channel_id, visitor_id],
        )
        if not rows:  # held at the plan cap: no contact yet
            return []
        contact = await load(tx, actor.workspace_id, int(rows[0][0]))
        region = await workspace_region(tx, actor.workspace_id)
        fill: dict[str, Any] = {}
        for key in FILLED:
            if details.get(key) and not getattr(contact, key):
                try:
                    fill |= clean_fields({key: details[key]}, region)
                except Invalid:  # e.g. a phone that is no number in the workspace's region
                    continue
        held = await taken(tx, contact.workspace_id, list(fill.items()))
        fill = {k: v for k, v in fill.items() if k not in held}  # never joins another contact
        if not fill:
            return []
        marked = {*str(contact.custom.get(UNVERIFIED, "")).split(), *fill}
        await update(tx, actor.workspace_id, contact.id,
                     {**fill, "custom": {UNVERIFIED: " ".join(sorted(marked))}})  # fmt: skip
        await audit(tx, actor, "contact.fill_unverified", f"#{contact.id}",
                    {"fields": sorted(fill), "channel": channel_id})  # fmt: skip
        return sorted(fill)
