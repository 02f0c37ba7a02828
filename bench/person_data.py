"""A person's data archive (GET /contacts/{ref}/data) in flat memory: the same export of one
contact with 10,000 and with 100,000 messages, peak Python memory (tracemalloc) and time.

Baseline in the same run: the size of the messages themselves (the bytes a whole-in-memory
export would hold at least). Flat memory means the peak does not grow with the message count.

    .venv/bin/python bench/person_data.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from gateway.provision import known_kinds
from store import db
from store.access import Actor
from store.channels import upsert_channel
from store.person import data
from store.setup import get_workspace, upsert_workspace

TEXT = "Hola, quisiera saber el estado de mi pedido número 12345, gracias. " * 2


async def seed(ws: int, channel: int, n: int, slug: str) -> int:
    """One contact with one identity and `n` inbound messages; its id."""
    client = db.client()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await client.execute_query(
        "INSERT INTO contact (workspace_id, name, custom, source, created_at, updated_at,"
        " search_text) VALUES (?, ?, '{}', 'inbound', ?, ?, '')",
        [ws, f"Persona {slug}", now, now],
    )
    cid = int((await client.execute_query("SELECT max(id) FROM contact"))[1][0][0])
    await client.execute_query(
        "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, period,"
        " created_at) VALUES (?, ?, ?, ?, '2026-01', ?)",
        [ws, channel, cid, f"ext-{slug}", now],
    )
    iid = int((await client.execute_query("SELECT max(id) FROM identity"))[1][0][0])
    rows = [(ws, channel, iid, cid, "in", f"{slug}-{i}", "text", TEXT, now, now) for i in range(n)]
    for start in range(0, n, 5000):
        await client.execute_many(
            "INSERT INTO message (workspace_id, channel_id, identity_id, contact_id, direction,"
            " provider_message_id, type, text, sent_at, received_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            [list(r) for r in rows[start : start + 5000]],
        )
    return cid


async def measure(actor: Actor, cid: int, out: Path) -> tuple[float, int, int]:
    """(seconds, peak traced bytes, archive bytes) of one export to a file."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    with out.open("wb") as fh:
        await data.write(actor, cid, fh)
    seconds = time.perf_counter() - started
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = await asyncio.to_thread(lambda: out.stat().st_size)
    return seconds, peak, size


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="cg-bench-person-"))
    url = f"sqlite://{workdir}/bench.db"
    await db.migrate(url)
    await db.init(url)
    try:
        await upsert_workspace("bench", plan_cap=10_000_000, default_region="EC")
        ws = (await get_workspace("bench")).id
        channel = await upsert_channel(
            "bench", "telegram", "tg-bench", {"secret_token": "s" * 16}, known_kinds=known_kinds()
        )
        actor = Actor(ws, "bench", "cli", "admin")
        print(
            f"{'messages':>10} {'seconds':>8} {'peak MiB':>9} {'archive MiB':>12} {'text MiB':>9}"
        )
        for n in sizes:
            cid = await seed(ws, channel.id, n, f"p{n}")
            seconds, peak, size = await measure(actor, cid, workdir / f"{n}.zip")
            text_mib = n * len(TEXT.encode()) / 2**20
            print(
                f"{n:>10,} {seconds:>8.2f} {peak / 2**20:>9.1f} {size / 2**20:>12.2f}"
                f" {text_mib:>9.1f}"
            )
    finally:
        await db.close()
        shutil.rmtree(workdir)


if __name__ == "__main__":
    asyncio.run(main())
