"""Edits: a new text for a message already stored replaces its text and joins its history.

Telegram, Messenger/Instagram and WhatsApp parsers mark an edit with meta `edit_of` (the
original's id) and `edited_at`. The original's text becomes the edit's; `history` keeps every
version with its time and, for edits, the edit's provider id, so a redelivered edit changes
nothing. An edit whose original is unknown is stored as a message of its own (nothing lost).
Only edits pay for this: an ordinary message costs no query here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from store.contacts import stamp
from store.db import RawTx
from store.serial import dump_json, load_json, nul_free
from store.types import Item, Outcome

# Where the original's id lives when it is not its provider_message_id (a Telegram message's
# provider id is its update_id; the edit names the message_id, unique within its chat, both
# kept in meta). The sender's identity narrows the search to its messages (an index).
BY_PROVIDER_ID = "m.channel_id = ? AND m.provider_message_id = ?"
BY_TELEGRAM_ID = {
    "sqlite": "m.identity_id = ? AND CAST(json_extract(m.meta, '$.message_id') AS TEXT) = ?"
    " AND CAST(json_extract(m.meta, '$.chat_id') AS TEXT) = ?",
    "postgres": "m.identity_id = ? AND m.meta->>'message_id' = ? AND m.meta->>'chat_id' = ?",
}


class Hit(Protocol):
    """The sender's identity, as store.inbound.ingest resolved it."""

    identity_id: int


H = TypeVar("H", bound=Hit)


def is_edit(item: Item) -> bool:
    """Whether the item is an edit of an earlier message."""
    return "edit_of" in item.inbound.meta


async def apply_all(
    tx: RawTx, rows: Sequence[tuple[Item, H | None]]
) -> tuple[dict[tuple[int, str], Outcome], list[tuple[Item, H | None]]]:
    """Apply the edits among `rows`: their outcomes by (channel, provider id), and the orphans
    (edits of an unknown message) to store as messages."""
    applied: dict[tuple[int, str], Outcome] = {}
    orphans: list[tuple[Item, H | None]] = []
    for item, hit in rows:
        if hit is None or not is_edit(item):
            continue
        outcome = await apply(tx, item, hit)
        if outcome is None:
            orphans.append((item, hit))
        else:
            applied[(item.channel.id, item.inbound.provider_message_id)] = outcome
    return applied, orphans


async def apply(tx: RawTx, item: Item, hit: Hit) -> Outcome | None:
    """Apply one edit: stored, duplicate (this edit was applied before) or None (no original).

    An edit that leaves the text as it is (Telegram sends a live location's moves as edits)
    changes nothing: history keeps texts, not every update.
    """
    original = await _original(tx, item, hit)
    if original is None:
        return None
    message_id, text, sent_at, provider_id, history = original
    inbound = item.inbound
    versions: list[dict[str, Any]] = load_json(history) or [
        {"text": text, "at": stamp(sent_at).isoformat(), "id": provider_id}
    ]
    if any(v.get("id") == inbound.provider_message_id for v in versions):
        return "duplicate"
    if nul_free(inbound.text) == text:  # e.g. Telegram's live location: a new point, no new text
        return "stored"
    edited_at = str(inbound.meta["edited_at"])
    versions.append(
        {"text": nul_free(inbound.text), "at": edited_at, "id": inbound.provider_message_id}
    )
    versions.sort(key=lambda v: stamp(v["at"]))  # edits may arrive out of order
    latest = versions[-1]
    await tx.execute(
        "UPDATE message SET text = ?, edited_at = ?, history = ? WHERE id = ?",
        [latest["text"], stamp(latest["at"]), dump_json(versions), message_id],
    )
    return "stored"


async def _original(tx: RawTx, item: Item, hit: Hit) -> Sequence[Any] | None:
    target = str(item.inbound.meta["edit_of"])
    if item.channel.kind == "telegram":
        chat = str(item.inbound.meta.get("chat_id"))
        where, params = BY_TELEGRAM_ID[tx.dialect], [hit.identity_id, target, chat]
    else:
        where, params = BY_PROVIDER_ID, [item.channel.id, target]
    rows = await tx.fetch(
        "SELECT m.id, m.text, m.sent_at, m.provider_message_id, m.history FROM message m"
        f" WHERE {where} AND m.direction = 'in' ORDER BY m.id LIMIT 1{tx.for_update}",
        params,
    )
    return rows[0] if rows else None
