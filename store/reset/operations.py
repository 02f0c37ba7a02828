"""The monthly reset as operations: status, mode changes, preview, run now, run history.

Reading status, previews and runs needs the admin role; changing the mode or time and running
a reset needs the owner. The policy rules are in store.reset.policy, the run itself in
store.reset.run, and which contacts go in store.reset.targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.access import Actor, audit, require
from store.contacts import as_datetime
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Conflict, Invalid, NotFound
from store.models import Workspace
from store.periods import next_period, period_of, period_start, zone
from store.reset import lease, policy, targets
from store.reset.run import claim, execute
from store.serial import load_json

RECENT_RUNS = 5


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One reset run as the surfaces show it."""

    id: int
    period: str
    mode: str
    trigger: str
    state: str  # started | exported | done | failed
    enabled_by: str | None
    requested_by: str | None
    counts: dict[str, int]
    export_path: str | None
    started_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ResetStatus:
    """A workspace's reset policy now, the next run, and the latest runs."""

    workspace: str
    mode: str  # in force this month
    period: str
    pending_mode: str | None
    pending_from: str | None
    tag: str
    local_time: str
    timezone: str
    next_run_at: datetime | None  # UTC; None when no run is due this month
    next_run_local: str | None
    last_change_day: str  # the last local date a wider mode still counts for this month
    set_by: str | None
    set_at: datetime | None
    runs: list[RunInfo]
    message: str = ""


@dataclass(frozen=True, slots=True)
class Preview:
    """What a reset would delete now, without deleting: counts and a sample."""

    workspace: str
    mode: str
    period: str
    contacts: int
    identities: int
    messages: int
    notes: int
    sample: list[dict[str, Any]]


async def _workspace(actor: Actor) -> Workspace:
    ws = await Workspace.get_or_none(id=actor.workspace_id)
    if ws is None:
        raise NotFound("the workspace no longer exists")
    return ws


async def tag_in_use(actor: Actor, *, now: datetime | None = None) -> bool:
    """Whether tagging the reset tag does anything: the reset in force this period, or set for
    the next, deletes the tagged contacts (agents may ask: they tag `Borrar`)."""
    require(actor, "agent")
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    setting = policy.Setting.of(ws)
    period = period_of(now, ws.timezone)
    modes = (policy.mode_for(setting, period), policy.mode_for(setting, next_period(period)))
    return "tagged" in modes


async def status(actor: Actor, *, now: datetime | None = None, message: str = "") -> ResetStatus:
    """The reset policy in force, what is pending, when the next run is due, recent runs."""
    require(actor, "admin")
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    setting = policy.Setting.of(ws)
    period = period_of(now, ws.timezone)
    mode = policy.mode_for(setting, period)
    runs = await list_runs(actor, limit=RECENT_RUNS)
    due = policy.run_at(period, ws.timezone, ws.reset_local_time)
    ran = any(r.period == period and r.state == "done" for r in runs)
    upcoming: datetime | None = None
    if mode != "off" and not ran:
        upcoming = due
    elif policy.mode_for(setting, next_period(period)) != "off":
        upcoming = policy.run_at(next_period(period), ws.timezone, ws.reset_local_time)
    pending = setting.pending_mode if (setting.pending_period or "") > period else None
    return ResetStatus(
        ws.slug,
        mode,
        period,
        pending,
        setting.pending_period if pending else None,
        ws.reset_tag,
        ws.reset_local_time,
        ws.timezone,
        upcoming,
        _local(upcoming, ws.timezone),
        policy.last_change_day(period).isoformat(),
        ws.reset_set_by,
        as_datetime(ws.reset_set_at),
        runs,
        message,
    )


def _local(moment: datetime | None, tz: str) -> str | None:
    return None if moment is None else moment.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


async def set_mode(actor: Actor, mode: str, *, now: datetime | None = None) -> ResetStatus:
    """Set the reset mode (owner). A wider mode set less than 2 days before the month's last
    day counts from next month; the answer's `message` says from which month."""
    require(actor, "owner")
    try:
        new = policy.check_mode(mode)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    setting = policy.Setting.of(ws)
    before = policy.mode_for(setting, period_of(now, ws.timezone))
    change = policy.change(setting, new, now)
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE workspace SET reset_mode = ?, reset_pending_mode = ?,"
            " reset_pending_period = ?, reset_set_by = ?, reset_set_at = ? WHERE id = ?",
            [change.mode, change.pending_mode, change.pending_period, actor.name, now, ws.id],
        )
        detail = {"from": before, "to": new, "applies_from": change.applies_from}
        await audit(tx, actor, "reset.mode", ws.slug, detail)
    return await status(actor, now=now, message=_explain(new, change, ws, now))


def _explain(new: str, change: policy.Change, ws: Workspace, now: datetime) -> str:
    month = policy.month_name(change.applies_from)
    what = {
        "off": "Monthly reset turned off",
        "all": "Monthly reset will delete every contact",
        "tagged": f"Monthly reset will delete the contacts tagged {ws.reset_tag}",
    }[new]
    if change.deferred:
        deadline = policy.last_change_day(period_of(now, ws.timezone)).isoformat()
        return (
            f"{what}, from {month} on: changes that delete more must be made by {deadline}"
            f" to count for this month."
        )
    if new == "off":
        return f"{what}, from now on ({month} included)."
    run = policy.run_at(change.applies_from, ws.timezone, ws.reset_local_time)
    return f"{what}, starting with {month}: next run {_local(run, ws.timezone)}."


