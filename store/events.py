"""Notifications for the admin chats: cap thresholds, reset warnings, reset and retention
results and failures.

An event is written once per key (`cap_80:2026-11`, `reset_soon:2026-11`…) in the transaction
that decides it, with an audit line beside it, so it is neither lost nor repeated. The chat
bots deliver undelivered events and mark them delivered; until a workspace has admin chats they
are read through the API (`GET /api/v1/events`) and the CLI, and each one is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from store import outbox
from store.access import Actor, audit, require, system
from store.contacts import stamp
from store.db import ClientTx, RawTx
from store.serial import dump_json, load_json

log = structlog.get_logger("contactgate.events")
KINDS = (
    *("cap_80", "cap_100", "reset_soon", "reset_done", "reset_failed"),
    *("retention_done", "retention_failed", "subscription_disabled"),
)
# Notifications that are also events out (store.outbox), written beside them.
OUT = {"cap_80": "plan.threshold", "cap_100": "plan.threshold", "reset_done": "reset.done"}
PAGE = 100


@dataclass(frozen=True, slots=True)
class EventInfo:
    """One notification."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None


async def emit(
    tx: RawTx, workspace_id: int, kind: str, key: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Record a notification once per key (with its audit line); True when it is new."""
    rows = await tx.fetch(
        "INSERT INTO event (workspace_id, kind, key, payload, created_at) VALUES (?,?,?,?,?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        [workspace_id, kind, key, dump_json(payload), now],
    )
    if not rows:
        return False
    await audit(tx, system(workspace_id), f"event.{kind}", key, payload, at=now)
    if kind in OUT:
        data = {k: v for k, v in payload.items() if k != "export"}  # a path on this host
        if kind.startswith("cap_"):
            data["threshold"] = int(kind[4:])
        await outbox.emit(tx, workspace_id, OUT[kind], data, contact_id=None, now=now)
    log.info("event", workspace_id=workspace_id, kind=kind, key=key, **payload)
    return True


async def list_events(
    actor: Actor, *, after: int = 0, limit: int = PAGE, undelivered: bool = False
) -> list[EventInfo]:
    """The workspace's events after id `after`, oldest first (admins)."""
    require(actor, "admin")
    limit = max(1, min(limit, 500))
    rows = await ClientTx().fetch(
        "SELECT id, kind, key, payload, created_at, delivered_at FROM event"
        f" WHERE workspace_id = ? AND id > ?{' AND delivered_at IS NULL' if undelivered else ''}"
        " ORDER BY id LIMIT ?",
        [actor.workspace_id, after, limit],
    )
    return [
        EventInfo(
            int(i),
            str(kind),
            str(key),
            dict(load_json(payload) or {}),
            stamp(created),
            None if delivered is None else stamp(delivered),
        )
        for i, kind, key, payload, created, delivered in rows
    ]


async def mark_delivered(tx: RawTx, event_id: int, now: datetime | None = None) -> bool:
    """Mark an event delivered; False when it already was (another process delivered it)."""
    rows = await tx.fetch(
        "UPDATE event SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL RETURNING id",
        [now or datetime.now(UTC), event_id],
    )
    return bool(rows)
