"""Message retention: a run's second selection, messages older than a cutoff (contacts stay).

The same phases as the contacts: the snapshot fixes the highest message id (marks), the export
appends every selected message to `messages.jsonl` before anything is deleted, and the delete
phase removes them in short transactions that renew the run's lease, recording the last id
done so a resumed run carries on. Messages of the run's target contacts are left out: they go
(and were exported) with their contacts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.db import RawTx, raw_transaction
from store.reset import rules
from store.reset.export import ExportFiles, message_page
from store.reset.lease import Run, log, renew

BATCH = 2000


@dataclass(frozen=True, slots=True)
class OldMessages:
    """A workspace's messages received before `cutoff`, up to message id `up_to` (the
    snapshot's; None: no bound), leaving out those of contacts `keep_out` selects (SQL of ids,
    its parameters)."""

    workspace_id: int
    cutoff: datetime
    up_to: int | None = None
    keep_out: tuple[str, list[Any]] | None = None

    def where(self) -> tuple[str, list[Any]]:
        """A condition over `message m` and its parameters."""
        sql, params = "m.workspace_id = ? AND m.received_at < ?", [self.workspace_id, self.cutoff]
        if self.up_to is not None:
            sql += " AND m.id <= ?"
            params.append(self.up_to)
        if self.keep_out is not None:
            sql += f" AND m.contact_id NOT IN ({self.keep_out[0]})"
            params += self.keep_out[1]
        return sql, params


def for_run(run: Run) -> OldMessages | None:
    """The messages retention run `run` deletes (None: no message rule, or not retention)."""
    days = rules.Rules.of_mode(run.mode).message_days if run.kind == "retention" else None
    if days is None:
        return None
    return OldMessages(
        run.workspace_id,
        rules.cutoff(run.period, run.timezone, days),
        int(run.progress["marks"]["message"]),
        ("SELECT t.contact_id FROM reset_target t WHERE t.run_id = ?", [run.id]),
    )


async def count(tx: RawTx, chosen: OldMessages | None) -> int:
    """How many messages `chosen` selects."""
    if chosen is None:
        return 0
    where, params = chosen.where()
    rows = await tx.fetch(f"SELECT count(*) FROM message m WHERE {where}", params)
    return int(rows[0][0])


async def export(
    read: RawTx, files: ExportFiles, run: Run, beat: Callable[[], Awaitable[None]]
) -> int:
    """Append the run's old messages to `messages.jsonl`; returns how many (`beat` renews the
    lease now and then)."""
    chosen = for_run(run)
    if chosen is None:
        return 0
    where, params = chosen.where()
    after: int | None = 0
    total = 0
    while after is not None:
        lines, after = await message_page(read, where, params, after, BATCH)
        files.write_messages(lines)
        total += len(lines)
        await beat()
    return total


async def delete(run: Run) -> None:
    """Delete the run's old messages in batches, each with its lease renewal and progress."""
    chosen = for_run(run)
    if chosen is None:
        return
    where, params = chosen.where()
    while True:
        began = time.monotonic()
        async with raw_transaction() as tx:
            after = int(run.progress.get("messages_after", 0))
            rows = await tx.fetch(
                f"DELETE FROM message WHERE id IN (SELECT m.id FROM message m WHERE {where}"
                " AND m.id > ? ORDER BY m.id LIMIT ?) RETURNING id",
                [*params, after, run.config.message_batch],
            )
            if not rows:
                return
            deleted = run.progress.setdefault("deleted", {})
            deleted["messages"] = int(deleted.get("messages", 0)) + len(rows)
            run.progress["messages_after"] = max(int(r[0]) for r in rows)
            run.progress["batches"] = int(run.progress.get("batches", 0)) + 1
            await renew(tx, run)
        slowest = float(run.progress.get("slowest_batch_seconds", 0))
        run.progress["slowest_batch_seconds"] = round(max(slowest, time.monotonic() - began), 3)
        log.info("retention_messages_batch", run=run.id, deleted=len(rows))
        await run.config.breathe()