async def set_time(actor: Actor, local_time: str) -> ResetStatus:
    """Set the local time of day the reset runs on the month's last day (owner)."""
    require(actor, "owner")
    try:
        value = policy.check_local_time(local_time)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    ws = await _workspace(actor)
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE workspace SET reset_local_time = ? WHERE id = ?", [value, actor.workspace_id]
        )
        detail = {"from": ws.reset_local_time, "to": value}
        await audit(tx, actor, "reset.time", ws.slug, detail)
    return await status(actor, message=f"The reset runs at {value} ({ws.timezone}).")


async def preview(actor: Actor, mode: str | None = None, *, now: datetime | None = None) -> Preview:
    """Counts and a sample of what a reset would delete now, deleting nothing (admin).

    `mode` defaults to the mode in force this month (else the one pending for next month).
    """
    require(actor, "admin")
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    period = period_of(now, ws.timezone)
    chosen_mode = _mode_or_default(ws, mode, period)
    return await preview_of(ClientTx(), ws, chosen_mode, period)


def _mode_or_default(ws: Workspace, mode: str | None, period: str) -> str:
    if mode:
        try:
            return policy.check_mode(mode)
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    setting = policy.Setting.of(ws)
    current = policy.mode_for(setting, period)
    return current if current != "off" else policy.mode_for(setting, next_period(period))


async def preview_of(tx: RawTx, ws: Workspace, mode: str, period: str) -> Preview:
    """The preview of a reset of `ws` in `mode` for `period`."""
    before = period_start(next_period(period), ws.timezone)
    chosen = await targets.selection(tx, ws.id, mode, ws.reset_tag, before)
    counts = await targets.count(tx, chosen)
    sample = await targets.sample(tx, chosen)
    return Preview(
        ws.slug, mode, period, counts.contacts, counts.identities, counts.messages, counts.notes,
        sample,
    )  # fmt: skip


async def run_now(
    actor: Actor,
    config: lease.ResetConfig,
    mode: str | None = None,
    *,
    now: datetime | None = None,
) -> RunInfo:
    """Run this month's reset now (owner), export first; resumes a failed or abandoned run.

    Without `mode`, the mode in force this month; with it, that mode (the owner decides now,
    the 2-day rule is for the scheduled run). Refused when this month's reset already ran.
    A run that fails (the export cannot be written, the database refuses) comes back with
    state `failed` and its error; it is recorded and notified, and running again resumes it.
    """
    return await execute_here(actor, await claim_now(actor, config, mode, now=now))


async def execute_here(actor: Actor, run: lease.Run) -> RunInfo:
    """Carry a claimed run (reset or retention) through in this task and show how it ended."""
    try:
        await execute(run)
    except lease.LostLease as exc:
        raise lease.RunBusy(f"another process took {run.label} over") from exc
    except Exception:  # recorded on the run as failed (with its event), shown to the caller
        pass
    return await get_run(actor, run.id, run.kind)


async def claim_now(
    actor: Actor,
    config: lease.ResetConfig,
    mode: str | None = None,
    *,
    now: datetime | None = None,
) -> lease.Run:
    """Claim this month's run for a manual reset (owner); `execute` (store.reset.run) runs it."""
    require(actor, "owner")
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    period = period_of(now, ws.timezone)
    unfinished = await ClientTx().fetch(
        "SELECT mode FROM reset_run WHERE workspace_id = ? AND kind = 'reset' AND period = ?"
        " AND state <> 'done'",
        [ws.id, period],
    )
    if mode:
        chosen = _mode_or_default(ws, mode, period)
    elif unfinished:  # resume it as it began
        chosen = str(unfinished[0][0])
    else:
        chosen = policy.mode_for(policy.Setting.of(ws), period)
    if chosen == "off":
        raise Conflict(
            "the monthly reset is off for this month; enable all or tagged first,"
            " or name the mode to run (all or tagged)"
        )
    return await claim(
        ws.id,
        period,
        chosen,
        config,
        trigger="manual",
        requested_by=actor.name,
        enabled_by=ws.reset_set_by,
    )


RUN_SQL = (
    "SELECT id, period, mode, trigger, state, enabled_by, requested_by, counts, export_path,"
    " started_at, finished_at, error FROM reset_run WHERE workspace_id = ? AND kind = ?"
)


def _run_info(row: Any) -> RunInfo:
    rid, period, mode, trigger, state, enabled, requested, counts, path, start, end, err = row
    return RunInfo(
        int(rid), str(period), str(mode), str(trigger), str(state), enabled, requested,
        {k: int(v) for k, v in (load_json(counts) or {}).items()}, path,
        as_datetime(start) or datetime.now(UTC), as_datetime(end), err,
    )  # fmt: skip


async def list_runs(actor: Actor, *, limit: int = 50, kind: str = "reset") -> list[RunInfo]:
    """The workspace's runs of `kind` (reset or retention), newest first (admin)."""
    require(actor, "admin")
    rows = await ClientTx().fetch(
        f"{RUN_SQL} ORDER BY id DESC LIMIT ?",
        [actor.workspace_id, kind, max(1, min(limit, 500))],
    )
    return [_run_info(r) for r in rows]


async def get_run(actor: Actor, run_id: int, kind: str = "reset") -> RunInfo:
    """One run of `kind` of the workspace (admin)."""
    require(actor, "admin")
    rows = await ClientTx().fetch(f"{RUN_SQL} AND id = ?", [actor.workspace_id, kind, run_id])
    if not rows:
        raise NotFound(f"no {kind} run {run_id} in this workspace")
    return _run_info(rows[0])
