"""Storage faults through the real gateway: a full disk under SQLite, PostgreSQL connections
terminated and the database made read-only and back. Each asserts the 503s, /readyz, the
count in /metrics, one log line per cause, the recovery time and that no acknowledged message
was lost."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import structlog
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.settings import load_settings
from store.inbound import writer
from store.types import ChannelInfo
from tests import helpers as h
from tests.conftest import OFFLINE, PG_ADMIN
from tests.gateway.api.support import Api, tokens

READY = {"status": "ready"}
RECOVERY_SECONDS = 3.0


@pytest.fixture(autouse=True)
def eager_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every /readyz in a fault probes (counts stay exact), and no WAL checkpoint runs during a
    test (it would reuse the WAL's space and make a full disk's failures depend on timing)."""
    monkeypatch.setattr(writer, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(writer, "CHECKPOINT_SECONDS", 3600.0)


async def send(client: TestClient, ch: ChannelInfo, update_id: int, text: str = "hola") -> int:
    """POST one signed Telegram update; the status."""
    resp = await h.send_telegram(client, ch.key, h.telegram_update(7, text, update_id))
    await resp.read()
    return resp.status


async def readyz(client: TestClient) -> tuple[int, Any]:
    resp = await client.get("/readyz")
    return resp.status, await resp.json()


async def storage_errors(client: TestClient) -> dict[str, float]:
    """contactgate_storage_errors_total by cause."""
    resp = await client.get("/metrics")
    text = await resp.text()
    prefix = 'contactgate_storage_errors_total{cause="'
    return {
        line[len(prefix) :].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }


async def wait_ready(client: TestClient) -> float:
    """Seconds until /readyz answers 200 (fails after RECOVERY_SECONDS)."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_SECONDS:
        if (await client.get("/readyz")).status == 200:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"not ready {RECOVERY_SECONDS} s after the fault ended")


async def stored_ids() -> list[str]:
    found = await h.rows("SELECT provider_message_id FROM message ORDER BY provider_message_id")
    return [r["provider_message_id"] for r in found]


def storage_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] in ("storage_fault", "storage_recovered")]


def webhook_lines(logs: list[dict[str, Any]], status: int) -> list[dict[str, Any]]:
    lines = [e for e in logs if e["event"] == "webhook" and e["status"] == status]
    return [{k: v for k, v in e.items() if k != "latency_ms"} for e in lines]


# --- SQLite: a full disk -----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (root only; skipped where it cannot be mounted)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
async def small_client(
    aiohttp_client: Any, small_disk: Path, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[TestClient]:
    """The gateway on a SQLite file that lives on the small disk."""
    path = small_disk / "cg.db"
    shutil.copy(sqlite_template, path)
    settings = load_settings(
        database_url=f"sqlite://{path}",
        channel_cache_seconds=0,
        log_level="WARNING",
        reset_export_dir=tmp_path / "reset-exports",
        **OFFLINE,
    )
    yield await aiohttp_client(create_app(settings))


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has no page left."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_is_503_unready_counted_logged_once_and_survived(
    small_client: TestClient, small_disk: Path
) -> None:
    client = small_client
    api = Api(client, await tokens())
    ch = await h.channel("telegram")
    acked = [i for i in (1, 2, 3) if await send(client, ch, i) == 200]
    assert acked == [1, 2, 3]
    filler = fill(small_disk)
    with structlog.testing.capture_logs() as logs:
        failed: list[int] = []
        for update_id in range(10, 40):  # long texts: the WAL must grow, and cannot
            status = await send(client, ch, update_id, "x" * 20_000)
            (acked if status == 200 else failed).append(update_id)
            if failed:
                break
        for update_id in (40, 41, 42):
            assert await send(client, ch, update_id) == 503
            failed.append(update_id)
        created = await api("POST", "/contacts", json={"name": "Ana"})
        fault = await readyz(client)
        errors = await storage_errors(client)
        filler.unlink()
        seconds = await wait_ready(client)
    assert fault == (
        503,
        {
            "status": "unready",
            "error": "not_ready",
            "cause": "disk_full",
            "detail": "OperationalError: database or disk is full",
        },
    )
    assert (created.status, created.body) == (
        503,
        {"error": "unavailable", "detail": "storage: disk_full"},
    )
    assert errors == {"disk_full": len(failed) + 2}  # each failed webhook, the API call, the probe
    assert seconds < 2.0
    assert storage_lines(logs) == [
        {
            "event": "storage_fault",
            "cause": "disk_full",
            "detail": "OperationalError: database or disk is full",
            "during": "write",
            "repeats": 0,
            "log_level": "error",
        },
        {
            "event": "storage_recovered",
            "cause": "disk_full",
            "seconds": storage_lines(logs)[1]["seconds"],
            "log_level": "warning",
        },
    ]
    failure_line = {
        "event": "webhook",
        "channel": ch.key,
        "kind": "telegram",
        "status": 503,
        "failed": 1,
        "log_level": "warning",
    }
    assert webhook_lines(logs, 503) == [failure_line] * len(failed)
    assert not [e for e in logs if "exc_info" in e or "exception" in e]
    retried = [i for i in failed if await send(client, ch, i) == 200]  # the provider retries
    assert retried == failed
    assert await stored_ids() == sorted(str(i) for i in acked + failed)
    assert await readyz(client) == (200, READY)


# --- PostgreSQL: connections terminated, the database read-only and back ------------------------


pg_only = pytest.mark.parametrize(
    "db_url", [pytest.param("pg", marks=pytest.mark.pg)], indirect=True
)


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def terminate_backends(url: str) -> None:
    """pg_terminate_backend every session of the gateway's database (ours only)."""
    await admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{database_of(url)}' AND pid <> pg_backend_pid()"
    )


