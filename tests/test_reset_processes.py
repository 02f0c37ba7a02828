"""The monthly reset across real processes: two `contactgate reset … run` racing on one database,
and a run killed with SIGKILL mid-delete, then resumed by another process.

Each test seeds contacts through the ingest path, then drives `python -m gateway.cli` processes
and reads the database and the export back.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from store import db
from store.channels import channel_info
from store.db import ClientTx, raw_transaction
from store.inbound import write_batch
from store.serial import load_json
from store.types import Inbound, Item
from tests.test_processes import ROOT, TG_KEY, _env, any_db, prepare

__all__ = ["any_db"]  # the fixture, used by name
pytestmark = pytest.mark.slow
SENT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def _seed(url: str, n: int, per_person: int) -> None:
    await db.init(url)
    try:
        rows = await ClientTx().fetch("SELECT id FROM channel WHERE key = ?", [TG_KEY])
        async with raw_transaction() as tx:
            channel = await channel_info(tx, int(rows[0][0]))
        items = [
            Item(
                channel,
                Inbound(
                    external_id=str(10_000 + i),
                    provider_message_id=f"m{i}-{k}",
                    type="text",
                    sent_at=SENT,
                    text=f"mensaje {k} de {i}",
                    display_name=f"Persona {i}",
                ),
            )
            for k in range(per_person)
            for i in range(n)
        ]
        for start in range(0, len(items), 1000):
            async with raw_transaction() as tx:
                await write_batch(tx, items[start : start + 1000])
    finally:
        await db.close()


async def _query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    await db.init(url)
    try:
        return [tuple(r) for r in await ClientTx().fetch(sql, list(params))]
    finally:
        await db.close()


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return asyncio.run(_query(url, sql, *params))


def reset_cli(url: str, exports: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """Start `contactgate reset acme ARGS` (not waited for)."""
    environ = _env(url) | {"CONTACTGATE_RESET_EXPORT_DIR": str(exports)} | env
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "reset", "acme", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_export(folder: Path) -> tuple[list[int], list[int]]:
    text = (folder / "contacts.csv").read_text(encoding="utf-8-sig")
    contacts = [int(row["id"]) for row in csv.DictReader(io.StringIO(text))]
    lines = (folder / "messages.jsonl").read_text().splitlines()
    return contacts, [int(json.loads(line)["id"]) for line in lines]


@pytest.mark.pg
def test_two_processes_racing_run_the_reset_once(pg_database: str, tmp_path: Path) -> None:
    url = pg_database
    prepare(url, cap=100_000)
    asyncio.run(_seed(url, 1500, 2))
    contacts = sorted(r[0] for r in query(url, "SELECT id FROM contact"))
    messages = sorted(r[0] for r in query(url, "SELECT id FROM message"))
    exports = tmp_path / "exports"
    racers = [reset_cli(url, exports, "run", "all") for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in racers]
    codes = sorted(code for code, _out, _err in results)
    assert codes == [0, 1], results
    loser = next(err for code, _out, err in results if code == 1)
    assert "is running in" in loser or "already ran" in loser, loser
    runs = query(url, "SELECT id, state, counts, export_path FROM reset_run")
    assert len(runs) == 1 and runs[0][1] == "done"
    assert load_json(runs[0][2]) == {
        "contacts": 1500,
        "identities": 1500,
        "messages": 3000,
        "notes": 0,
    }
    assert query(url, "SELECT count(*) FROM contact") == [(0,)]
    exported, lines = read_export(Path(runs[0][3]))
    assert sorted(exported) == contacts and sorted(lines) == messages
    assert len(list(exports.glob("acme/*"))) == 1  # the loser wrote no export of its own


def test_a_killed_run_is_resumed_by_the_next_process(any_db: str, tmp_path: Path) -> None:
    url = any_db
    prepare(url, cap=100_000)
    asyncio.run(_seed(url, 1200, 3))
    contacts = sorted(r[0] for r in query(url, "SELECT id FROM contact"))
    messages = sorted(r[0] for r in query(url, "SELECT id FROM message"))
    exports = tmp_path / "exports"
    slow = {
        "CONTACTGATE_RESET_BATCH": "10",
        "CONTACTGATE_RESET_BATCH_SECONDS": "0.0001",
        "CONTACTGATE_RESET_PAUSE_SECONDS": "0.01",
        "CONTACTGATE_RESET_LEASE_SECONDS": "2",
    }
    first = reset_cli(url, exports, "run", "all", **slow)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        left = query(url, "SELECT count(*) FROM contact")[0][0]
        if left < 900:
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    left = query(url, "SELECT count(*) FROM contact")[0][0]
    assert 0 < left < 1200
    assert query(url, "SELECT state FROM reset_run") == [("exported",)]

    early = reset_cli(url, exports, "run", **slow)  # the dead owner's lease still holds
    assert early.wait(timeout=60) == 1
    assert "is running in" in early.communicate()[1]
    time.sleep(2.2)
    second = reset_cli(url, exports, "run", "--json")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    done = json.loads(out)
    assert done["state"] == "done"
    assert done["counts"] == {"contacts": 1200, "identities": 1200, "messages": 3600, "notes": 0}
    assert query(url, "SELECT count(*) FROM contact") == [(0,)]
    assert query(url, "SELECT count(*) FROM reset_target") == [(0,)]
    exported, lines = read_export(Path(done["export_path"]))
    assert sorted(exported) == contacts  # each exactly once
    assert sorted(lines) == messages
    progress = load_json(query(url, "SELECT progress FROM reset_run")[0][0])
    assert progress["attempts"] == 2
