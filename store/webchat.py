"""Web chat conversations as the visitor sees them: the messages of one visitor identity.

Read-only: the widget's stream and long-poll read what the visitor wrote and what agents
answered, oldest first, after a message id (the stream's `Last-Event-ID`). Failed sends are
left out (the visitor never got them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.contacts import as_datetime
from store.db import ClientTx
from store.serial import load_json

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