@pg_only
async def test_terminated_connections_are_replaced_without_a_failed_request(
    client: TestClient, db_url: str
) -> None:
    await h.workspace()
    ch = await h.channel("telegram")
    assert [await send(client, ch, i) for i in (1, 2, 3)] == [200] * 3
    await terminate_backends(db_url)  # no pause: the pool has not noticed yet
    statuses = [await send(client, ch, i) for i in (4, 5, 6)]
    assert statuses == [200] * 3  # a lost connection's batch is retried on a fresh one
    assert await readyz(client) == (200, READY)
    assert await stored_ids() == ["1", "2", "3", "4", "5", "6"]


@pg_only
async def test_a_read_only_database_is_503_unready_and_recovers_without_a_restart(
    client: TestClient, db_url: str
) -> None:
    api = Api(client, await tokens())
    ch = await h.channel("telegram")
    assert [await send(client, ch, i) for i in (1, 2, 3)] == [200] * 3
    name = database_of(db_url)
    await admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        await terminate_backends(db_url)
        await asyncio.sleep(0.2)  # the pool sees its connections closed
        with structlog.testing.capture_logs() as logs:
            statuses = [await send(client, ch, i) for i in (4, 5, 6)]
            created = await api("POST", "/contacts", json={"name": "Ana"})
            fault = await readyz(client)
            errors = await storage_errors(client)
            await admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
            seconds = await wait_ready(client)  # its open sessions are still read-only
    finally:
        await admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    assert statuses == [503] * 3
    assert (created.status, created.body) == (
        503,
        {"error": "unavailable", "detail": "storage: read_only"},
    )
    assert fault == (
        503,
        {
            "status": "unready",
            "error": "not_ready",
            "cause": "read_only",
            "detail": "ReadOnlySQLTransactionError:"
            " cannot execute UPDATE in a read-only transaction",
        },
    )
    assert errors == {"read_only": 9.0}  # 3 webhooks and 1 probe (each retried once), 1 API call
    assert seconds < 1.0
    lines = storage_lines(logs)
    assert [(e["event"], e["cause"], e["log_level"]) for e in lines] == [
        ("storage_fault", "read_only", "error"),
        ("storage_recovered", "read_only", "warning"),
    ]
    assert not [e for e in logs if "exc_info" in e or "exception" in e]
    assert (
        webhook_lines(logs, 503)
        == [
            {
                "event": "webhook",
                "channel": ch.key,
                "kind": "telegram",
                "status": 503,
                "failed": 1,
                "log_level": "warning",
            }
        ]
        * 3
    )
    assert [await send(client, ch, i) for i in (4, 5, 6, 7)] == [200] * 4
    assert await stored_ids() == ["1", "2", "3", "4", "5", "6", "7"]
