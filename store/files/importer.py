"""CSV import of contacts: upsert by identifier, then email, then phone, in streamed batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from store.access import Actor, audit, require
from store.contacts import workspace_region
from store.db import ClientTx, RawTx, raw_transaction
from store.files import csvio
from store.files.csvio import Row
from store.files.import_batch import Batch
from store.files.import_conflicts import OnConflict, Written

BATCH_ROWS = 2000
PARALLEL_MIN_BYTES = 4 << 20  # smaller files are cleaned in this process (no worker start-up)
RETRIES = 3  # a batch that lost a race with a concurrent writer (unique value, deadlock) is redone
RACES = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)
OUTCOMES = ("created", "updated", "skipped", "failed", "conflicts")
Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    conflicts: int  # rows that would overwrite another person: not written (see on_conflict)
    errors_path: str | None
    encoding: str
    delimiter: str
    dry_run: bool
    on_conflict: OnConflict


@dataclass(slots=True)
class Counts:
    """Outcomes of the rows written so far, and the contacts those rows resolved to."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    conflicts: int = 0
    written: Written = field(default_factory=Written)

    @property
    def rows(self) -> int:
        """Rows read so far."""
        return sum(getattr(self, k) for k in OUTCOMES)

    def result(
        self, errors_path: str | None, fmt: csvio.Format, dry_run: bool, mode: OnConflict
    ) -> ImportResult:
        """The final result of an import with these counts."""
        return ImportResult(
            *(self.rows, self.created, self.updated, self.skipped, self.failed, self.conflicts),
            *(errors_path, fmt.encoding, fmt.delimiter, dry_run, mode),
        )

    def detail(self) -> dict[str, int]:
        """The counts as the audit line records them."""
        return {"rows": self.rows, **{k: getattr(self, k) for k in OUTCOMES}}

    def recorder(
        self, report: csvio.ErrorReport, progress: Progress | None = None, total: int = 0
    ) -> Callable[[Batch], None]:
        """What to do once a batch is written: count its rows, report its errors and
        conflicts (worded now: the contacts it created have their ids), remember its contacts,
        tell `progress` (rows done, rows in all)."""

        def done(batch: Batch) -> None:
            for row, outcome, error in batch.results:
                setattr(self, outcome, getattr(self, outcome) + 1)
                if error is not None:
                    report.add(row.line, str(error), row.cells)
            for cid in batch.written_ids():
                self.written.add(cid)
            if progress is not None:
                progress(self.rows, max(total, self.rows))

        return done


class _Rollback(Exception):
    """Ends a dry run's transaction without committing."""


async def import_csv(
    actor: Actor,
    source: Path,
    *,
    dry_run: bool = False,
    errors_path: Path | None = None,
    on_conflict: OnConflict = "skip",
    progress: Progress | None = None,
) -> ImportResult:
    """Import contacts from a CSV file: row errors go to `errors_path`, file errors are Invalid.
    `progress(done, total)` is told after each batch (total: the file's lines, counted first).

    A conflict (a row that would overwrite another person, see store.files.import_conflicts) is
    counted and reported, not written, unless `on_conflict` is "update".

    Rows are written in batches of BATCH_ROWS, each in its own transaction; a dry run does the
    same work in one transaction it rolls back (on SQLite it holds the write lock throughout).
    Files of several MiB are cleaned in worker processes (multiprocessing "spawn"): a script
    that calls this must keep its top-level code under `if __name__ == "__main__":`.
    """
    require(actor, "admin")
    fmt = csvio.sniff(source)
    region = await workspace_region(ClientTx(), actor.workspace_id)
    counts = Counts()
    total = await asyncio.to_thread(csvio.count_lines, source) if progress else 0
    with source.open(encoding=fmt.encoding, newline="") as fh:
        stream = csvio.records(fh, fmt)
        columns = csvio.map_header(next(stream, None))
        report = csvio.ErrorReport(errors_path, columns.header, fmt)
        parallel = fmt.size >= PARALLEL_MIN_BYTES
        batches = csvio.prepared(stream, columns, region, BATCH_ROWS, parallel=parallel)
        make = _maker(actor.workspace_id, counts.written, overwrite=on_conflict == "update")
        finished = False
        try:
            async with aclosing(batches):
                await _run(make, batches, counts.recorder(report, progress, total), dry_run)
            finished = True
        finally:
            written = report.close()
            if not dry_run and (finished or counts.rows):
                detail = {**counts.detail(), "on_conflict": on_conflict, "finished": finished}
                await _audit(actor, source, detail)
    return counts.result(written, fmt, dry_run, on_conflict)


MakeBatch = Callable[[list[Row], bool], Batch]  # rows, lock -> a batch of this import


def _maker(ws: int, written: Written, *, overwrite: bool) -> MakeBatch:
    def make(rows: list[Row], lock: bool) -> Batch:
        return Batch(ws, rows, written, overwrite=overwrite, lock=lock)

    return make


async def _audit(actor: Actor, source: Path, detail: dict[str, Any]) -> None:
    """One audit line per import, also when it stopped part-way (the batches before stay)."""
    async with raw_transaction() as tx:
        await audit(tx, actor, "contact.import", source.name[:200], detail)


async def _run(
    make: MakeBatch, batches: AsyncIterator[list[Row]], done: Callable[[Batch], None], dry_run: bool
) -> None:
    """Every batch in its own transaction, or (dry run) all in one that is rolled back."""
    if not dry_run:
        await _pipeline(batches, lambda rows: _commit(make, rows, done))
        return
    try:
        async with raw_transaction() as tx:
            await _pipeline(batches, lambda rows: _apply(tx, make(rows, False), done))
            raise _Rollback
    except _Rollback:
        pass


async def _pipeline(
    batches: AsyncIterator[list[Row]], work: Callable[[list[Row]], Coroutine[Any, Any, None]]
) -> None:
    """Write each batch while the next one is read and cleaned (the database works off-thread)."""
    pending: asyncio.Task[None] | None = None
    try:
        async for rows in batches:
            if pending is not None:
                await pending
            pending = asyncio.create_task(work(rows))
        if pending is not None:
            await pending
    finally:
        if pending is not None:
            await _settle(pending)


async def _settle(task: asyncio.Task[None]) -> None:
    """Stop a batch left running by an error (its transaction rolls back) and wait for it."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: the error that stopped the import is the one raised


async def _apply(tx: RawTx, batch: Batch, done: Callable[[Batch], None]) -> None:
    await batch.run(tx, datetime.now(UTC))
    done(batch)


async def _commit(make: MakeBatch, rows: list[Row], done: Callable[[Batch], None]) -> None:
    for attempt in range(RETRIES):
        batch = make(rows, True)
        try:
            async with raw_transaction() as tx:
                await batch.run(tx, datetime.now(UTC))
        except RACES:
            if attempt == RETRIES - 1:
                raise
            continue
        done(batch)
        return
