"""Running a reset exactly once: claim, snapshot, export, delete in batches, finish — resumable.

One `reset_run` row per workspace and period (unique) is the claim. The process that holds it
writes its name in `owner` and renews `heartbeat_at` in every transaction it makes; each of
those transactions first checks that it still owns the run (fencing), so a process that
stalled past its lease can no longer change anything. Another process takes over a run whose
lease expired, and carries on from the phase recorded in `progress`:

1. snapshot: the contacts to delete go into `reset_target`, with high-water marks of message,
   identity and note ids (redone from scratch when interrupted);
2. export: every target contact and message is written to disk and fsynced (redone from scratch
   when interrupted; a failure here deletes nothing and fails the run);
3. delete: batches of targets are deleted, each in one short transaction together with the
   removal of its `reset_target` rows, after appending to the export whatever arrived for them
   since the snapshot. A batch is either wholly done or not at all, so nothing is deleted twice
   or left half-deleted;
4. finish: counts, the manifest, a `reset_done` event.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from store import events, reset_targets
from store.contacts import as_datetime, delete_rows
from store.db import ClientTx, RawTx, is_transient, raw_transaction
from store.errors import Conflict, NotFound
from store.periods import next_period, period_start
from store.reset_export import (
    CONTACTS,
    MESSAGES,
    ExportFiles,
    contact_rows,
    folder_for,
    message_lines,
    write_manifest,
)
from store.serial import dump_json, load_json

log = structlog.get_logger("contactgate.reset")
ACTIVE = ("started", "exported")
EXPORT_BATCH = 1000


def process_name() -> str:
    """A name for this process in `reset_run.owner`: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class ResetConfig:
    """How runs behave: where exports go, the lease, and the pace of deleting."""

    export_dir: Path
    lease_seconds: float = 60.0
    batch: int = 500  # contacts per delete transaction to start with; adapted to batch_seconds
    batch_seconds: float = 0.12  # aim for delete transactions this long (webhooks wait)
    pause_seconds: float = 0.005  # between delete transactions: webhooks get the lock
    retry_failed_after: float = 3600.0  # the scheduler retries a failed run this much later
    owner: str = field(default_factory=process_name)
    # awaited between write transactions: in the gateway, until the webhook writer's queue is
    # committed (webhooks go first); elsewhere a plain pause
    between: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)

    async def breathe(self) -> None:
        """Give the database to the webhooks between two of the run's write transactions."""
        await asyncio.sleep(self.pause_seconds)
        if self.between is not None:
            await self.between()


class LostLease(Exception):
    """Another process took the run over (this one stalled past its lease)."""


class RunBusy(Conflict):
    """The run is in progress in another process."""


class RunDone(Conflict):
    """This period's reset already ran."""


@dataclass(slots=True)
class Run:
    """A claimed run as its owner sees it."""

    id: int
    workspace_id: int
    slug: str
    timezone: str
    tag: str
    period: str
    mode: str
    trigger: str
    requested_by: str | None
    config: ResetConfig
    progress: dict[str, Any]
    snapshot_at: datetime | None = None

    @property
    def folder(self) -> Path:
        """Where this run's export goes."""
        return folder_for(self.config.export_dir, self.slug, self.period, self.id)


async def claim(
    workspace_id: int,
    period: str,
    mode: str,
    config: ResetConfig,
    *,
    trigger: str,
    requested_by: str | None,
    enabled_by: str | None,
) -> Run:
    """Claim the run of (workspace, period): create it, or take it over when its lease lapsed
    (or, for a failed run, when retrying). RunBusy / RunDone when it is not ours to run.

    Leases are real time (the clock of the database writes), whatever moment picked the period.
    """
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        made = await tx.fetch(
            "INSERT INTO reset_run (workspace_id, period, mode, enabled_by, state, trigger,"
            " requested_by, owner, heartbeat_at, started_at, counts, progress)"
            " VALUES (?,?,?,?,'started',?,?,?,?,?,'{}',?) ON CONFLICT DO NOTHING RETURNING id",
            [
                workspace_id, period, mode, enabled_by, trigger, requested_by, config.owner,
                now, now, dump_json(
                    {"phase": "snapshot", "attempts": 1, "lease": config.lease_seconds}
                ),
            ],
        )  # fmt: skip
        if made:
            run_id = int(made[0][0])
        else:
            run_id = await _take_over(tx, workspace_id, period, config, trigger, requested_by, now)
        return await _load(tx, run_id, config)


