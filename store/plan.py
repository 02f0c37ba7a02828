"""Plan usage and cap changes; raising the cap admits held senders at once, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from store import audit
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
        return await _read_usage(tx, ws, lock, now)


async def set_cap(slug: str, cap: int, *, actor: str, surface: str) -> PlanUsage:
    """Change the cap; when it rises, held senders are admitted up to it, oldest first."""
    if cap < 0:
        raise Invalid("plan cap must be 0 or more")
    ws = await _workspace(slug)
    before = ws.plan_cap
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        await tx.execute("UPDATE workspace SET plan_cap = ? WHERE id = ?", [cap, ws.id])
        lock = await capacity.lock_period(tx, ws.id, period_of(now, ws.timezone), now)
        admitted = await admit_held(tx, lock, now)
        await lock.flush()
        result = await _read_usage(tx, ws, lock, now)
    await audit.record(
        ws.id,
        actor,
        surface,
        "plan.set_cap",
        slug,
        {"from": before, "to": cap, "admitted_senders": admitted},
    )
    return _with_admitted(result, admitted)


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


async def _read_usage(
    tx: RawTx, ws: Workspace, lock: capacity.PlanLock, now: datetime
) -> PlanUsage:
    period = await tx.fetch("SELECT carried_over FROM plan_period WHERE id = ?", [lock.period_id])
    held = await tx.fetch(
        "SELECT count(*), count(DISTINCT channel_id || ':' || external_id) FROM held_message"
        " WHERE workspace_id = ?",
        [ws.id],
    )
    rows = await tx.fetch(
        "SELECT c.key, c.kind, u.carried_over, u.created FROM period_channel_usage u"
        " JOIN channel c ON c.id = u.channel_id WHERE u.plan_period_id = ? ORDER BY c.key",
        [lock.period_id],
    )
    channels = [ChannelUsage(str(k), str(kind), int(c), int(n)) for k, kind, c, n in rows]
    return PlanUsage(
        ws.slug,
        lock.period,
        lock.cap,
        lock.used,
        int(period[0][0]),
        int(held[0][0]),
        int(held[0][1]),
        round(days_to_next(now, ws.timezone), 2),
        channels,
    )


def _with_admitted(result: PlanUsage, admitted: int) -> PlanUsage:
    from dataclasses import replace

    return replace(result, admitted_now=admitted)
