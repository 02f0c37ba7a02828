"""SQLite's webhook writer connection, used synchronously on the event-loop thread.

`LoopSqliteWriter` runs a write transaction's coroutine with `drive` (it never suspends: each
SQLite call is microseconds), and checkpoints its WAL from a worker thread (store.inbound.writer).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Sequence
from contextlib import suppress
from typing import Any, TypeVar

from store.db import SQLITE_DEFAULTS, RawTx, sql_fold

T = TypeVar("T")


class _SqliteSyncTx:
    """RawTx on a plain sqlite3 connection: async methods that never suspend (see `drive`)."""

    dialect = "sqlite"
    for_update = ""
    for_share = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return self._conn.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(sql, rows)


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to completion, synchronously."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a synchronous transaction tried to suspend")


class LoopSqliteWriter:
    """A SQLite connection of the writer's own, used synchronously on the event-loop thread.

    A batch is a few SQLite calls of microseconds each (a WAL commit with synchronous=NORMAL
    does not fsync), so running them inline is cheaper than handing every statement to a worker
    thread and taking the GIL back each time. It never waits on a lock while holding the loop:
    BEGIN IMMEDIATE fails at once when the ORM's connection is writing, and the writer yields
    to the loop and tries again.
    """

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=0)
        self._timeout = timeout
        pragmas = {
            **SQLITE_DEFAULTS,
            "foreign_keys": "ON",
            "busy_timeout": "0",
            "wal_autocheckpoint": "0",
        }  # checkpoints run off the loop: checkpoint()
        for pragma, value in pragmas.items():
            self._conn.execute(f"PRAGMA {pragma}={value}")
        self._conn.create_function("cg_fold", 1, sql_fold, deterministic=True)
        # Used by one checkpoint at a time, from whichever worker thread runs it.
        self._checkpointer = sqlite3.connect(path, timeout=1, check_same_thread=False)
        self._checkpoint_lock = threading.Lock()
        self._closed = False

    async def run(self, work: Callable[[RawTx], Coroutine[Any, Any, T]]) -> T:
        """Run `work(tx)` in one write transaction on this connection."""
        await self._begin()
        try:
            result = drive(work(_SqliteSyncTx(self._conn)))
            self._conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise
        return result

    async def _begin(self) -> None:
        deadline = asyncio.get_running_loop().time() + self._timeout
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.0005)

    def close(self) -> None:
        """Close the connections (waiting for a checkpoint still running in its thread)."""
        self._conn.close()
        with self._checkpoint_lock:
            self._closed = True
            self._checkpointer.close()

    def checkpoint(self) -> None:
        """Copy the WAL into the database file (PASSIVE: never blocks the writer).

        Called from a worker thread, on a connection of its own, so the fsync it ends with never
        runs on the event loop. Small and frequent keeps each fsync short.
        """
        # Cancelling the asyncio task that awaits this does not stop the thread: close() must
        # not pull the connection from under a checkpoint in progress.
        with self._checkpoint_lock:
            if not self._closed:
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