async def _take_over(
    tx: RawTx,
    workspace_id: int,
    period: str,
    config: ResetConfig,
    trigger: str,
    requested_by: str | None,
    now: datetime,
) -> int:
    rows = await tx.fetch(
        "SELECT id, state, owner, heartbeat_at, finished_at, progress FROM reset_run"
        f" WHERE workspace_id = ? AND period = ?{tx.for_update}",
        [workspace_id, period],
    )
    run_id, state, owner, beat, finished, progress = rows[0]
    if state == "done":
        raise RunDone(f"the reset of {period} already ran (run {run_id}, finished {finished})")
    beat_at = as_datetime(beat) or now
    steps = dict(load_json(progress) or {})
    lease = float(steps.get("lease", config.lease_seconds))  # the owner's promise
    if state in ACTIVE and now - beat_at < timedelta(seconds=lease):
        raise RunBusy(f"the reset of {period} is running in {owner} (run {run_id})")
    if state == "failed" and trigger == "schedule":
        ended = as_datetime(finished) or beat_at
        if now - ended < timedelta(seconds=config.retry_failed_after):
            raise RunBusy(
                f"the reset of {period} failed at {ended:%Y-%m-%d %H:%M} UTC; retry pending"
            )
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
        " r.trigger, r.requested_by, r.progress, r.snapshot_at FROM reset_run r"
        " JOIN workspace w ON w.id = r.workspace_id WHERE r.id = ?",
        [run_id],
    )
    if not rows:
        raise NotFound(f"no reset run {run_id}")
    rid, ws, slug, tz, tag, period, mode, trigger, by, progress, snap = rows[0]
    return Run(
        int(rid), int(ws), str(slug), str(tz), str(tag), str(period), str(mode), str(trigger),
        by, config, dict(load_json(progress) or {}), as_datetime(snap),
    )  # fmt: skip


async def _renew(tx: RawTx, run: Run, **columns: Any) -> None:
    """Check the lease is still ours and renew it, writing `progress` and any `columns`."""
    sets = ", ".join(f"{name} = ?" for name in columns)
    rows = await tx.fetch(
        f"UPDATE reset_run SET heartbeat_at = ?, progress = ?{', ' + sets if sets else ''}"
        " WHERE id = ? AND owner = ? RETURNING id",
        [datetime.now(UTC), dump_json(run.progress), *columns.values(), run.id, run.config.owner],
    )
    if not rows:
        raise LostLease(f"reset run {run.id} is no longer owned by {run.config.owner}")


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
    before = period_start(next_period(run.period), run.timezone)
    async with raw_transaction() as tx:
        await tx.execute("DELETE FROM reset_target WHERE run_id = ?", [run.id])
        marks = {}
        for table in ("message", "identity", "note"):
            found = await tx.fetch(f"SELECT max(id) FROM {table}")
            marks[table] = int(found[0][0] or 0)
        run.progress.update(marks=marks, targets=0)
        run.snapshot_at = now
        await _renew(tx, run, snapshot_at=now)
    after: int | None = 0
    while after is not None:
        async with raw_transaction() as tx:
            chosen = await reset_targets.selection(tx, run.workspace_id, run.mode, run.tag, before)
            if chosen is None:
                break
            ids, after = await reset_targets.next_chunk(tx, chosen, after)
            await tx.executemany(
                "INSERT INTO reset_target (run_id, contact_id) VALUES (?,?) ON CONFLICT DO NOTHING",
                [(run.id, cid) for cid in ids],
            )
            await _renew(tx, run)
        await run.config.breathe()
    async with raw_transaction() as tx:
        total = await tx.fetch("SELECT count(*) FROM reset_target WHERE run_id = ?", [run.id])
        run.progress.update(phase="export", targets=int(total[0][0]))
        await _renew(tx, run)
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
                    await _renew(tx, run)
                beat = time.monotonic()
            await asyncio.sleep(0)
        await files.sync()
        sizes = files.sizes()
    finally:
        files.close()
    run.progress.update(phase="delete", sizes=sizes, exported=dict(counts), deleted={})
    async with raw_transaction() as tx:
        await _renew(tx, run, state="exported", export_path=str(run.folder))
    log.info("reset_exported", run=run.id, folder=str(run.folder), **counts)


