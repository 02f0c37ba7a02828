"""The monthly reset on a large workspace: preview, a `tagged` run and an `all` run (each with its
export), and webhook latency while a run deletes compared with idle.

Builds a synthetic workspace once (default 1,000,000 contacts, 2 identities and 3 messages
each, 30 % tagged Borrar: bench/contacts.py's data plus messages), then for each mode starts a
real `contactgate serve` on a fresh copy of it, and through its REST API times the preview and
the run (POST /api/v1/reset/runs, the gateway's own runner) while sending Telegram webhooks at
a fixed rate (open loop: each request is sent on schedule, whether or not earlier ones came
back). The baseline is the same webhook load on the same gateway just before the run.

    .venv/bin/python bench/reset.py [--contacts 1000000] [--rate 200] [--backend sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.contacts import build
from bench.ingest import PY, Server, clean_env, start_server, stop_server
from gateway.provision import known_kinds
from store import db
from store.channels import upsert_channel
from store.db import raw_transaction
from store.setup import get_workspace, upsert_workspace
from store.tokens import create_token

SECRET = "s" * 16
TG_KEY = "telegram-bench-key"
MESSAGES_SQL = (
    "INSERT INTO message (workspace_id, channel_id, identity_id, contact_id, direction,"
    " provider_message_id, type, text, sent_at, received_at)"
    " SELECT i.workspace_id, i.channel_id, i.id, i.contact_id, 'in', 'b' || i.id || '-' || k.n,"
    " 'text', 'Hola, quisiera saber el precio del producto número ' || k.n, ?, ?"
    " FROM identity i, (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) k"
    " WHERE i.channel_id = ? AND i.id > ? AND i.id <= ?"
)


@dataclass(slots=True)
class Load:
    """Latencies (ms) and failures of webhooks sent at a fixed rate."""

    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # perf_counter() when each was sent
    failures: int = 0

    def between(self, start: float, end: float) -> Load:
        """The requests sent in [start, end)."""
        part = Load()
        for at, ms in zip(self.sent_at, self.latencies, strict=True):
            if start <= at < end:
                part.latencies.append(ms)
                part.sent_at.append(at)
        return part

    def line(self, label: str) -> str:
        if not self.latencies:
            return f"{label:<34} no requests"
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{label:<34} {len(ordered):6d} sent  p50 {statistics.median(ordered):7.1f} ms"
            f"  p99 {p99:7.1f} ms  max {ordered[-1]:7.1f} ms  failures {self.failures}"
        )


async def build_template(url: str, n: int) -> str:
    """Migrate, create workspace `bench` with its data; returns an owner API token."""
    await db.migrate(url)
    await db.init(url)
    try:
        await upsert_workspace("bench", plan_cap=10_000_000, default_region="EC")
        ws = (await get_workspace("bench")).id
        channels = [
            (
                await upsert_channel(
                    "bench",
                    kind,
                    TG_KEY if kind == "telegram" else f"{kind}-bench-key",
                    {"secret_token": SECRET} if kind == "telegram" else {"auth_token": "t"},
                    known_kinds=known_kinds(),
                )
            ).id
            for kind in ("telegram", "twilio_sms")
        ]
        took = await build(n, ws, channels)
        print(f"{'build contacts (2 identities, tags)':<34} {took:8.1f} s", flush=True)
        started = time.perf_counter()
        top = n * 2 + 10
        for low in range(0, top, 50_000):
            now = datetime(2026, 11, 20, tzinfo=UTC)
            async with raw_transaction() as tx:
                await tx.execute(MESSAGES_SQL, [now, now, channels[0], low, low + 50_000])
        print(f"{'build messages (3 per contact)':<34} {time.perf_counter() - started:8.1f} s")
        token = await create_token("bench", "bench-owner", "owner")
        await db.optimize()
    finally:
        await db.close()
    return token


async def new_token(url: str) -> str:
    """An owner token on an existing bench database."""
    await db.init(url)
    try:
        return await create_token("bench", f"bench-owner-{time.time_ns()}", "owner")
    finally:
        await db.close()


def update(user: int, seq: int) -> bytes:
    return orjson.dumps(
        {
            "update_id": seq,
            "message": {
                "message_id": seq,
                "date": 1795000000,
                "text": "hola",
                "from": {"id": user, "is_bot": False, "first_name": f"U{user}"},
                "chat": {"id": user, "type": "private"},
            },
        }
    )


class Sender:
    """Sends Telegram webhooks at a fixed rate: half from new people, half from known ones."""

    def __init__(self, session: aiohttp.ClientSession, base: str, rate: float) -> None:
        self.session, self.base, self.rate = session, base, rate
        self.seq = 0
        self.known: list[int] = []

    async def one(self, load: Load) -> None:
        self.seq += 1
        seq = self.seq
        user = self.known[seq % len(self.known)] if seq % 2 and self.known else 50000000 + seq
        began = time.perf_counter()
        try:
            async with self.session.post(
                f"{self.base}/webhooks/{TG_KEY}",
                data=update(user, 900_000_000 + seq),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ) as reply:
                await reply.read()
                ok = reply.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        load.latencies.append((time.perf_counter() - began) * 1000)
        load.sent_at.append(began)
        if ok:
            self.known.append(user)
        else:
            load.failures += 1

    async def run(self, load: Load, until: asyncio.Future[Any] | float) -> None:
        """Send until `until` (a future that completes, or seconds from now)."""
        tasks: set[asyncio.Task[None]] = set()
        gap, start = 1 / self.rate, time.perf_counter()
        i = 0
        while True:
            if isinstance(until, float):
                if time.perf_counter() - start >= until:
                    break
            elif until.done():
                break
            task = asyncio.create_task(self.one(load))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
            await asyncio.sleep(max(0.0, start + i * gap - time.perf_counter()))
        await asyncio.gather(*tasks)


async def scenario(base: str, token: str, mode: str, rate: float, idle: float) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        async with session.get(f"{base}/api/v1/reset/preview?mode={mode}", headers=auth) as r:
            shown = await r.json()
        preview_s = time.perf_counter() - started
        sender = Sender(session, base, rate)
        quiet = Load()
        await sender.run(quiet, idle)
        busy = Load()
        started = time.perf_counter()
        async with session.post(
            f"{base}/api/v1/reset/runs", json={"mode": mode}, headers=auth
        ) as r:
            run = await r.json()
            assert r.status == 202, run
        finished: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        async def watch() -> None:
            while True:
                await asyncio.sleep(0.25)
                async with session.get(f"{base}/api/v1/reset/runs/{run['id']}", headers=auth) as r:
                    state = await r.json()
                if state["state"] in ("done", "failed"):
                    finished.set_result(state)
                    return

        watcher = asyncio.create_task(watch())
        await sender.run(busy, finished)
        await watcher
        took = time.perf_counter() - started
    return {"preview": shown, "preview_s": preview_s, "run": finished.result(), "run_s": took,
            "idle": quiet, "busy": busy, "started": started}  # fmt: skip


def copy_sqlite(template: Path, target: Path) -> None:
    with sqlite3.connect(template) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(template, target)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=200.0, help="webhooks per second")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of baseline load")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--modes", default="tagged,all")
    parser.add_argument("--keep", action="store_true", help="keep the databases and exports")
    parser.add_argument("--template", help="a template.db kept by an earlier --keep run (SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cg-bench-reset-"))
    print(f"backend {args.backend}, {args.contacts:,} contacts, workdir {workdir}", flush=True)
    template = workdir / "template.db"
    if args.template:
        copy_sqlite(Path(args.template), template)
        token = await new_token(f"sqlite://{template}")
    elif args.backend == "sqlite":
        token = await build_template(f"sqlite://{template}", args.contacts)
    else:
        token = await build_template(await fresh_pg(args.pg, "cg_bench_reset"), args.contacts)
    try:
        for mode in args.modes.split(","):
            if args.backend == "sqlite":
                copy_sqlite(template, workdir / f"{mode}.db")
                url = f"sqlite://{workdir / f'{mode}.db'}"
            else:
                url = await fresh_pg(args.pg, f"cg_bench_reset_{mode}", "cg_bench_reset")
            env = clean_env(
                CONTACTGATE_DATABASE_URL=url,
                CONTACTGATE_LOG_LEVEL="WARNING",
                CONTACTGATE_RESET_EXPORT_DIR=str(workdir / "exports"),
            )
            server: Server = start_server(
                [PY, "-m", "gateway.cli", "serve"], env, workdir / f"{mode}.log"
            )
            try:
                got = await scenario(
                    f"http://127.0.0.1:{server.port}", token, mode, args.rate, args.idle
                )
            finally:
                stop_server(server)
            report(mode, got, server)
            # databases are removed at the end only: deleting gigabytes (ext4 with online
            # discard here) loads the disk for a while and would colour the next mode's figures
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def report(mode: str, got: dict[str, Any], server: Server) -> None:
    shown, run = got["preview"], got["run"]
    print(f"\n== mode {mode}")
    print(
        f"{'preview':<34} {got['preview_s']:8.2f} s   {shown['contacts']:,} contacts,"
        f" {shown['identities']:,} identities, {shown['messages']:,} messages"
    )
    counts = run["counts"]
    folder = Path(run["export_path"] or ".")
    size = sum(p.stat().st_size for p in folder.glob("*") if p.is_file()) / 2**20
    print(
        f"{'run (snapshot + export + delete)':<34} {got['run_s']:8.1f} s   state {run['state']},"
        f" deleted {counts.get('contacts', 0):,} contacts, {counts.get('messages', 0):,}"
        f" messages; export {size:,.0f} MiB"
    )
    manifest = folder / "manifest.json"
    if manifest.exists():
        summary = orjson.loads(manifest.read_bytes())
        seconds = summary.get("seconds", {})
        phases = ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())
        print(f"{'  phases':<34} {phases}")
        print(
            f"{'  delete transactions':<34} {summary.get('batches', 0)}, slowest"
            f" {summary.get('slowest_batch_seconds', 0) * 1000:.0f} ms"
        )
    print(got["idle"].line("webhooks idle (baseline)"))
    print(got["busy"].line("webhooks during the run"))
    if manifest.exists():  # the same requests, by the phase they were sent in
        at = got["started"]
        for name, value in seconds.items():
            print(got["busy"].between(at, at + value).line(f"  during {name}"))
            at += value


async def fresh_pg(admin: str, name: str, template: str | None = None) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    copy = f' TEMPLATE "{template}"' if template else ""
    await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    await conn.close()
    return admin.rsplit("/", 1)[0] + f"/{name}"


if __name__ == "__main__":
    asyncio.run(main())
