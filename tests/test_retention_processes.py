"""Retention rules across real processes: two `contactgate retention … run` racing on one
database, and a run killed with SIGKILL mid-delete, then resumed by another process.

The processes run on the real clock, so the seeded times are far from any day they may run on:
inactive contacts and old messages in 2000, everything that stays in 2100.
"""

from __future__ import annotations

import asyncio
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
from store.db import raw_transaction
from store.serial import load_json
from tests.test_processes import ROOT, _env, any_db, prepare
from tests.test_reset_processes import _seed, query, read_export

__all__ = ["any_db"]  # the fixture, used by name
pytestmark = pytest.mark.slow
PAST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


async def _age(url: str, inactive: int) -> None:
    """The first `inactive` contacts (by id) idle since 2000; the others active in 2100 with
    their first message from 2000; the rules: 30 days for contacts, 90 for messages."""
    await db.init(url)
    try:
        async with raw_transaction() as tx:
            rows = await tx.fetch("SELECT id FROM contact ORDER BY id")
            cut = int(rows[inactive][0])
            await tx.execute("UPDATE contact SET last_activity_at = ? WHERE id < ?", [PAST, cut])
            await tx.execute("UPDATE contact SET last_activity_at = ? WHERE id >= ?", [FUTURE, cut])
            await tx.execute("UPDATE message SET received_at = ?", [FUTURE])
            await tx.execute(
                "UPDATE message SET received_at = ? WHERE contact_id >= ?"
                " AND provider_message_id LIKE ?",
                [PAST, cut, "%-0"],
            )
            await tx.execute(
                "UPDATE workspace SET retention_contact_days = 30, retention_message_days = 90"
            )
    finally:
        await db.close()


def seed(url: str, people: int, per_person: int, inactive: int) -> tuple[list[int], list[int]]:
    """Seed, age, and return the contacts and messages the rules select."""
    prepare(url, cap=100_000)
    asyncio.run(_seed(url, people, per_person))
    asyncio.run(_age(url, inactive))
    contacts = [int(r[0]) for r in query(url, "SELECT id FROM contact ORDER BY id")][:inactive]
    messages = query(
        url, "SELECT id FROM message WHERE contact_id <= ? OR received_at < ?", contacts[-1], FUTURE
    )
    return contacts, sorted(int(r[0]) for r in messages)


def retention_cli(url: str, exports: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """Start `contactgate retention acme ARGS` (not waited for)."""
    environ = _env(url) | {"CONTACTGATE_RESET_EXPORT_DIR": str(exports)} | env
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "retention", "acme", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def runs(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT kind, state, counts, export_path, progress FROM reset_run")


@pytest.mark.pg
def test_two_processes_racing_run_the_days_retention_once(pg_database: str, tmp_path: Path) -> None:
    url = pg_database
    contacts, messages = seed(url, 1500, 2, inactive=1000)
    exports = tmp_path / "exports"
    racers = [retention_cli(url, exports, "run") for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in racers]
    assert sorted(code for code, _out, _err in results) == [0, 1], results
    loser = next(err for code, _out, err in results if code == 1)
    assert "is running in" in loser or "already ran" in loser, loser
    [(kind, state, counts, path, _progress)] = runs(url)
    assert (kind, state) == ("retention", "done")
    assert load_json(counts) == {
        "contacts": 1000, "identities": 1000, "messages": 2500, "notes": 0,
    }  # fmt: skip
    assert query(url, "SELECT count(*) FROM contact") == [(500,)]
    assert query(url, "SELECT count(*) FROM message") == [(500,)]
    exported, lines = read_export(Path(path))
    assert sorted(exported) == contacts and sorted(lines) == messages
    assert len(list(exports.glob("acme/*"))) == 1  # the loser wrote no export of its own


def test_a_killed_retention_run_is_resumed_by_the_next_process(any_db: str, tmp_path: Path) -> None:
    url = any_db
    contacts, messages = seed(url, 1200, 3, inactive=900)
    exports = tmp_path / "exports"
    slow = {
        "CONTACTGATE_RESET_BATCH": "10",
        "CONTACTGATE_RESET_BATCH_SECONDS": "0.0001",
        "CONTACTGATE_RESET_PAUSE_SECONDS": "0.01",
        "CONTACTGATE_RESET_LEASE_SECONDS": "2",
    }
    first = retention_cli(url, exports, "run", **slow)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if query(url, "SELECT count(*) FROM contact")[0][0] < 900:
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert 300 < query(url, "SELECT count(*) FROM contact")[0][0] < 1200
    assert [r[:2] for r in runs(url)] == [("retention", "exported")]

    early = retention_cli(url, exports, "run", **slow)  # the dead owner's lease still holds
    assert early.wait(timeout=60) == 1
    assert "is running in" in early.communicate()[1]
    time.sleep(2.2)
    second = retention_cli(url, exports, "run", "--json")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    done = json.loads(out)
    assert done["state"] == "done"
    assert done["counts"] == {"contacts": 900, "identities": 900, "messages": 3000, "notes": 0}
    assert query(url, "SELECT count(*) FROM contact") == [(300,)]
    assert query(url, "SELECT count(*) FROM message") == [(600,)]
    assert query(url, "SELECT count(*) FROM reset_target") == [(0,)]
    exported, lines = read_export(Path(done["export_path"]))
    assert sorted(exported) == contacts  # each exactly once
    assert sorted(lines) == messages
    assert load_json(runs(url)[0][4])["attempts"] == 2