async def _delete(run: Run) -> None:
    files = ExportFiles(run.folder)
    files.reopen(run.progress["sizes"])
    size = run.config.batch
    try:
        while True:
            began = time.monotonic()
            done = await _retrying(run, files, size)
            elapsed = time.monotonic() - began
            slowest = float(run.progress.get("slowest_batch_seconds", 0))
            run.progress["slowest_batch_seconds"] = round(max(slowest, elapsed), 3)
            if done:
                break
            size = _next_size(size, elapsed, run.config)
            await run.config.breathe()
    finally:
        files.close()


MAX_BATCH = 2000
RETRIES = 5


async def _retrying(run: Run, files: ExportFiles, size: int) -> bool:
    """One delete batch in its own transaction, tried again after a deadlock (PostgreSQL
    chose it to break one with a webhook batch) or a lock timeout; the export appended by a
    failed attempt is cut back first."""
    for attempt in range(1, RETRIES + 1):
        sizes = files.sizes()
        try:
            async with raw_transaction() as tx:
                return await _delete_batch(tx, run, files, size)
        except Exception as exc:
            if not is_transient(exc) or attempt == RETRIES:
                raise
            log.warning("reset_batch_retry", run=run.id, attempt=attempt, error=str(exc))
            files.truncate(sizes)
            run.progress["sizes"] = sizes
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _next_size(size: int, elapsed: float, config: ResetConfig) -> int:
    """Grow (by half at most) or shrink the batch toward `batch_seconds` per transaction.

    Growth is slow and capped: one slow batch holds every webhook behind the write lock.
    """
    grown = size + size // 2 + 1
    wanted = grown if elapsed <= 0 else int(size * config.batch_seconds / elapsed)
    return max(min(20, config.batch), min(MAX_BATCH, wanted, grown))


async def _delete_batch(tx: RawTx, run: Run, files: ExportFiles, size: int) -> bool:
    """Delete the next `size` targets (True when none are left)."""
    rows = await tx.fetch(
        "SELECT contact_id FROM reset_target WHERE run_id = ? ORDER BY contact_id LIMIT ?",
        [run.id, size],
    )
    if not rows:
        return True
    targets = [int(r[0]) for r in rows]
    marks = ",".join("?" * len(targets))
    if tx.for_update:  # PostgreSQL: ingest reads identities FOR SHARE in id order, so lock
        # them first, in the same order: a message either lands before (and is exported here)
        # or finds its sender gone and starts a new contact.
        await tx.fetch(
            f"SELECT id FROM identity WHERE contact_id IN ({marks}) OR contact_id IN"
            f" (SELECT id FROM contact WHERE merged_into_id IN ({marks})) ORDER BY id FOR UPDATE",
            [*targets, *targets],
        )
    merged = await tx.fetch(
        f"SELECT s.id, EXISTS (SELECT 1 FROM reset_target r WHERE r.run_id = ?"
        f" AND r.contact_id = s.id) FROM contact s WHERE s.merged_into_id IN ({marks})",
        [run.id, *targets],
    )
    # Contacts merged into these go with them now, whether they are targets of a later batch
    # (exported already) or strays merged in after the snapshot (exported here, in full).
    targets += [int(cid) for cid, listed in merged if listed and int(cid) not in targets]
    strays = [int(cid) for cid, listed in merged if not listed]
    await _append_late(tx, run, files, targets, strays)
    ids = targets + strays
    late = run.progress.setdefault("deleted", {})
    for name, n in (await _counts(tx, run, ids)).items():
        late[name] = int(late.get(name, 0)) + n
    await delete_rows(tx, ids)
    done = ",".join("?" * len(targets))
    await tx.execute(
        f"DELETE FROM reset_target WHERE run_id = ? AND contact_id IN ({done})",
        [run.id, *targets],
    )
    run.progress["sizes"] = files.sizes()
    run.progress["batches"] = int(run.progress.get("batches", 0)) + 1
    await _renew(tx, run)
    return False


