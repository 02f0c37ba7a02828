"""The plan cap inside a write transaction: period rows, the per-workspace lock, the held queue.

Usage of a period = identities carried over when the period row was first made + identities
counted in it. The row is locked (FOR UPDATE on PostgreSQL; SQLite's write lock already
serialises writers) for check-and-increment, so concurrent writers never pass the cap.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from store import events
from store.channels import channel_info
from store.db import RawTx
from store.periods import period_of
from store.serial import inbound_from_json
from store.types import ChannelInfo, Item

THRESHOLDS = ((80, "cap_80"), (100, "cap_100"))


@dataclass(slots=True)
class PlanLock:
    """The locked usage row of one workspace and period, with counts to write back."""

    tx: RawTx
    workspace_id: int
    period: str
    period_id: int
    cap: int
    used: int
    now: datetime
    added: Counter[int] = field(default_factory=Counter)
    full_seen: bool = False

    def room(self) -> int:
        """How many more identities the plan admits in this period."""
        return self.cap - self.used

    async def count(self, channel_id: int) -> None:
        """Count one new identity on `channel_id`."""
        self.used += 1
        self.added[channel_id] += 1

    async def note_full(self) -> None:
        """Remember that a new sender met the cap (notified once per period)."""
        self.full_seen = True

    async def has_held(self) -> bool:
        """True when senders wait in this workspace's held queue."""
        rows = await self.tx.fetch(
            "SELECT 1 FROM held_message WHERE workspace_id = ? LIMIT 1", [self.workspace_id]
        )
        return bool(rows)

    async def flush(self) -> None:
        """Write the counts back and record threshold events."""
        total = sum(self.added.values())
        if total:
            await self.tx.execute(
                "UPDATE plan_period SET used = used + ? WHERE id = ?", [total, self.period_id]
            )
            await self.tx.executemany(
                "INSERT INTO period_channel_usage (plan_period_id, channel_id, carried_over,"
                " created) VALUES (?,?,0,?) ON CONFLICT (plan_period_id, channel_id)"
                " DO UPDATE SET created = period_channel_usage.created + excluded.created",
                [(self.period_id, ch, n) for ch, n in sorted(self.added.items())],
            )
        if total or self.full_seen:
            await self._thresholds()

    async def _thresholds(self) -> None:
        for percent, kind in THRESHOLDS:
            reached = self.used >= math.ceil(self.cap * percent / 100)
            if reached or (percent == 100 and self.full_seen):
                payload = {"period": self.period, "used": self.used, "cap": self.cap}
                await events.emit(
                    self.tx, self.workspace_id, kind, f"{kind}:{self.period}", payload, self.now
                )


@asynccontextmanager
async def plan_lock(tx: RawTx, channel: ChannelInfo, now: datetime) -> AsyncIterator[PlanLock]:
    """Lock the workspace's current period row for the rest of the transaction."""
    period = period_of(now, channel.timezone)
    lock = await lock_period(tx, channel.workspace_id, period, now)
    yield lock
    await lock.flush()


async def lock_period(tx: RawTx, workspace_id: int, period: str, now: datetime) -> PlanLock:
    """Make sure the period row exists, then lock it and read usage and cap."""
    period_id = await ensure_period(tx, workspace_id, period, now)
    rows = await tx.fetch(f"SELECT used FROM plan_period WHERE id = ?{tx.for_update}", [period_id])
    cap = await tx.fetch("SELECT plan_cap FROM workspace WHERE id = ?", [workspace_id])
    return PlanLock(tx, workspace_id, period, period_id, int(cap[0][0]), int(rows[0][0]), now)


async def ensure_period(tx: RawTx, workspace_id: int, period: str, now: datetime) -> int:
    """The id of the workspace's row for `period`, creating it with the carry-over."""
    rows = await tx.fetch(
        "SELECT id FROM plan_period WHERE workspace_id = ? AND period = ?", [workspace_id, period]
    )
    if rows:
        return int(rows[0][0])
    made = await tx.fetch(
        "INSERT INTO plan_period (workspace_id, period, carried_over, used, created_at)"
        " SELECT ?, ?, count(*), count(*), ? FROM identity WHERE workspace_id = ?"
        " ON CONFLICT DO NOTHING RETURNING id",
        [workspace_id, period, now, workspace_id],
    )
    if not made:  # another process made it first
        return await ensure_period(tx, workspace_id, period, now)
    await tx.execute(
        "INSERT INTO period_channel_usage (plan_period_id, channel_id, carried_over, created)"
        " SELECT ?, channel_id, count(*), 0 FROM identity WHERE workspace_id = ?"
        " GROUP BY channel_id",
        [made[0][0], workspace_id],
    )
    return int(made[0][0])


async def held_senders(tx: RawTx, plan: PlanLock) -> list[tuple[int, str]]:
    """Held senders of the workspace, oldest first, at most as many as there is room for."""
    if plan.room() <= 0:
        return []
    rows = await tx.fetch(
        "SELECT channel_id, external_id FROM held_message WHERE workspace_id = ?"
        " GROUP BY channel_id, external_id ORDER BY MIN(id) LIMIT ?",
        [plan.workspace_id, plan.room()],
    )
    return [(int(c), str(e)) for c, e in rows]


async def take_held(tx: RawTx, channel_id: int, external_id: str) -> list[Item]:
    """Remove one sender's held messages from the queue and return them, oldest first."""
    channel = await channel_info(tx, channel_id)
    rows = await tx.fetch(
        "SELECT id, inbound, received_at FROM held_message WHERE channel_id = ?"
        " AND external_id = ? ORDER BY id",
        [channel_id, external_id],
    )
    await tx.execute(
        "DELETE FROM held_message WHERE channel_id = ? AND external_id = ?",
        [channel_id, external_id],
    )
    items = []
    for _id, inbound_json, received_at in rows:
        inbound = inbound_from_json(inbound_json)
        inbound.meta = {**inbound.meta, "held_since": str(received_at)}
        items.append(Item(channel, inbound))
    return items
