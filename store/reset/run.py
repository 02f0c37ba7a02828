"""Running a scheduled deletion exactly once: claim, snapshot, export, delete in batches, finish
— resumable. A run is a monthly reset (`kind` reset: the contacts of its mode) or a day's
retention rules (`kind` retention: inactive contacts, store.reset.targets, and old messages,
store.reset.old_messages); only the selection differs.

One `reset_run` row per workspace and period (unique) is the claim. The process that holds it
writes its name in `owner` and renews `heartbeat_at` in every transaction it makes; each of
those transactions first checks that it still owns the run (fencing, store.reset.lease), so a
process that stalled past its lease can no longer change anything. Another process takes over
a run whose lease expired, and carries on from the phase recorded in `progress`:

1. snapshot: the contacts to delete go into `reset_target`, with high-water marks of message,
   identity and note ids (redone from scratch when interrupted);
2. export: every target contact and message is written to disk and fsynced (redone from scratch
   when interrupted; a failure here deletes nothing and fails the run);
3. delete (store.reset.delete): batches of targets are deleted, each in one short transaction
   together with the removal of its `reset_target` rows, after appending to the export whatever
   arrived for them since the snapshot. A batch is either wholly done or not at all, so nothing
   is deleted twice or left half-deleted;
4. finish: counts, the manifest, a `reset_done` (`retention_done`) event.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from store import events
from store.access import Actor, audit, system
from store.contacts import as_datetime
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import NotFound
from store.reset import old_messages, targets
from store.reset.delete import delete
from store.reset.export import (
    ExportFiles,
    contact_rows,
    message_lines,
    write_manifest,
)
from store.reset.lease import LostLease, ResetConfig, Run, RunBusy, RunDone, label, log, renew
from store.serial import dump_json, load_json

ACTIVE = ("started", "exported")
EXPORT_BATCH = 1000


async def claim(
    workspace_id: int,
    period: str,
    mode: str,
    config: ResetConfig,
    *,
    trigger: str,
    requested_by: str | None,
    enabled_by: str | None,
    kind: str = "reset",
) -> Run:
    """Claim the run of (workspace, kind, period): create it, or take it over when its lease
    lapsed (or, for a failed run, when retrying). RunBusy / RunDone when it is not ours to run.

    Leases are real time (the clock of the database writes), whatever moment picked the period.
    """
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        made = await tx.fetch(
            "INSERT INTO reset_run (workspace_id, kind, period, mode, enabled_by, state, trigger,"
            " requested_by, owner, heartbeat_at, started_at, counts, progress)"
            " VALUES (?,?,?,?,?,'started',?,?,?,?,?,'{}',?) ON CONFLICT DO NOTHING RETURNING id",
            [
                workspace_id, kind, period, mode, enabled_by, trigger, requested_by, config.owner,
                now, now, dump_json(
                    {"phase": "snapshot", "attempts": 1, "lease": config.lease_seconds}
                ),
            ],
        )  # fmt: skip
        if made:
            run_id = int(made[0][0])
        else:
            run_id = await _take_over(tx, workspace_id, kind, period, config, trigger, requested_by)
        return await _load(tx, run_id, config)


async def _take_over(
    tx: RawTx,
    workspace_id: int,
    kind: str,
    period: str,
    config: ResetConfig,
    trigger: str,
    requested_by: str | None,
) -> int:
    now = datetime.now(UTC)
    rows = await tx.fetch(
        "SELECT id, state, owner, heartbeat_at, finished_at, progress, kind FROM reset_run"
        f" WHERE workspace_id = ? AND period = ?{tx.for_update}",
        [workspace_id, period],
    )
    run_id, state, owner, beat, finished, progress, found_kind = rows[0]
    if found_kind != kind:  # a reset's period is YYYY-MM, a retention run's YYYY-MM-DD
        raise RunBusy(f"period {period} belongs to a {found_kind} run (run {run_id})")
    name = label(kind, period)
    if state == "done":
        raise RunDone(f"{name} already ran (run {run_id}, finished {finished})")
    beat_at = as_datetime(beat) or now
    steps = dict(load_json(progress) or {})
    lease = float(steps.get("lease", config.lease_seconds))  # the owner's promise
    if state in ACTIVE and now - beat_at < timedelta(seconds=lease):
        raise RunBusy(f"{name} is running in {owner} (run {run_id})")
    if state == "failed" and trigger == "schedule":
        ended = as_datetime(finished) or beat_at
        if now - ended < timedelta(seconds=config.retry_failed_after):
            raise RunBusy(f"{name} failed at {ended:%Y-%m-%d %H:%M} UTC; retry pending")
    steps["attempts"] = int(steps.get("attempts", 1)) + 1
    steps["lease"] = config.lease_seconds
    resumed = "exported" if steps.get("phase") == "delete" else "started"
    await tx.execute(
        "UPDATE reset_run SET owner = ?, heartbeat_at = ?, state = ?, error = NULL,"
        " finished_at = NULL, progress = ?, requested_by = COALESCE(?, requested_by)"
        " WHERE id = ?",
        [config.owner, now, resumed, dump_json(steps), requested_by, run_id],
    )
    log.info("reset_resumed", run=run_id, period=period, phase=steps.get("phase"), after=owner)
    return int(run_id)


async def _load(tx: RawTx, run_id: int, config: ResetConfig) -> Run:
    rows = await tx.fetch(
        "SELECT r.id, r.workspace_id, w.slug, w.timezone, w.reset_tag, r.period, r.mode,"
        " r.trigger, r.requested_by, r.progress, r.snapshot_at, r.kind FROM reset_run r"
        " JOIN workspace w ON w.id = r.workspace_id WHERE r.id = ?",
        [run_id],
    )
    if not rows:
        raise NotFound(f"no reset run {run_id}")
    rid, ws, slug, tz, tag, period, mode, trigger, by, progress, snap, kind = rows[0]
    return Run(
        int(rid), int(ws), str(slug), str(tz), str(tag), str(period), str(mode), str(trigger),
        by, config, dict(load_json(progress) or {}), as_datetime(snap), str(kind),
    )  # fmt: skip


async def execute(run: Run) -> None:
    """Carry a claimed run through its remaining phases. On an error the run is marked failed
    (nothing more is deleted) and the error re-raised; LostLease just stops."""
    try:
        for phase, step in (("snapshot", _snapshot), ("export", _export), ("delete", _delete)):
            if run.progress.get("phase") == phase:
                began = time.monotonic()
                await step(run)
                seconds = run.progress.setdefault("seconds", {})
                seconds[phase] = round(seconds.get(phase, 0) + time.monotonic() - began, 2)
        await _finish(run)
    except LostLease:
        log.warning("reset_lease_lost", run=run.id, owner=run.config.owner)
        raise
    except asyncio.CancelledError:
        log.warning("reset_interrupted", run=run.id, phase=run.progress.get("phase"))
        raise
    except Exception as exc:
        await _fail(run, exc)
        raise


async def _snapshot(run: Run) -> None:
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        await tx.execute("DELETE FROM reset_target WHERE run_id = ?", [run.id])
        marks = {}
        for table in ("message", "identity", "note"):
            found = await tx.fetch(f"SELECT max(id) FROM {table}")
            marks[table] = int(found[0][0] or 0)
        run.progress.update(marks=marks, targets=0)
        run.snapshot_at = now
        await renew(tx, run, snapshot_at=now)
    after: int | None = 0
    while after is not None:
        async with raw_transaction() as tx:
            chosen = await targets.for_run(tx, run)
            if chosen is None:
                break
            ids, after = await targets.next_chunk(tx, chosen, after)
            await tx.executemany(
                "INSERT INTO reset_target (run_id, contact_id) VALUES (?,?) ON CONFLICT DO NOTHING",
                [(run.id, cid) for cid in ids],
            )
            await renew(tx, run)
        await run.config.breathe()
    async with raw_transaction() as tx:
        total = await tx.fetch("SELECT count(*) FROM reset_target WHERE run_id = ?", [run.id])
        run.progress.update(phase="export", targets=int(total[0][0]))
        await renew(tx, run)
    log.info("reset_snapshot", run=run.id, mode=run.mode, targets=run.progress["targets"])


async def _export(run: Run) -> None:
    files = ExportFiles(run.folder)
    read = ClientTx()
    marks = run.progress["marks"]
    counts: Counter[str] = Counter()
    try:
        files.start()
        after, beat = 0, time.monotonic()
        while True:
            rows = await read.fetch(
                "SELECT contact_id FROM reset_target WHERE run_id = ? AND contact_id > ?"
                " ORDER BY contact_id LIMIT ?",
                [run.id, after, EXPORT_BATCH],
            )
            if not rows:
                break
            ids = [int(r[0]) for r in rows]
            limits = {"identity": marks["identity"], "note": marks["note"]}
            contacts, held = await contact_rows(read, ids, limits)
            lines = await message_lines(read, ids, up_to=marks["message"])
            files.write_contacts(contacts)
            files.write_messages(lines)
            counts.update(contacts=len(contacts), messages=len(lines), **held)
            after = ids[-1]
            if time.monotonic() - beat > run.config.lease_seconds / 6:
                async with raw_transaction() as tx:
                    await renew(tx, run)
                beat = time.monotonic()
            await asyncio.sleep(0)
        counts["messages"] += await old_messages.export(read, files, run, lambda: _beat(run))
        await files.sync()
        sizes = files.sizes()
    finally:
        files.close()
    run.progress.update(phase="delete", sizes=sizes, exported=dict(counts), deleted={})
    async with raw_transaction() as tx:
        await renew(tx, run, state="exported", export_path=str(run.folder))
    log.info("reset_exported", run=run.id, folder=str(run.folder), **counts)


async def _beat(run: Run) -> None:
    async with raw_transaction() as tx:
        await renew(tx, run)


async def _delete(run: Run) -> None:
    """The delete phase: the contacts in batches, then the old messages (retention)."""
    await delete(run)
    await old_messages.delete(run)


async def _finish(run: Run) -> None:
    deleted = {k: int(v) for k, v in run.progress.get("deleted", {}).items()}
    for name in ("contacts", "identities", "messages", "notes"):
        deleted.setdefault(name, 0)
    summary = {
        "workspace": run.slug,
        "period": run.period,
        "mode": run.mode,
        "trigger": run.trigger,
        "deleted": deleted,
        "exported": run.progress.get("exported", {}),
        "late": run.progress.get("late", {}),
        "seconds": run.progress.get("seconds", {}),
        "batches": run.progress.get("batches", 0),
        "slowest_batch_seconds": run.progress.get("slowest_batch_seconds", 0),
    }
    await write_manifest(run.folder, summary)
    now = datetime.now(UTC)
    run.progress["phase"] = "done"
    payload = {"period": run.period, "mode": run.mode, **deleted, "export": str(run.folder)}
    async with raw_transaction() as tx:
        await renew(tx, run, state="done", finished_at=now, counts=dump_json(deleted))
        key = f"{run.kind}_done:{run.period}"
        await events.emit(tx, run.workspace_id, f"{run.kind}_done", key, payload, now)
        await audit(tx, _actor(run), f"{run.kind}.done", f"run:{run.id}", payload, at=now)
    log.info(
        f"{run.kind}_done", run=run.id, workspace=run.slug, seconds=summary["seconds"], **payload
    )


async def _fail(run: Run, exc: BaseException) -> None:
    now = datetime.now(UTC)
    reason = f"{type(exc).__name__}: {exc}"
    if run.progress.get("phase") in ("snapshot", "export"):
        reason = f"nothing was deleted; the export could not be written: {reason}"
    log.error("reset_failed", run=run.id, workspace=run.slug, error=reason, exc_info=exc)
    attempts = int(run.progress.get("attempts", 1))
    payload = {"period": run.period, "mode": run.mode, "error": reason, "attempt": attempts}
    try:
        async with raw_transaction() as tx:
            await renew(tx, run, state="failed", finished_at=now, error=reason)
            key = f"{run.kind}_failed:{run.period}:{attempts}"
            await events.emit(tx, run.workspace_id, f"{run.kind}_failed", key, payload, now)
            await audit(tx, _actor(run), f"{run.kind}.failed", f"run:{run.id}", payload, at=now)
    except LostLease:
        pass


def _actor(run: Run) -> Actor:
    """Who the run's audit lines name: whoever ran it by hand, else the scheduler."""
    return system(run.workspace_id, run.requested_by or "scheduler")
