"""Contact and message events out: written to the outbox in the transaction of their change.

One row per (event, active subscription of the workspace that wants its type), so a workspace
without subscriptions writes nothing, and a change rolled back leaves no event. The body is the
Standard Webhooks payload `{"type", "timestamp", "data"}`, fixed when the change is made; the
webhook-id is the event's `msg_…` id, the same for every subscription and every retry.
Delivery: store.outbox_delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.access import Actor
from store.db import RawTx
from store.serial import contact_data, dump_json, iso

TYPES = (
    "contact.created",
    "contact.updated",
    "contact.tagged",
    "contact.untagged",
    "contact.merged",
    "contact.unmerged",
    "contact.deleted",
    "message.received",
    "message.sent",
    "message.status",
    "plan.threshold",
    "reset.done",
)
SOURCES = ("inbound", "manual", "import", "api", "merge", "bot", "reset")
# What made a change, by the surface of the actor who made it.
SURFACE_SOURCE = {"api": "api", "cli": "manual", "slack": "bot", "telegram": "bot"}
# A subscription wants a type when its list is empty (every type) or names it.
WANTS = "(CAST(s.types AS TEXT) = '[]' OR CAST(s.types AS TEXT) LIKE '%\"' || v.type || '\"%')"
INSERT = (
    "INSERT INTO outbox_event (event_id, subscription_id, contact_id, type, payload,"
    " created_at, state, next_try_at, attempts)"
    " SELECT v.event_id, s.id, v.contact_id, v.type, v.payload, ?, 'pending', ?, 0"
)
JOIN = f" JOIN event_subscription s ON s.workspace_id = v.workspace_id AND s.active AND {WANTS}"
ORDER = " ORDER BY v.n, s.id"  # ids in the order of the changes: the delivery order
PG_EMIT = (
    f"{INSERT} FROM unnest(?::int[], ?::int[], ?::text[], ?::text[], ?::text[], ?::int[])"
    f" AS v(workspace_id, contact_id, type, payload, event_id, n){JOIN}{ORDER}"
)
CHUNK = 300  # events per statement on SQLite: 6 parameters each


@dataclass(frozen=True, slots=True)
class Event:
    """An event to write: its workspace, contact (None for workspace events), type and data."""

    workspace_id: int
    contact_id: int | None
    type: str
    data: dict[str, Any]


def source_of(actor: Actor) -> str:
    """The `source` of a change made by this actor (api, manual from the CLI, bot from chat)."""
    return SURFACE_SOURCE.get(actor.surface, "manual")


def contact_event(contact: Any, source: str, **extra: Any) -> dict[str, Any]:
    """The data of a contact event: the contact (a store.contacts.Contact) as the API shows it,
    the change's source, and extras."""
    return {"contact": contact_data(contact), "source": source, **extra}


def body(type_: str, data: dict[str, Any], now: datetime) -> str:
    """The JSON body of an event as delivered (Standard Webhooks: type, timestamp, data)."""
    return dump_json({"type": type_, "timestamp": iso(now), "data": data})


async def emit(
    tx: RawTx,
    workspace_id: int,
    type: str,
    data: dict[str, Any],
    *,
    contact_id: int | None,
    now: datetime | None = None,
) -> None:
    """Write one event for each subscription of the workspace that wants it, in `tx`."""
    await emit_many(tx, [Event(workspace_id, contact_id, type, data)], now)


async def emit_many(tx: RawTx, events: Sequence[Event], now: datetime | None = None) -> None:
    """Write events in as few statements as possible (one up to CHUNK on SQLite; one on PG)."""
    if not events:
        return
    now = now or datetime.now(UTC)
    for event in events:
        if event.type not in TYPES:
            raise ValueError(f"unknown event type {event.type!r}")
    rows = [
        (e.workspace_id, e.contact_id, e.type, body(e.type, e.data, now), new_event_id(), n)
        for n, e in enumerate(events)
    ]
    if tx.dialect == "postgres":
        await tx.execute(PG_EMIT, [now, now, *[list(c) for c in zip(*rows, strict=True)]])
        return
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        values = ",".join(["(?,?,?,?,?,?)"] * len(chunk))
        await tx.execute(
            f"WITH v(workspace_id, contact_id, type, payload, event_id, n) AS (VALUES {values})"
            f" {INSERT} FROM v{JOIN}{ORDER}",
            [*(x for row in chunk for x in row), now, now],
        )


async def wanted(tx: RawTx, workspace_id: int, type_: str) -> bool:
    """Whether an active subscription of the workspace wants events of this type (bulk
    operations load their contacts for events only then)."""
    rows = await tx.fetch(
        "SELECT 1 FROM (SELECT ? AS type) v JOIN event_subscription s"
        f" ON s.workspace_id = ? AND s.active AND {WANTS} LIMIT 1",
        [type_, workspace_id],
    )
    return bool(rows)


def new_event_id() -> str:
    """A webhook-id: `msg_` and 32 hex digits, unique across events."""
    return f"msg_{uuid.uuid4().hex}"
