"""Group commit: one writer task drains a queue, one transaction per batch, answers after COMMIT.

A tortoise transaction per request manages ~1,700 writes/s on SQLite; batching many requests
into one transaction (and one multi-row INSERT) is what lets a webhook be acknowledged only
after its message is durable and still serve thousands per second.

On SQLite the writer owns a connection used synchronously on the event-loop thread (see
store.inbound.sqlite_loop.LoopSqliteWriter): a batch is ~1 ms of SQLite calls, cheaper inline
than one thread hand-off and GIL re-take per statement. Its WAL is checkpointed every
CHECKPOINT_SECONDS from a worker thread, so no fsync ever runs on the loop. On PostgreSQL a
batch is one asyncpg transaction with fixed-shape statements.

A failed write is reported to store.health (readiness, /metrics, one log line per cause); while
in a fault, `readiness()` sends an empty write through the same queue to see whether it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from store import db
from store.health import DISCARD, Fault, StorageHealth, classify, touch, unknown
from store.inbound import sqlite_loop
from store.inbound.ingest import write_batch
from store.types import Item, Outcome

CHECKPOINT_SECONDS = 0.1
QUIET_SECONDS = 0.25  # BatchWriter.quiet() waits no longer: the other job must progress too
PROBE_SECONDS = 1.0  # while in a fault, /readyz tries a write at most this often
PROBE_TIMEOUT = 2.0


class WriterClosed(RuntimeError):
    """The writer is stopped; the request must be retried by its sender."""


class WriteFailed(RuntimeError):
    """The database refused the write; nothing was stored for this request."""


@dataclass(slots=True)
class _Job:
    items: Sequence[Item]
    done: asyncio.Future[list[Outcome]]


class BatchWriter:
    """Queue of pending writes served by one task; `submit` returns after the commit."""

    def __init__(
        self,
        max_items: int = 1000,
        sqlite_path: str | None = None,
        health: StorageHealth | None = None,
    ) -> None:
        self._sqlite_path = sqlite_path
        self.health = health or StorageHealth()
        self._probe: asyncio.Task[None] | None = None
        self._own: sqlite_loop.LoopSqliteWriter | None = None
        self._checkpoints: asyncio.Task[None]
        self._max_items = max_items
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    @property
    def running(self) -> bool:
        """True while the writer task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the writer task (inside a running loop, after the ORM is initialised)."""
        if self._sqlite_path:
            self._own = sqlite_loop.LoopSqliteWriter(self._sqlite_path)
            self._checkpoints = asyncio.create_task(self._checkpoint_loop(self._own))
        self._task = asyncio.create_task(self._run(), name="contactgate-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._own is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._own.close()
            self._own = None

    async def quiet(self) -> None:
        """Wait (at most QUIET_SECONDS) until everything queued so far is committed: a long job
        sharing the database (a monthly reset's delete batches) lets webhooks go first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(QUIET_SECONDS):
                await self._queue.join()

    async def submit(self, items: Sequence[Item]) -> list[Outcome]:
        """Queue items and wait until they are committed; raises WriteFailed or WriterClosed."""
        if not self.running:
            raise WriterClosed("writer is not running")
        job = _Job(items, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        return await job.done

    async def _checkpoint_loop(self, own: sqlite_loop.LoopSqliteWriter) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            try:
                await asyncio.to_thread(own.checkpoint)
            except sqlite3.Error as exc:  # busy now, or no room: the next round copies it
                fault = classify(exc, from_database=True) or unknown(exc)
                if fault.cause != "locked":  # a reader or the ORM's own checkpoint: harmless
                    self.health.report(fault, "checkpoint", exc)

    async def _run(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            count = len(jobs[0].items)
            while count < self._max_items and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
                count += len(jobs[-1].items)
            try:
                await self._write(jobs)
            finally:
                for _ in jobs:
                    self._queue.task_done()

    async def _write(self, jobs: list[_Job]) -> None:
        try:
            results = await self._commit([item for job in jobs for item in job.items])
        except Exception as exc:
            fault = classify(exc, from_database=True)
            if fault is None and len(jobs) > 1:  # maybe one request's data: isolate it
                for job in jobs:
                    await self._write([job])
                return
            known = fault or unknown(exc)
            self.health.failed(known, "write", exc)  # one log line per cause and interval
            for job in jobs:  # a storage fault fails the whole batch at once: a fast 503 each
                _fail(job, WriteFailed(f"database write failed ({known.cause})"))
            return
        self.health.succeeded()
        start = 0
        for job in jobs:
            end = start + len(job.items)
            if not job.done.done():
                job.done.set_result(results[start:end])
            start = end

    async def _commit(self, items: list[Item]) -> list[Outcome]:
        """Commit a batch; on PostgreSQL, once more on a fresh connection when the pool discarded
        the one that failed (a retry is safe: a message that did commit comes back a duplicate)."""
        try:
            outcomes = await self._commit_once(items)
        except Exception as exc:
            fault = classify(exc, from_database=True)
            if self._own is not None or fault is None or fault.cause not in DISCARD:
                raise
            self.health.report(fault, "write, retried on a new connection", exc)
            await db.renew_connections()
            outcomes = await self._commit_once(items)
        self.batches += 1
        self.items += len(items)
        return outcomes

    async def _commit_once(self, items: list[Item]) -> list[Outcome]:
        async def work(tx: db.RawTx) -> list[Outcome]:
            if not items:  # only readiness probes in this batch
                await touch(tx)
                return []
            return await write_batch(tx, items)

        if self._own is not None:
            return await self._own.run(work)
        return await db.run_transaction(work)

    async def readiness(self) -> Fault | None:
        """The storage fault that makes the gateway unready, or None.

        While in a fault, a probe write goes through the queue at most every PROBE_SECONDS, so
        readiness comes back when the fault ends even if no traffic arrives.
        """
        if self.health.fault is None:
            return None
        if self._probe is None and self.health.seconds_since_failure() >= PROBE_SECONDS:
            self._probe = asyncio.create_task(self._probe_once())
        if self._probe is not None:
            await asyncio.shield(self._probe)
        return self.health.fault

    async def _probe_once(self) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await self.submit(())
        except (WriteFailed, WriterClosed, TimeoutError):
            pass  # recorded by _write (a timeout leaves the fault as it was)
        finally:
            self._probe = None


def _fail(job: _Job, exc: Exception) -> None:
    if not job.done.done():
        job.done.set_exception(exc)
