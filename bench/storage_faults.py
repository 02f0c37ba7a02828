"""A full disk under a real gateway process: 503s, /readyz, the log it writes, recovery, loss.

Runs `python -m gateway.cli serve` (SQLite, log level INFO, stdout and stderr to one file) with
its database on an 8 MiB tmpfs (root only), fills the filesystem, sends webhooks for
`--seconds` from `--concurrency` workers, frees the space and reports: answers by status, the
503 latency, /readyz during the fault, the log written during it (bytes, lines, lines that are
not JSON, tracebacks), seconds until ready and until a webhook is stored again, and whether
every acknowledged message is in the database.

    .venv/bin/python bench/storage_faults.py                   # this checkout
    .venv/bin/python bench/storage_faults.py --root /work/main # another checkout (baseline)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.ingest import Server, clean_env, free_port, stop_server  # noqa: E402
from tests.helpers import SECRETS, telegram_update  # noqa: E402
from tests.signing import telegram_headers  # noqa: E402

KEY = "tg-bench"


def run_cli(root: Path, url: str, *argv: str) -> None:
    env = clean_env(CONTACTGATE_DATABASE_URL=url, CONTACTGATE_LOG_LEVEL="WARNING")
    py = str(root / ".venv/bin/python")
    subprocess.run([py, "-m", "gateway.cli", *argv], cwd=root, env=env, check=True)


def start(root: Path, url: str, log: Path) -> Server:
    port = free_port()
    env = clean_env(CONTACTGATE_DATABASE_URL=url, CONTACTGATE_LOG_LEVEL="INFO")
    with log.open("wb") as out:
        cmd = [str(root / ".venv/bin/python"), "-m", "gateway.cli", "serve", "--port", str(port)]
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, port, log)
    for _ in range(300):
        if ready_status(f"http://127.0.0.1:{port}/readyz") == 200:
            return server
        time.sleep(0.1)
    raise RuntimeError(f"not ready:\n{server.tail()}")


def ready_status(url: str) -> int:
    """The status of GET `url` (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    for size in (1 << 20, 1 << 12, 1 << 9):
        while True:
            try:
                os.write(fd, b"\0" * size)
            except OSError:
                break
    os.close(fd)
    return filler


async def post(session: aiohttp.ClientSession, base: str, update_id: int) -> tuple[int, float]:
    body = telegram_update(7, "x" * 2000, update_id)
    headers = telegram_headers(SECRETS["telegram"]["secret_token"])
    started = time.perf_counter()
    async with session.post(f"{base}/webhooks/{KEY}", data=body, headers=headers) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - started


async def fault_phase(base: str, seconds: float, workers: int) -> dict[str, object]:
    ids = iter(range(1000, 10_000_000))
    acked: list[int] = []
    failed: list[int] = []
    latencies: list[float] = []
    ready: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while time.monotonic() < deadline:
                update_id = next(ids)
                status, took = await post(session, base, update_id)
                (acked if status == 200 else failed).append(update_id)
                if status == 503:
                    latencies.append(took)

        async def watch() -> None:
            while time.monotonic() < deadline:
                async with session.get(f"{base}/readyz") as resp:
                    body = await resp.json()
                    ready[f"{resp.status} {body.get('cause', body.get('detail', ''))}"] += 1
                await asyncio.sleep(0.5)

        await asyncio.gather(watch(), *(worker() for _ in range(workers)))
    latencies.sort()
    return {
        "acked": acked,
        "failed": failed,
        "p50_503_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_503_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
        "readyz": dict(ready),
    }


async def recover(base: str) -> tuple[float, float]:
    started = time.monotonic()
    ready_at = stored_at = None
    update_id = 20_000_000
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < 30 and (ready_at is None or stored_at is None):
            if ready_at is None:
                async with session.get(f"{base}/readyz") as resp:
                    if resp.status == 200:
                        ready_at = time.monotonic() - started
            if stored_at is None:
                update_id += 1
                if (await post(session, base, update_id))[0] == 200:
                    stored_at = time.monotonic() - started
            await asyncio.sleep(0.05)
    return ready_at or float("inf"), stored_at or float("inf")


def log_figures(text: str) -> dict[str, object]:
    lines = text.splitlines()
    levels: Counter[str] = Counter()
    plain = 0
    for line in lines:
        try:
            levels[json.loads(line).get("level", "?")] += 1
        except ValueError:
            plain += 1
    return {
        "bytes": len(text.encode()),
        "lines": len(lines),
        "not_json": plain,
        "tracebacks": text.count("Traceback (most recent call last)"),
        "json_levels": dict(levels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE, help="checkout whose gateway runs")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cg-storage-bench-"))
    disk = work / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    server = None
    try:
        url = f"sqlite://{disk}/cg.db"
        run_cli(args.root, url, "migrate")
        run_cli(args.root, url, "workspace", "create", "bench", "--region", "EC")
        secret = f"--secret=secret_token={SECRETS['telegram']['secret_token']}"
        run_cli(args.root, url, "channel", "add", "bench", "telegram", "--key", KEY, secret)
        log = work / "gateway.log"
        server = start(args.root, url, log)
        base = f"http://127.0.0.1:{server.port}"
        before = len(log.read_bytes())
        filler = fill(disk)
        fault = asyncio.run(fault_phase(base, args.seconds, args.concurrency))
        during = log.read_bytes()[before:].decode(errors="replace")
        filler.unlink()
        ready_s, stored_s = asyncio.run(recover(base))
        acked, failed = fault.pop("acked"), fault.pop("failed")
        stop_server(server)
        server = None
        with sqlite3.connect(f"{disk}/cg.db") as conn:
            stored = {int(r[0]) for r in conn.execute("SELECT provider_message_id FROM message")}
        assert isinstance(acked, list) and isinstance(failed, list)
        lost = [i for i in acked if i not in stored]
        print(f"checkout {args.root}")
        print(f"fault {args.seconds:.0f} s, {args.concurrency} workers: {len(acked)} acked,")
        print(f"  {len(failed)} refused; 503 latency {fault['p50_503_ms']} / {fault['p99_503_ms']}")
        print(f"  ms (p50/p99); /readyz answers {fault['readyz']}")
        print(f"log during the fault: {log_figures(during)}")
        print(f"after freeing the space: ready in {ready_s:.2f} s, stored in {stored_s:.2f} s")
        print(f"acknowledged but not stored: {len(lost)}")
    finally:
        if server is not None:
            stop_server(server)
        subprocess.run(["umount", "-l", str(disk)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
