"""Events-out benchmark: what a subscription costs the ingest path, and how fast the deliverer is.

    .venv/bin/python bench/outbox.py [--backend sqlite|pg|both] [--duration 10] [--events 50000]

1. Ingest with and without events out, in the same run: bench/ingest.py's measurement (fresh
   database, one `contactgate serve`, wrk replaying signed webhooks) twice per backend, first
   without a subscription, then with one to a local receiver (bench/bare.py, answering 200 in
   its own process), so every stored message also writes `message.received` (and every new
   sender `contact.created`) in its batch, and the gateway's deliverer posts them while wrk
   runs. The figure is the ratio of the two rates (target: within 10 %).
2. The deliverer alone on SQLite: `--events` inbound messages from 1,000 senders stored through
   the ingest path's batched write (their events written as ingest writes them), then
   `gateway.events_out.deliver_once` rounds, rendering, signing and posting each event to the
   local receiver, until none is pending (target: at least 2,000 events/s).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:  # run as a script: make gateway/, store/ and bench/ importable
    sys.path.insert(0, str(ROOT))

from bench import ingest  # noqa: E402

CONTACTS = 1000
EMIT_BATCH = 1000


def receiver(folder: Path) -> ingest.Server:
    """bench/bare.py as the events' receiver: it reads each body and answers 200."""
    return ingest.start_server([ingest.PY, str(BENCH / "bare.py")], ingest.clean_env(),
                               folder / "receiver.log")  # fmt: skip


def ingest_ratio(args: argparse.Namespace, folder: Path, url: str) -> list[str]:
    """Ingest without, then with, one subscription on each backend; lines to print."""
    wrk = ingest.ensure_wrk()
    pool = ingest.build_pool(folder, args)
    backends = ["sqlite", "pg"] if args.backend == "both" else [args.backend]
    lines = []
    for backend in backends:
        if backend == "pg" and (reason := ingest.pg_unreachable(args.pg_admin)):
            lines.append(f"pg skipped: {reason}")
            continue
        plain = ingest.measure_backend(backend, wrk, pool, args, folder)
        print(f"{plain.name}: {plain.run.rate:,.0f} webhooks/s", flush=True)
        runs = [plain]
        for deliver in (True, False):
            events = ingest.measure_backend(
                backend, wrk, pool, args, folder, subscribe=url, deliver=deliver
            )
            print(f"{events.name}: {events.run.rate:,.0f} webhooks/s", flush=True)
            runs.append(events)
        for events in runs[1:]:
            ratio = events.run.rate / plain.run.rate
            verdict = "met" if ratio >= 0.9 else "MISSED"
            lines.append(
                f"{events.name}: {events.run.rate:,.0f}/s against {plain.run.rate:,.0f}/s"
                f" without: ratio {ratio:.3f} (target >= 0.90: {verdict})"
                f"; p99 {plain.run.ms('p99_us'):.1f} -> {events.run.ms('p99_us'):.1f} ms"
                f"; server cpu {plain.server_cpu:.2f} -> {events.server_cpu:.2f} cores"
            )
        for m in runs:
            assert m.check is not None
            good, text = m.check.verdict(m.run)
            lines.append(f"  {m.name}: rows {'ok' if good else 'FAIL'}: {text}")
    return lines


async def deliverer_rate(folder: Path, url: str, count: int) -> str:
    """Store `count` inbound messages from 1,000 senders through the ingest path's batched write
    (so the outbox holds what ingest writes: message.received by reference, one contact.created
    per sender), then deliver everything; a line to print."""
    from datetime import UTC, datetime

    from gateway import events_out
    from store import db, subscriptions
    from store.inbound.ingest import write_batch
    from store.types import Inbound, Item
    from tests.helpers import channel, owner, workspace

    database = f"sqlite://{folder}/deliverer.db"
    ingest.cli(database, "migrate")
    await db.init(database)
    try:
        await workspace(cap=1_000_000)
        await subscriptions.create(await owner(), url)
        tg = await channel("telegram")
        now = datetime.now(UTC)
        for start in range(0, count, EMIT_BATCH):
            batch = [
                Item(tg, Inbound(external_id=str(n % CONTACTS), provider_message_id=str(n),
                                 type="text", sent_at=now, text=f"hola {n}"))
                for n in range(start, min(count, start + EMIT_BATCH))
            ]  # fmt: skip
            async with db.raw_transaction() as tx:
                await write_batch(tx, batch)
        total = int((await db.ClientTx().fetch("SELECT COUNT(*) FROM outbox_event"))[0][0])
        rounds, started = 0, time.perf_counter()
        async with events_out.session(15.0) as session:
            while await events_out.deliver_once(session):
                rounds += 1
        seconds = time.perf_counter() - started
        left = await db.ClientTx().fetch(
            "SELECT state, COUNT(*) FROM outbox_event GROUP BY state ORDER BY state"
        )
    finally:
        await db.close()
    rate = total / seconds
    return (
        f"deliverer on SQLite: {total:,} events ({count:,} message.received rendered when"
        f" claimed, {CONTACTS:,} contact.created) in {seconds:.2f} s ({rounds} rounds of up to"
        f" {events_out.BATCH}): {rate:,.0f} events/s"
        f" (target >= 2,000: {'met' if rate >= 2000 else 'MISSED'}); states {dict(left)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print their figures."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--skip-ingest", action="store_true")
    own, rest = parser.parse_known_args(argv)
    args = ingest.parse_args(rest)
    folder = Path(tempfile.mkdtemp(prefix="cg-bench-outbox-"))
    server = receiver(folder)
    url = f"http://127.0.0.1:{server.port}/webhooks/events"
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        lines = [asyncio.run(deliverer_rate(folder, url, own.events))]
        print(lines[0], flush=True)
        if not own.skip_ingest:
            lines += ingest_ratio(args, folder, url)
    finally:
        ingest.stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(["", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
