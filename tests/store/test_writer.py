"""The SQLite writer connection waits for the ORM write lock without blocking the event loop."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from store import db
from store.inbound import BatchWriter, sqlite_loop
from store.types import Inbound, Item
from tests import helpers as h

SENT = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def sqlite_only(orm: str) -> str:
    if not orm.startswith("sqlite://"):
        pytest.skip("the event-loop writer connection is SQLite's")
    return orm.removeprefix("sqlite://")


async def test_writer_yields_while_the_orm_holds_the_write_lock(sqlite_only: str) -> None:
    await h.workspace()
    tg = await h.channel("telegram")
    writer = BatchWriter(sqlite_path=sqlite_only)
    writer.start()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    beat = asyncio.create_task(ticker())
    try:
        async with db.raw_transaction() as tx:  # BEGIN IMMEDIATE on the ORM's connection
            await tx.execute("UPDATE workspace SET name = 'busy' WHERE slug = 'acme'")
            pending = asyncio.create_task(
                writer.submit(
                    [
                        Item(
                            tg,
                            Inbound(
                                external_id="7",
                                provider_message_id="m1",
                                type="text",
                                sent_at=datetime(2026, 11, 2, tzinfo=UTC),
                                text="hola",
                            ),
                        )
                    ]
                )
            )
            await asyncio.sleep(0.2)
            assert not pending.done()  # waiting for the lock...
            assert ticks >= 20  # ...while the event loop keeps serving
        assert await pending == ["stored"]
    finally:
        beat.cancel()
        await writer.stop()
    assert await h.scalar("SELECT count(*) AS n FROM message") == 1


@pytest.mark.usefixtures("orm")
async def test_quiet_returns_once_what_was_queued_is_committed() -> None:
    """A long job (the monthly reset) waits between its transactions for queued webhooks."""
    await h.workspace()
    tg = await h.channel("telegram")
    writer = BatchWriter()
    writer.start()
    try:
        pending = [
            asyncio.create_task(
                writer.submit([Item(tg, Inbound(str(i), f"q{i}", "text", SENT, text="x"))])
            )
            for i in range(5)
        ]
        await asyncio.sleep(0)  # queued, not yet committed
        assert not any(p.done() for p in pending)
        await writer.quiet()  # returns once the webhooks queued so far are committed
        assert all(p.done() for p in pending)
        assert [p.result() for p in pending] == [["stored"]] * 5
    finally:
        await writer.stop()


def test_drive_refuses_a_coroutine_that_suspends() -> None:
    async def suspends() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="tried to suspend"):
        sqlite_loop.drive(suspends())


def test_close_waits_for_a_checkpoint_running_in_another_thread(tmp_path: Path) -> None:
    writer = sqlite_loop.LoopSqliteWriter(str(tmp_path / "cg.db"))
    writer._conn.execute("CREATE TABLE t (x)")
    stop = threading.Event()

    def checkpoint_forever() -> None:
        while not stop.is_set():
            writer.checkpoint()

    worker = threading.Thread(target=checkpoint_forever)
    worker.start()
    try:
        for _ in range(200):  # close() racing a running checkpoint crashed the process before
            writer.checkpoint()
        writer.close()
    finally:
        stop.set()
        worker.join()
    writer.checkpoint()  # after close: a no-op, not a crash
