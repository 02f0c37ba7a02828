"""Delivering events to admin chats: one row per (event, chat), claimed by one process at a time,
retried with a growing delay until the platform accepts it, and marked sent once.

An event counts as delivered (`event.delivered_at`) when every chat it went to has it. Events
older than MAX_AGE are not sent any more (a chat subscribed today is not flooded with last
month's news; they stay readable through the API and the CLI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from store import events
from store.db import ClientTx, raw_transaction
from store.serial import load_json

MAX_AGE = timedelta(days=3)
LEASE = timedelta(minutes=2)  # a claim left by a process that died is taken over after this
BACKOFF = (30, 60, 300, 900, 3600)  # seconds before retry N (then every hour)
BATCH = 100


@dataclass(frozen=True, slots=True)
class Due:
    """One event to send to one chat."""

    delivery_id: int
    event_id: int
    workspace: str  # slug
    kind: str
    payload: dict[str, Any]
    platform: str
    chat_id: str
    attempts: int
    language: str = "es"  # the workspace's: notifications are in it
    timezone: str = "UTC"  # the workspace's: times in them are local


async def due(platforms: Sequence[str], now: datetime | None = None) -> list[Due]:
    """Deliveries to make now on these platforms (rows for new events and chats made first)."""
    if not platforms:
        return []
    now = now or datetime.now(UTC)
    marks = ",".join("?" * len(platforms))
    async with raw_transaction() as tx:
        await tx.execute(
            "INSERT INTO event_delivery (event_id, chat_id, attempts) SELECT e.id, c.id, 0"
            " FROM event e JOIN admin_chat c ON c.workspace_id = e.workspace_id"
            f" WHERE e.delivered_at IS NULL AND e.created_at > ? AND c.platform IN ({marks})"
            " ON CONFLICT DO NOTHING",
            [now - MAX_AGE, *platforms],
        )
    rows = await ClientTx().fetch(
        "SELECT d.id, e.id, w.slug, e.kind, e.payload, c.platform, c.chat_id, d.attempts,"
        " w.language, w.timezone"
        " FROM event_delivery d JOIN event e ON e.id = d.event_id"
        " JOIN admin_chat c ON c.id = d.chat_id JOIN workspace w ON w.id = e.workspace_id"
        f" WHERE d.delivered_at IS NULL AND e.created_at > ? AND c.platform IN ({marks})"
        " AND (d.next_try_at IS NULL OR d.next_try_at <= ?)"
        " AND (d.claimed_until IS NULL OR d.claimed_until < ?) ORDER BY e.id, d.id LIMIT ?",
        [now - MAX_AGE, *platforms, now, now, BATCH],
    )
    return [
        Due(int(d), int(e), str(ws), str(kind), dict(load_json(payload) or {}), str(p), str(c),
            int(n), str(lang), str(tz))
        for d, e, ws, kind, payload, p, c, n, lang, tz in rows
    ]  # fmt: skip


async def claim(delivery_id: int, now: datetime | None = None) -> bool:
    """Take a delivery for this process for LEASE; False when another process has it or it
    was sent meanwhile."""
    now = now or datetime.now(UTC)
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "UPDATE event_delivery SET claimed_until = ? WHERE id = ? AND delivered_at IS NULL"
            " AND (claimed_until IS NULL OR claimed_until < ?) RETURNING id",
            [now + LEASE, delivery_id, now],
        )
    return bool(rows)


async def sent(item: Due, now: datetime | None = None) -> None:
    """Record that the platform accepted a delivery; the event is delivered once all are."""
    now = now or datetime.now(UTC)
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE event_delivery SET delivered_at = ?, claimed_until = NULL, error = NULL"
            " WHERE id = ?",
            [now, item.delivery_id],
        )
        left = await tx.fetch(
            "SELECT COUNT(*) FROM event_delivery WHERE event_id = ? AND delivered_at IS NULL",
            [item.event_id],
        )
        if int(left[0][0]) == 0:
            await events.mark_delivered(tx, item.event_id, now)


async def failed(item: Due, error: str, now: datetime | None = None) -> datetime:
    """Record a refused delivery; returns when it is tried again."""
    now = now or datetime.now(UTC)
    retry = now + timedelta(seconds=BACKOFF[min(item.attempts, len(BACKOFF) - 1)])
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE event_delivery SET attempts = attempts + 1, next_try_at = ?,"
            " claimed_until = NULL, error = ? WHERE id = ?",
            [retry, error[:2000], item.delivery_id],
        )
    return retry
