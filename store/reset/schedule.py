"""What the scheduler owes each workspace's reset at a given moment: warn, run, resume.

- 48 hours before a run is due: one `reset_soon` event with the preview counts.
- From the due time (last day of the month, local time): the run of this month.
- A run missed while no gateway was up (the month ended without one) is caught up during the
  first `catch_up_hours` of the next month, unless the reset setting changed after it was due.
- A run left unfinished (its process died) or failed is resumed by `reset_run.claim`, which
  waits for the lease to lapse or the retry delay to pass.
- Retention rules (store.reset.rules): every day from the workspace's reset local time, that
  day's retention run, when a rule is set; an unfinished one whatever its day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from store import events
from store.contacts import as_datetime
from store.db import ClientTx, raw_transaction
from store.models import Workspace
from store.periods import period_of, period_start
from store.reset import policy, rules
from store.reset.operations import preview_of
from store.reset.run import ACTIVE

WARN_BEFORE = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class Due:
    """One run the scheduler should claim (and run, if the claim succeeds)."""

    workspace_id: int
    slug: str
    period: str
    mode: str
    enabled_by: str | None
    kind: str = "reset"


async def _with_reset() -> list[Workspace]:
    """Workspaces whose reset is on now or from a pending month."""
    return await Workspace.filter(Q(reset_mode__not="off") | Q(reset_pending_mode__isnull=False))


def previous_period(period: str) -> str:
    """The period before `period`."""
    year, month = (int(p) for p in period.split("-"))
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


async def due(now: datetime, catch_up_hours: float) -> list[Due]:
    """Runs to claim at `now`: every unfinished run (whatever its month: nothing may stay
    half-deleted), this month's once due, and last month's if missed or failed (within the
    catch-up hours). A failed run's retry delay and a live run's lease are checked by the claim.
    """
    found: dict[tuple[int, str], Due] = {}
    runs = await _recent_runs()
    for (ws_id, period), (state, slug, mode) in runs.items():
        if state in ACTIVE:
            found[(ws_id, period)] = Due(ws_id, slug, period, mode, None)
    for ws in await _with_reset():
        setting = policy.Setting.of(ws)
        period = period_of(now, ws.timezone)
        for when in (previous_period(period), period):
            mode = policy.mode_for(setting, when)
            at = policy.run_at(when, ws.timezone, ws.reset_local_time)
            known = runs.get((ws.id, when))
            if mode == "off" or now < at or (known is not None and known[0] != "failed"):
                continue
            late = when != period
            if late and not _may_catch_up(setting, at, now, ws.timezone, period, catch_up_hours):
                continue
            found.setdefault((ws.id, when), Due(ws.id, ws.slug, when, mode, ws.reset_set_by))
    return list(found.values())


def _may_catch_up(
    setting: policy.Setting, at: datetime, now: datetime, tz: str, period: str, hours: float
) -> bool:
    if now - period_start(period, tz) > timedelta(hours=hours):
        return False
    changed = as_datetime(setting.set_at)
    return changed is None or changed <= at


async def _recent_runs() -> dict[tuple[int, str], tuple[str, str, str]]:
    """(workspace id, period) -> (state, workspace slug, mode) of runs started lately."""
    rows = await ClientTx().fetch(
        "SELECT r.workspace_id, r.period, r.state, w.slug, r.mode FROM reset_run r"
        " JOIN workspace w ON w.id = r.workspace_id WHERE r.kind = 'reset'"
        " AND (r.started_at > ? OR r.state IN (?, ?))",
        [datetime.now(UTC) - timedelta(days=70), *ACTIVE],
    )
    return {(int(w), str(p)): (str(s), str(slug), str(m)) for w, p, s, slug, m in rows}


async def due_retention(now: datetime) -> list[Due]:
    """Retention runs to claim at `now`: every unfinished one, and each workspace's of today
    once due (not done; a failed one's retry delay and a live one's lease are the claim's)."""
    rows = await ClientTx().fetch(
        "SELECT r.workspace_id, r.period, r.state, w.slug, r.mode FROM reset_run r"
        " JOIN workspace w ON w.id = r.workspace_id WHERE r.kind = 'retention'"
        " AND (r.started_at > ? OR r.state IN (?, ?))",
        [datetime.now(UTC) - timedelta(days=3), *ACTIVE],
    )
    runs = {(int(w), str(p)): (str(s), str(slug), str(m)) for w, p, s, slug, m in rows}
    found = {
        key: Due(key[0], slug, key[1], mode, None, "retention")
        for key, (state, slug, mode) in runs.items()
        if state in ACTIVE
    }
    wanted = await Workspace.filter(
        Q(retention_contact_days__isnull=False) | Q(retention_message_days__isnull=False)
    )
    for ws in wanted:
        day = rules.day_of(now, ws.timezone)
        known = runs.get((ws.id, day))
        if now < rules.run_at(day, ws.timezone, ws.reset_local_time) or (
            known is not None and known[0] != "failed"
        ):
            continue
        mode = rules.Rules(ws.retention_contact_days, ws.retention_message_days).mode
        found.setdefault(
            (ws.id, day), Due(ws.id, ws.slug, day, mode, ws.retention_set_by, "retention")
        )
    return list(found.values())


async def warn_upcoming(now: datetime) -> list[str]:
    """Emit `reset_soon` (once per workspace and period) for runs due within 48 hours; returns
    the workspace slugs warned now."""
    warned = []
    for ws in await _with_reset():
        period = period_of(now, ws.timezone)
        mode = policy.mode_for(policy.Setting.of(ws), period)
        at = policy.run_at(period, ws.timezone, ws.reset_local_time)
        if mode == "off" or not (at - WARN_BEFORE <= now < at):
            continue
        key = f"reset_soon:{period}"
        seen = await ClientTx().fetch(
            "SELECT 1 FROM event WHERE workspace_id = ? AND key = ?", [ws.id, key]
        )
        if seen:
            continue
        shown = await preview_of(ClientTx(), ws, mode, period)
        payload = {
            "period": period,
            "mode": mode,
            "run_at": at.isoformat(),
            "contacts": shown.contacts,
            "identities": shown.identities,
            "messages": shown.messages,
            "notes": shown.notes,
        }
        async with raw_transaction() as tx:
            if await events.emit(tx, ws.id, "reset_soon", key, payload, now):
                warned.append(ws.slug)
    return warned