async def _append_late(
    tx: RawTx, run: Run, files: ExportFiles, targets: list[int], strays: list[int]
) -> None:
    """Append to the export what the snapshot did not see: messages, notes and identities
    added since, changed contacts (their final row), and contacts merged in since."""
    marks = run.progress["marks"]
    since = run.snapshot_at or datetime.now(UTC)
    lines = await message_lines(tx, targets, after=marks["message"])
    lines += await message_lines(tx, strays)
    q = ",".join("?" * len(targets))
    changed = await tx.fetch(
        f"SELECT id FROM contact c WHERE id IN ({q}) AND (c.updated_at > ?"
        " OR EXISTS (SELECT 1 FROM message m WHERE m.contact_id = c.id AND m.id > ?)"
        " OR EXISTS (SELECT 1 FROM identity i WHERE i.contact_id = c.id AND i.id > ?)"
        " OR EXISTS (SELECT 1 FROM note n WHERE n.contact_id = c.id AND n.id > ?)"
        " OR EXISTS (SELECT 1 FROM contact_tag t WHERE t.contact_id = c.id AND t.created_at > ?))",
        [*targets, since, marks["message"], marks["identity"], marks["note"], since],
    )
    again = [int(r[0]) for r in changed] + strays
    rows, _held = await contact_rows(tx, again)
    if not rows and not lines:
        return
    files.write_contacts(rows)
    files.write_messages(lines)
    await files.sync()
    late = run.progress.setdefault("late", {})
    late["contacts"] = int(late.get("contacts", 0)) + len(rows)
    late["messages"] = int(late.get("messages", 0)) + len(lines)


async def _counts(tx: RawTx, run: Run, ids: list[int]) -> dict[str, int]:
    """What deleting `ids` removes; takes back from the next period's carry-over the
    identities it counted when it was made before this run finished (a late run)."""
    q = ",".join("?" * len(ids))
    found = await tx.fetch(
        f"SELECT (SELECT count(*) FROM message WHERE contact_id IN ({q})),"
        f" (SELECT count(*) FROM note WHERE contact_id IN ({q}))",
        ids * 2,
    )
    by_channel = await tx.fetch(
        f"SELECT channel_id, created_at FROM identity WHERE contact_id IN ({q})", ids
    )
    await _uncarry(tx, run, by_channel)
    existing = await tx.fetch(f"SELECT count(*) FROM contact WHERE id IN ({q})", ids)
    return {
        "contacts": int(existing[0][0]),
        "identities": len(by_channel),
        "messages": int(found[0][0]),
        "notes": int(found[0][1]),
    }


async def _uncarry(tx: RawTx, run: Run, identities: list[Any]) -> None:
    if not identities:
        return
    rows = await tx.fetch(
        f"SELECT id, created_at FROM plan_period WHERE workspace_id = ? AND period = ?"
        f"{tx.for_update}",
        [run.workspace_id, next_period(run.period)],
    )
    if not rows:
        return
    period_id, made = int(rows[0][0]), as_datetime(rows[0][1])
    carried = Counter(
        int(ch) for ch, at in identities if made is None or (as_datetime(at) or made) < made
    )
    if not carried:
        return
    total = sum(carried.values())
    await tx.execute(
        "UPDATE plan_period SET carried_over = carried_over - ?, used = used - ? WHERE id = ?",
        [total, total, period_id],
    )
    await tx.executemany(
        "UPDATE period_channel_usage SET carried_over = carried_over - ?"
        " WHERE plan_period_id = ? AND channel_id = ?",
        [(n, period_id, ch) for ch, n in carried.items()],
    )


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
        await _renew(tx, run, state="done", finished_at=now, counts=dump_json(deleted))
        key = f"reset_done:{run.period}"
        await events.emit(tx, run.workspace_id, "reset_done", key, payload, now)
        await _audit(tx, run, "reset.done", payload, now)
    log.info("reset_done", run=run.id, workspace=run.slug, seconds=summary["seconds"], **payload)


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
            await _renew(tx, run, state="failed", finished_at=now, error=reason)
            key = f"reset_failed:{run.period}:{attempts}"
            await events.emit(tx, run.workspace_id, "reset_failed", key, payload, now)
            await _audit(tx, run, "reset.failed", payload, now)
    except LostLease:
        pass


async def _audit(tx: RawTx, run: Run, action: str, detail: dict[str, Any], now: datetime) -> None:
    await tx.execute(
        "INSERT INTO audit_log (workspace_id, actor, surface, action, target, detail, at)"
        " VALUES (?,?,?,?,?,?,?)",
        [
            run.workspace_id,
            run.requested_by or "scheduler",
            "system",
            action,
            f"run:{run.id}",
            dump_json(detail),
            now,
        ],
    )


def export_files(run: Run) -> dict[str, str]:
    """Paths of the run's export files."""
    return {name: str(run.folder / name) for name in (CONTACTS, MESSAGES)}
