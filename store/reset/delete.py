"""The delete phase of a run (reset or retention): batches of targets, each one transaction.

Each batch locks the targets' identities (PostgreSQL, in id order, as ingest reads them), appends
to the export what arrived for them since the snapshot, deletes them with everything of theirs
and removes them from `reset_target`, and renews the run's lease: done wholly or not at all. The
batch size adapts toward `batch_seconds`; between two batches the webhooks go first.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from store.contacts import as_datetime, delete_rows
from store.db import ClientTx, RawTx, is_transient, raw_transaction
from store.periods import next_period
from store.reset.export import ExportFiles, contact_rows, message_lines
from store.reset.lease import ResetConfig, Run, log, renew


async def delete(run: Run) -> None:
    """The delete phase: batches until no target is left (the export file is appended to)."""
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
            await _keep_wal_small()
    finally:
        files.close()


# A long delete with webhooks writing beside it never lets SQLite's checkpointer catch up: the WAL
# grew to several GB, and every read and write slowed with it (webhook p99 789 ms, single waits
# of 2.6 s during an `all` run on a million contacts). Restarting it at 64 MiB: p99 133 ms, and
# the deletes themselves 14 % faster.
WAL_FRAMES = 16384  # 64 MiB of 4 KiB pages


async def _keep_wal_small() -> None:
    """SQLite: when the WAL passed WAL_FRAMES, checkpoint it and start it over (RESTART waits
    for the writers of the moment, then copies at most WAL_FRAMES pages)."""
    tx = ClientTx()
    if tx.dialect != "sqlite":
        return
    rows = await tx.fetch("PRAGMA wal_checkpoint(PASSIVE)")
    if rows and int(rows[0][1]) > WAL_FRAMES:
        await tx.fetch("PRAGMA wal_checkpoint(RESTART)")


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
    await renew(tx, run)
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
    if not identities or run.kind != "reset":  # retention refunds nothing (SPEC 2)
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
