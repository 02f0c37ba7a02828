"""Delivery statuses: what providers say became of our outbound messages, applied to them.

A status names its message by (channel, provider message id), or, as Messenger's watermarks
do, covers every outbound message to one person up to a moment. Every status heard joins the
message's `status_history`; the `status` itself only moves forward (sending < sent < delivered <
read), except `failed`, which is always taken. A status for no message we know is acknowledged
and counted, never an error: providers report messages sent by other tools on the same number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from store import outbox
from store.db import RawTx, raw_transaction
from store.health import classify
from store.inbound import WriteFailed
from store.messages import status_entry
from store.serial import dump_json, load_json
from store.types import ChannelInfo, StatusUpdate

RANK = {"sending": 0, "unknown": 0, "queued": 0, "sent": 1, "delivered": 2, "read": 3}
WATERMARK_LIMIT = 200  # a watermark covers at most the person's last messages this many
# applied: a message's status changed; stale: it did not (late, repeated, `queued`: the history
# keeps what is new); unknown_message: no outbound message of ours has that id
Outcome = Literal["applied", "stale", "unknown_message"]

SELECT = "SELECT m.id, m.contact_id, m.meta, m.status_history FROM message m"
BY_ID = f"{SELECT} WHERE m.channel_id = ? AND m.provider_message_id = ? AND m.direction = 'out'"
BY_WATERMARK = (
    f"{SELECT} JOIN identity i ON i.id = m.identity_id WHERE m.channel_id = ?"
    " AND i.external_id = ? AND m.direction = 'out' AND m.sent_at <= ?"
    " ORDER BY m.id DESC LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One outbound message whose status moved: what a `message.status` event says."""

    message_id: int
    contact_id: int
    channel_key: str
    previous: str | None
    status: str
    at: datetime
    error_code: str | None = None
    error_title: str | None = None


@dataclass(slots=True)
class Applied:
    """The changes made, and an outcome per status heard (for the metrics)."""

    changes: list[StatusChange] = field(default_factory=list)
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)  # (status, outcome)


async def apply_statuses(channel: ChannelInfo, updates: Sequence[StatusUpdate]) -> Applied:
    """Apply a webhook's statuses in one transaction. Provider data, like inbound messages: no
    actor, no audit line; the returned changes are the one place to emit `message.status` from."""
    applied = Applied()
    try:
        async with raw_transaction() as tx:
            for update in updates:
                await apply_status(tx, channel, update, applied)
            await outbox.emit_many(tx, [_event(channel, c) for c in applied.changes])
    except Exception as exc:
        fault = classify(exc, from_database=True)
        if fault is None:
            raise
        raise WriteFailed(f"database write failed ({fault.cause})") from exc  # the provider retries
    return applied


async def apply_status(
    tx: RawTx, channel: ChannelInfo, update: StatusUpdate, applied: Applied
) -> None:
    """Apply one status to the message(s) it covers, adding to `applied`."""
    rows = await _targets(tx, channel, update)
    outcome: Outcome = "unknown_message" if not rows else "stale"
    for row in rows:
        change = await _apply_one(tx, channel, update, row)
        if change is not None:
            applied.changes.append(change)
            outcome = "applied"
    applied.outcomes.append((update.status, outcome))


async def _targets(tx: RawTx, channel: ChannelInfo, update: StatusUpdate) -> list[Sequence[Any]]:
    if update.watermark:
        params = [channel.id, update.recipient, update.at, WATERMARK_LIMIT]
        return await tx.fetch(BY_WATERMARK + tx.for_update, params)
    return await tx.fetch(BY_ID + tx.for_update, [channel.id, update.provider_message_id])


async def _apply_one(
    tx: RawTx, channel: ChannelInfo, update: StatusUpdate, row: Sequence[Any]
) -> StatusChange | None:
    message_id, contact_id = int(row[0]), int(row[1])
    meta, history = _dict(load_json(row[2])), _list(load_json(row[3]))
    entry = status_entry(update.status, update.at, update.error_code, update.error_title)
    if any(e.get("status") == update.status for e in history):
        return None  # a repeat: webhooks come at least once, and watermarks overlap
    previous = meta.get("status")
    moves = _moves(previous, update.status)
    if moves:
        meta["status"] = update.status
        if update.status == "failed":
            meta |= {"error": "delivery_failed", "detail": _failure(update)}
    await tx.execute(
        "UPDATE message SET meta = ?, status_history = ? WHERE id = ?",
        [dump_json(meta), dump_json([*history, entry]), message_id],
    )
    if not moves:
        return None
    return StatusChange(
        message_id, contact_id, channel.key, previous, update.status, update.at,
        update.error_code, update.error_title,
    )  # fmt: skip


def _event(channel: ChannelInfo, change: StatusChange) -> outbox.Event:
    """The `message.status` event of a change, written with it (events out)."""
    data = {
        "message_id": change.message_id,
        "channel": change.channel_key,
        "previous": change.previous,
        "status": change.status,
        "at": change.at.isoformat(),
        "error_code": change.error_code,
        "error_title": change.error_title,
        "source": "inbound",
    }
    return outbox.Event(channel.workspace_id, change.contact_id, "message.status", data)


def _moves(current: str | None, status: str) -> bool:
    """Whether `status` replaces `current`: forward only, a failure always (once)."""
    if status == "failed":
        return current != "failed"
    if current == "failed" or status not in RANK:
        return False
    return RANK[status] > RANK.get(current or "", 0)


def _failure(update: StatusUpdate) -> str:
    """The provider's words for a failure: `<title> (code <code>)`."""
    title = update.error_title or "the provider reported the message failed"
    return f"{title} (code {update.error_code})" if update.error_code else title


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
