"""Contact operations on a large workspace: search, filter, sort, export, import.

Builds a synthetic workspace (default 1,000,000 contacts, each with 2 identities, custom fields,
~30 % tagged) through the store's own write helpers, then prints p50/p95 of each query and the
time and peak RSS of a full CSV export and of a CSV import (both run as `contactgate`
subprocesses so their memory is their own). Baselines measured in the same run: a LIKE scan of
the search column (what the text index saves), and a raw sqlite3/asyncpg CSV dump of the same
rows (the floor for an export). The duplicate finder's first page is timed on the same
workspace with planted pairs of every reason (bench/contacts_dupes.py).

    .venv/bin/python bench/contacts.py --contacts 1000000 [--backend sqlite|postgres] [--keep]
    .venv/bin/python bench/contacts.py --n 200000 --only duplicates --backend postgres
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import contacts_dupes
from gateway.provision import known_kinds
from store import db, query, tags, text
from store.access import Actor
from store.channels import upsert_channel
from store.db import raw_transaction
from store.fold import fold
from store.phone_keys import phone_key
from store.setup import get_workspace, upsert_workspace

FIRST = [
    "José",
    "María",
    "Ana",
    "Luis",
    "Carmen",
    "Jorge",
    "Lucía",
    "Pedro",
    "Sofía",
    "Diego",
    "Valentina",
    "Andrés",
    "Camila",
    "Mateo",
    "Isabel",
    "Tomás",
    "Elena",
    "Raúl",
    "Paula",
    "Héctor",
]
LAST = [
    "Pérez",
    "García",
    "López",
    "Núñez",
    "Rodríguez",
    "Martínez",
    "Sánchez",
    "Gómez",
    "Díaz",
    "Torres",
    "Ramírez",
    "Flores",
    "Rivera",
    "Vargas",
    "Castro",
    "Ortiz",
    "Morales",
    "Herrera",
    "Jiménez",
    "Ruiz",
]
CITIES = ["Quito", "Guayaquil", "Lima", "Bogotá", "São Paulo", "Cuenca", "Medellín", "Arequipa"]
COUNTRIES = ["EC", "PE", "CO", "BR", "MX", "AR"]
TAGS = ["vip", "lead", "Borrar", "mayorista", "soporte"]
TAG_KEYS = ["lead", "mayorista", "soporte"]
BATCH = 2000  # 15 parameters a row: under both databases' limits
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def person(i: int, rnd: random.Random) -> dict[str, Any]:
    """The i-th synthetic contact (deterministic for a seed)."""
    return {
        "name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)} {i}",
        "email": f"user{i}@example{i % 97}.com",
        "phone": f"+5939{i:08d}",
        "company": f"Empresa {i % 5000}",
        "city": rnd.choice(CITIES),
        "country": rnd.choice(COUNTRIES),
        "custom": {"plan": rnd.choice(["oro", "plata", "bronce"]), "score": i % 1000},
    }


async def build(n: int, ws: int, channels: list[int]) -> float:
    """Insert n contacts with 2 identities each and tags; returns seconds."""
    rnd = random.Random(42)
    started = time.perf_counter()
    async with raw_transaction() as tx:
        tag_ids = await tags.ensure(tx, ws, TAGS)
    for start in range(0, n, BATCH):
        async with raw_transaction() as tx:
            await _insert_batch(tx, ws, channels, tag_ids, range(start, min(n, start + BATCH)), rnd)
        if start and start % 100_000 == 0:
            print(f"  built {start:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    return time.perf_counter() - started


async def _insert_batch(
    tx: Any, ws: int, channels: list[int], tag_ids: dict[str, int], ids: range, rnd: random.Random
) -> None:
    from store.serial import dump_json

    people = [person(i, rnd) for i in ids]
    rows = []
    for i, p in zip(ids, people, strict=True):
        idents = [(f"user{i}", f"tg{i}"), (None, p["phone"].lstrip("+"))]
        created = NOW - timedelta(minutes=i % 500_000)
        active = NOW - timedelta(minutes=(i * 7919) % 400_000) if i % 5 else None
        rows.append(
            (
                ws,
                p["name"],
                p["email"],
                p["phone"],
                phone_key(p["phone"]),
                p["company"],
                p["city"],
                p["country"],
                dump_json(p["custom"]),
                "import",
                created,
                created,
                active,
                active,
                text.search_text(p, idents),
                text.fold_or_none(p["name"]),
            )
        )
    got = await tx.fetch(_multi_insert(len(rows)), [v for r in rows for v in r])
    contact_ids = [int(r[0]) for r in got]
    idents = []
    for cid, i, p in zip(contact_ids, ids, people, strict=True):
        idents.append((ws, channels[0], cid, f"tg{i}", f"user{i}", "2026-11"))
        idents.append((ws, channels[1], cid, p["phone"].lstrip("+"), None, "2026-11"))
    await tx.executemany(
        "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, username,"
        " period, created_at) VALUES (?,?,?,?,?,?,CURRENT_TIMESTAMP)",
        idents,
    )
    # vip on 20 %, Borrar on 30 % (a third of them also vip), one other tag on 10 %
    links = [(cid, tag_ids["vip"]) for cid in contact_ids if cid % 5 == 0]
    links += [(cid, tag_ids["borrar"]) for cid in contact_ids if cid % 10 in (0, 3, 7)]
    links += [(cid, tag_ids[TAG_KEYS[cid % 3]]) for cid in contact_ids if cid % 10 == 9]
    await tx.executemany(
        "INSERT INTO contact_tag (contact_id, tag_id, created_at) VALUES (?,?,CURRENT_TIMESTAMP)"
        " ON CONFLICT DO NOTHING",
        links,
    )


def _multi_insert(n: int) -> str:
    cols = (
        "workspace_id, name, email, phone, phone_key, company, city, country, custom, source,"
        " created_at, updated_at, last_activity_at, last_incoming_at, search_text, name_key"
    )
    row = "(" + ",".join("?" * 16) + ")"
    return f"INSERT INTO contact ({cols}) VALUES {','.join([row] * n)} RETURNING id"


async def timed(label: str, runs: int, make: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Run make(i) `runs` times; print p50/p95 in ms."""
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        await make(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(f"{label:<44} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms   (n={runs})", flush=True)
    return samples


async def queries(actor: Actor, n: int, runs: int) -> None:
    """The interactive operations, with the LIKE-scan baseline."""
    rnd = random.Random(7)
    subs = [f"{rnd.choice(FIRST)[1:4]}" for _ in range(runs)]  # e.g. "osé", "arí", "uci"
    await timed(
        "baseline: LIKE scan of search_text",
        max(5, runs // 5),
        lambda i: db.ClientTx().fetch(
            "SELECT COUNT(*) FROM contact WHERE workspace_id = ? AND search_text LIKE ?",
            [actor.workspace_id, f"%{fold(subs[i])}{i % 10}%"],
        ),
    )
    await timed(
        "search name substring, common ('osé')",
        runs,
        lambda i: query.list_contacts(actor, q=subs[i]),
    )
    await timed(
        "search name substring, full name ('Ana Díaz')",
        runs,
        lambda i: query.list_contacts(actor, q=f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"),
    )
    await timed(
        "search name substring + number ('osé 4821')",
        runs,
        lambda i: query.list_contacts(actor, q=f"{subs[i]} {rnd.randrange(n)}"),
    )
    await timed(
        "search rare substring (a number)",
        runs,
        lambda i: query.list_contacts(actor, q=f"{rnd.randrange(n)}"),
    )
    await timed(
        "search by phone (+593 9 …)",
        runs,
        lambda i: query.list_contacts(actor, q=_spaced(f"+5939{rnd.randrange(n):08d}")),
    )
    await timed(
        "search by email (exact)",
        runs,
        lambda i: query.list_contacts(actor, q=_email(rnd.randrange(n))),
    )
    nested = "tag:vip (country:EC OR country:PE) -tag:Borrar last_in<30d"
    await timed(
        "4-condition nested filter: count + page",
        max(5, runs // 5),
        lambda i: query.list_contacts(actor, filter=nested, count=True),
    )
    for sort in ("name", "-last_activity_at", "phone", "-created_at", "city"):
        await timed(
            f"sorted first page ({sort})",
            max(5, runs // 5),
            lambda i, s=sort: query.list_contacts(actor, sort=s),
        )


def _spaced(phone: str) -> str:
    return f"{phone[:4]} {phone[4:6]} {phone[6:9]} {phone[9:]}"


def _email(i: int) -> str:
    return f"user{i}@example{i % 97}.com"


def child_run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; returns (seconds, peak RSS MiB of children so far)."""
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak


def raw_dump(url: str, out: Path) -> float:
    """Baseline: a plain cursor over the same columns written with csv, no store code."""
    started = time.perf_counter()
    if url.startswith("sqlite://"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite://"))
        with out.open("w", newline="") as fh:
            writer = csv.writer(fh)
            for row in conn.execute(
                "SELECT name, email, phone, company, city, country FROM contact"
            ):
                writer.writerow(row)
        conn.close()
    else:
        import asyncpg

        async def dump() -> None:
            conn = await asyncpg.connect(url)
            with out.open("w", newline="") as fh:
                writer = csv.writer(fh)
                async with conn.transaction():
                    async for row in conn.cursor(
                        "SELECT name, email, phone, company, city, country FROM contact",
                        prefetch=5000,
                    ):
                        writer.writerow(tuple(row))
            await conn.close()

        asyncio.run(dump())
    return time.perf_counter() - started


def write_import_csv(path: Path, n: int) -> None:
    """An n-row CSV of new people (name, email, phone, city, country, tags, 2 custom columns)."""
    rnd = random.Random(99)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "email", "phone", "city", "country", "tags", "plan", "score"])
        for i in range(n):
            writer.writerow(
                [
                    f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                    f"imp{i}@example.net",
                    f"+5932{i:07d}",
                    rnd.choice(CITIES),
                    rnd.choice(COUNTRIES),
                    rnd.choice(TAGS),
                    rnd.choice(["oro", "plata"]),
                    str(i % 100),
                ]
            )


def bulk_figures(url: str, n: int, workdir: Path) -> None:
    """Export all contacts (CSV) and import an n-row CSV, each in a child process."""
    env = {**os.environ, "CONTACTGATE_DATABASE_URL": url, "CONTACTGATE_LOG_LEVEL": "WARNING"}
    cli = [sys.executable, "-m", "gateway.cli"]
    base = raw_dump(url, workdir / "raw.csv")
    print(f"{'baseline: raw cursor -> csv of all rows':<44} {base:8.1f} s", flush=True)
    seconds, peak = child_run([*cli, "export", "bench", "-o", str(workdir / "all.csv")], env)
    print(f"{'export all contacts to CSV':<44} {seconds:8.1f} s   peak RSS {peak:6.0f} MiB")
    write_import_csv(workdir / "import.csv", n)
    seconds, peak = child_run([*cli, "import", "bench2", str(workdir / "import.csv")], env)
    print(
        f"{f'import {n:,}-row CSV (new contacts)':<44} {seconds:8.1f} s   peak RSS {peak:6.0f} MiB"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", "--n", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--skip-bulk", action="store_true", help="no export/import figures")
    parser.add_argument(
        "--only", choices=["duplicates"], help="only these figures (no search, export, import)"
    )
    parser.add_argument("--reuse", help="an existing bench database URL: skip the build")
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cg-bench-contacts-"))
    if args.reuse:
        url = args.reuse
    elif args.backend == "sqlite":
        url = f"sqlite://{workdir}/bench.db"
    else:
        url = await _fresh_pg(args.pg)
    await db.migrate(url)
    await db.init(url)
    try:
        await upsert_workspace("bench", plan_cap=10_000_000, default_region="EC")
        await upsert_workspace("bench2", plan_cap=10_000_000, default_region="EC")
        ws = (await get_workspace("bench")).id
        chans = [
            (
                await upsert_channel(
                    "bench",
                    k,
                    f"{k}-bench-key",
                    {"secret_token": "s" * 16} if k == "telegram" else {"auth_token": "t"},
                    known_kinds=known_kinds(),
                )
            ).id
            for k in ("telegram", "twilio_sms")
        ]
        print(f"backend {args.backend}, {args.contacts:,} contacts, workdir {workdir}")
        planted = max(5, args.contacts // 2000) * len(contacts_dupes.REASONS)
        if not args.reuse:
            built = await build(args.contacts, ws, chans)
            print(
                f"{'build (contacts + 2 identities + tags)':<44} {built:8.1f} s"
                f"   ({args.contacts / built:,.0f} contacts/s)"
            )
            planted = await contacts_dupes.plant(ws, chans[0], args.contacts)
        started = time.perf_counter()
        await db.optimize()  # what the gateway's scheduler does hourly
        print(f"{'planner statistics (db.optimize)':<44} {time.perf_counter() - started:8.1f} s")
        actor = Actor(ws, "bench", "cli", "owner")
        if not args.only:
            await queries(actor, args.contacts, args.runs)
        await contacts_dupes.figures(actor, planted, max(5, args.runs // 5), timed)
    finally:
        await db.close()
    if not args.skip_bulk and not args.only:
        # in a thread: raw_dump's PostgreSQL baseline runs its own event loop
        await asyncio.to_thread(bulk_figures, url, args.contacts, workdir)
    if not args.keep:
        shutil.rmtree(workdir)


async def _fresh_pg(admin: str) -> str:
    import asyncpg

    name = "cg_bench_contacts"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return admin.rsplit("/", 1)[0] + f"/{name}"


if __name__ == "__main__":
    asyncio.run(main())
