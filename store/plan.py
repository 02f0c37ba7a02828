"""Plan usage and cap changes; raising the cap admits held senders at once, oldest first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from store.access import Actor, audit, require
from store.db import RawTx, raw_transaction
from store.errors import Invalid, NotFound
from store.inbound import admit_held, capacity
from store.models import HeldMessage, Workspace
from store.periods import days_to_next, period_of


@dataclass(frozen=True, slots=True)
class ChannelUsage:
    """One channel's share of a period's usage."""

    channel_key: str
    kind: str
    carried_over: int
    created: int


@dataclass(frozen=True, slots=True)
class PlanUsage:
    """Where a workspace stands against its plan in the current period."""

    workspace: str
    period: str
    cap: int
    used: int
    carried_over: int
    held_messages: int
    held_senders: int
    days_to_next_period: float
    channels: list[ChannelUsage]
    admitted_now: int = 0  # senders admitted by the call that returned this


async def _workspace(slug: str) -> Workspace:
    ws = await Workspace.get_or_none(slug=slug)
    if ws is None:
        raise NotFound(f"no workspace {slug!r}")
    return ws


async def usage(slug: str) -> PlanUsage:
    """Usage, cap, held queue and per-channel split of the current period."""
    ws = await _workspace(slug)
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        lock = await capacity.lock_period(tx, ws.id, period_of(now, ws.timezone), now)
        return await _read_usage(tx, ws.slug, ws.timezone, lock)


async def set_cap(actor: Actor, cap: int) -> PlanUsage:
    """Change the cap (owners); when it rises, held senders are admitted up to it, oldest first."""
    require(actor, "owner")
    if cap < 0:
        raise Invalid("plan cap must be 0 or more")
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            f"SELECT slug, timezone, plan_cap FROM workspace WHERE id = ?{tx.for_update}",
            [actor.workspace_id],
        )
        if not rows:
            raise NotFound(f"no workspace #{actor.workspace_id}")
        slug, timezone, before = str(rows[0][0]), str(rows[0][1]), int(rows[0][2])
        await tx.execute(
            "UPDATE workspace SET plan_cap = ? WHERE id = ?", [cap, actor.workspace_id]
        )
        lock = await capacity.lock_period(tx, actor.workspace_id, period_of(now, timezone), now)
        admitted = await admit_held(tx, lock, now)
        await lock.flush()
        result = await _read_usage(tx, slug, timezone, lock)
        detail = {"from": before, "to": cap, "admitted_senders": admitted}
        await audit(tx, actor, "plan.set_cap", slug, detail)
    return replace(result, admitted_now=admitted)


async def admit_if_room(slug: str) -> int:
    """Admit held senders while the current period has room (a new period, a freed cap)."""
    ws = await _workspace(slug)
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        lock = await capacity.lock_period(tx, ws.id, period_of(now, ws.timezone), now)
        admitted = await admit_held(tx, lock, now) if await lock.has_held() else 0
        await lock.flush()
    return admitted


async def workspaces_with_held() -> list[str]:
    """Slugs of workspaces whose held queue is not empty."""
    ids = await HeldMessage.all().distinct().values_list("workspace_id", flat=True)
    slugs = await Workspace.filter(id__in=list(ids)).values_list("slug", flat=True)
    return [str(slug) for slug in slugs]


async def _read_usage(tx: RawTx, slug: str, timezone: str, lock: capacity.PlanLock) -> PlanUsage:
    period = await tx.fetch("SELECT carried_over FROM plan_period WHERE id = ?", [lock.period_id])
    held = await tx.fetch(
        "SELECT count(*), count(DISTINCT channel_id || ':' || external_id) FROM held_message"
        " WHERE workspace_id = ?",
        [lock.workspace_id],
    )
    rows = await tx.fetch(
        "SELECT c.key, c.kind, u.carried_over, u.created FROM period_channel_usage u"
        " JOIN channel c ON c.id = u.channel_id WHERE u.plan_period_id = ? ORDER BY c.key",
        [lock.period_id],
    )
    channels = [ChannelUsage(str(k), str(kind), int(c), int(n)) for k, kind, c, n in rows]
    return PlanUsage(
        slug,
        lock.period,
        lock.cap,
        lock.used,
        int(period[0][0]),
        int(held[0][0]),
        int(held[0][1]),
        round(days_to_next(lock.now, timezone), 2),
        channels,
    )
