"""Ingest benchmark: signed webhooks through one gateway process, against a bare aiohttp handler.

    .venv/bin/python bench/ingest.py [--backend sqlite|pg|both] [--duration 10] [--connections 64]

For each backend: a fresh database (a temporary SQLite file, or a new PostgreSQL database
`cg_bench_<random>` that is dropped at the end), migrated and set up with the `contactgate` CLI
(a workspace with a large cap, a Telegram and a WhatsApp channel); one `contactgate serve`
process (uvloop, CONTACTGATE_LOG_LEVEL=WARNING, stdout to /dev/null); the known senders
created through the gateway; then wrk (-t1 -c64, bench/wrk_requests.lua) replays pre-signed,
unique webhooks (90% known senders, 10% new; half Telegram, half WhatsApp): a short warm-up on
one slice of them, then the timed run on another. Afterwards the stored rows (message +
held_message) are read back and compared with what wrk sent and what was acknowledged.

In the same run the bare handler (bench/bare.py: reads the body, answers 200) is measured with
the same wrk settings and the same requests, and each backend's rate is given as a ratio to it.
See bench/README.md for what the table means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
LUA = BENCH / "wrk_requests.lua"
PY = sys.executable
if str(ROOT) not in sys.path:  # run as a script: make gateway/, store/ and tests/ importable
    sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("CONTACTGATE_BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/test")
WORKSPACE = "bench"
TG_KEY = "bench-telegram-key"
WA_KEY = "bench-whatsapp-key"
SEED_BASE = 1_000_000_000  # update_id / wamid numbers of the messages that create known senders
POOL_BASE = 2_000_000_000  # ... of the pool's requests: line i carries POOL_BASE + i
TG_KNOWN, TG_NEW = 100_000, 50_000_000  # Telegram user ids: known senders, then new ones
WA_KNOWN, WA_NEW = 0, 10_000_000  # WhatsApp numbers 5939xxxxxxxx (Ecuador mobile)
WAMID = "wamid.bench"
PROFILE_HZ = 200
TARGETS = {"sqlite": (8_000.0, 25.0, 0.2), "pg": (4_000.0, None, None)}


# --------------------------------------------------------------------------- requests


@dataclass(slots=True)
class Pool:
    """Pre-signed requests in a file for wrk, and the seed requests that create known senders."""

    path: Path
    slices: dict[str, tuple[int, int]]  # name -> (first line, count)
    seeds: list[tuple[str, dict[str, str], bytes]]
    mix: Counter[str] = field(default_factory=Counter)
    size_bytes: int = 0


def _wa_number(n: int) -> str:
    return f"5939{n:08d}"


def build_pool(folder: Path, args: argparse.Namespace) -> Pool:
    """Write every request the runs will need; each line is a unique, signed webhook."""
    from tests.helpers import SECRETS, telegram_update, whatsapp_text
    from tests.signing import meta_signature, telegram_headers

    tg_secret = SECRETS["telegram"]["secret_token"]
    wa_secret = SECRETS["whatsapp"]["app_secret"]
    tg_header = next(iter(telegram_headers(tg_secret).items()))

    seeds: list[tuple[str, dict[str, str], bytes]] = []
    for n in range(args.known):
        body = telegram_update(TG_KNOWN + n, update_id=SEED_BASE + 2 * n)
        seeds.append((f"/webhooks/{TG_KEY}", dict([tg_header]), body))
        body = whatsapp_text(_wa_number(WA_KNOWN + n), wamid=f"{WAMID}{SEED_BASE + 2 * n + 1}")
        seeds.append(
            (f"/webhooks/{WA_KEY}", {"X-Hub-Signature-256": meta_signature(wa_secret, body)}, body)
        )

    per_second = args.max_rate
    sizes = {"warmup": args.warmup * per_second, "run": args.duration * per_second}
    if args.profile:
        sizes["profile"] = (args.profile_duration + 1) * per_second
    slices: dict[str, tuple[int, int]] = {}
    total = 0
    for name, count in sizes.items():
        slices[name] = (total, count)
        total += count

    rng = random.Random(args.seed)
    mix: Counter[str] = Counter()
    new_tg = new_wa = 0
    lines: list[bytes] = []
    for i in range(total):
        number = POOL_BASE + i
        new = args.known == 0 or rng.random() < args.new_share
        if rng.random() < 0.5:
            if new:
                user, new_tg = TG_NEW + new_tg, new_tg + 1
            else:
                user = TG_KNOWN + rng.randrange(args.known)
            body = telegram_update(user, update_id=number)
            head = f"/webhooks/{TG_KEY}\t{tg_header[0]}\t{tg_header[1]}\t"
            mix["telegram new" if new else "telegram known"] += 1
        else:
            if new:
                wa, new_wa = _wa_number(WA_NEW + new_wa), new_wa + 1
            else:
                wa = _wa_number(WA_KNOWN + rng.randrange(args.known))
            body = whatsapp_text(wa, wamid=f"{WAMID}{number}")
            head = f"/webhooks/{WA_KEY}\tX-Hub-Signature-256\t{meta_signature(wa_secret, body)}\t"
            mix["whatsapp new" if new else "whatsapp known"] += 1
        lines.append(head.encode() + body)
    path = folder / "requests.tsv"
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    return Pool(path, slices, seeds, mix, len(data))


def pool_number(provider_message_id: str) -> int | None:
    """The number a benchmark request carries in its update_id or wamid; None for others."""
    text = provider_message_id.removeprefix(WAMID)
    return int(text) if text.isdigit() else None


# --------------------------------------------------------------------------- wrk


def ensure_wrk() -> str:
    """The wrk binary; when missing, say how to get it and, as root, apt-get install it."""
    found = shutil.which("wrk")
    if found:
        return found
    print(
        "wrk is not installed. It is Debian's package `wrk`: apt-get install -y wrk "
        "(or build https://github.com/wg/wrk and put it on PATH).",
        file=sys.stderr,
    )
    if os.geteuid() != 0:
        print("not root, so not installing it; install wrk and run again.", file=sys.stderr)
        sys.exit(2)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("running as root: apt-get install -y wrk", file=sys.stderr)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, stdout=sys.stderr).returncode != 0:
        print("install failed; apt-get update, then try again", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=sys.stderr, check=False)
        subprocess.run(install, env=env, stdout=sys.stderr, check=False)
    found = shutil.which("wrk")
    if not found:
        print("wrk is still missing; install it and run again.", file=sys.stderr)
        sys.exit(2)
    return found


@dataclass(slots=True)
class WrkResult:
    """What wrk's done() reported, plus the CPU the load generator itself used."""

    data: dict[str, Any]
    wrk_cpu: float

    @property
    def seconds(self) -> float:
        return float(self.data["duration_us"]) / 1e6

    @property
    def non_2xx(self) -> int:
        return int(self.data["status_errors"])

    @property
    def acknowledged(self) -> int:
        return int(self.data["requests"]) - self.non_2xx

    @property
    def rate(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        d = self.data
        return int(d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"])

    def ms(self, key: str) -> float:
        return float(self.data[key]) / 1000


def run_wrk(
    wrk: str,
    port: int,
    pool: Pool,
    slice_name: str,
    args: argparse.Namespace,
    seconds: int,
    *,
    wrap: bool = False,
) -> WrkResult:
    """One wrk run over one slice of the pool; the JSON line its done() prints, parsed."""
    first, count = pool.slices[slice_name]
    cmd = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
        "--",
        str(pool.path),
        str(first),
        str(count),
        str(args.threads),
        "wrap" if wrap else "once",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return WrkResult(json.loads(line.removeprefix("BENCH_JSON ")), cpu)
    raise RuntimeError(
        f"wrk printed no result (exit {done.returncode}):\n{done.stdout}{done.stderr}"
    )


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any CONTACTGATE_* setting of the caller's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTGATE_")}
    env["PYTHONPATH"] = str(ROOT)
    return env | extra


def cli(url: str, *argv: str) -> str:
    """Run `python -m gateway.cli ARGV` on the database at `url`; its output."""
    env = clean_env(CONTACTGATE_DATABASE_URL=url, CONTACTGATE_LOG_LEVEL="WARNING")
    done = subprocess.run(
        [PY, "-m", "gateway.cli", *argv], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"contactgate {' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


@dataclass(slots=True)
class Server:
    """A server process this benchmark started."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-30:])

    def cpu_seconds(self) -> float:
        """User + system CPU of the process (all its threads) so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(cmd: list[str], env: dict[str, str], log: Path) -> Server:
    """Start a server on a free port (stdout to /dev/null, stderr to `log`); wait until ready."""
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = Server(proc, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server not ready after 60 s:\n{server.tail()}")


def stop_server(server: Server) -> None:
    """SIGTERM (aiohttp finishes in-flight requests, the writer drains its queue), then wait."""
    if server.proc.poll() is not None:
        return
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


async def _seed(port: int, seeds: list[tuple[str, dict[str, str], bytes]], workers: int) -> int:
    import aiohttp

    queue = list(reversed(seeds))
    failures = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while queue:
            path, headers, body = queue.pop()
            async with session.post(
                f"http://127.0.0.1:{port}{path}",
                data=body,
                headers={**headers, "Content-Type": "application/json"},
            ) as resp:
                await resp.read()
                if resp.status != 200:
                    failures += 1

    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(workers)))
    return failures


def seed_known_senders(server: Server, pool: Pool, workers: int) -> float:
    """Send each known sender's first message through the gateway; seconds taken."""
    started = time.perf_counter()
    failures = asyncio.run(_seed(server.port, pool.seeds, workers))
    if failures:
        raise RuntimeError(f"{failures} of {len(pool.seeds)} seed webhooks were not accepted")
    return time.perf_counter() - started


# --------------------------------------------------------------------------- databases


@dataclass(slots=True)
class Database:
    """A fresh database for one backend."""

    backend: str
    url: str
    sqlite_path: Path | None = None


async def _pg_admin(admin: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_unreachable(admin: str) -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    try:
        asyncio.run(_pg_admin(admin, "SELECT 1"))
    except Exception as exc:  # any failure to connect means: skip or stop, with the reason
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path, admin: str) -> Iterator[Database]:
    """A new, empty database; a PostgreSQL one is dropped on the way out."""
    if backend == "sqlite":
        path = folder / "bench-sqlite.db"
        for old in folder.glob("bench-sqlite.db*"):
            old.unlink()
        yield Database(backend, f"sqlite://{path}", path)
        return
    name = f"cg_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield Database(backend, f"{admin.rsplit('/', 1)[0]}/{name}")
    finally:
        asyncio.run(_pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


STORED_SQL = (
    "SELECT provider_message_id FROM message UNION ALL SELECT provider_message_id FROM held_message"
)


async def _pg_stored(url: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        return [r[0] for r in await conn.fetch(STORED_SQL)]
    finally:
        await conn.close()


def stored_numbers(database: Database) -> list[int]:
    """Numbers of every benchmark message stored (message + held_message rows)."""
    if database.sqlite_path is not None:
        with contextlib.closing(sqlite3.connect(database.sqlite_path)) as conn:
            ids = [r[0] for r in conn.execute(STORED_SQL)]
    else:
        ids = asyncio.run(_pg_stored(database.url))
    return [n for n in map(pool_number, ids) if n is not None]


# --------------------------------------------------------------------------- one backend


@dataclass(slots=True)
class Check:
    """Rows stored for the timed run against requests sent and acknowledged."""

    sent: int
    stored: int
    missing_in_flight: int  # sent, not stored, among each connection's last request at stop
    missing_answered: int  # sent, not stored, and answered before wrk stopped
    unexpected: int  # stored, never sent in this run (a repeat or another slice)

    def verdict(self, run: WrkResult) -> tuple[bool, str]:
        """Whether every acknowledged webhook was stored, and a line saying so."""
        if run.data["exhausted"]:
            return False, "request pool exhausted (raise --max-rate): duplicates were sent"
        if self.unexpected:
            return False, f"{self.unexpected} stored rows were never sent in this run"
        if self.stored < run.acknowledged:
            return False, f"LOST: {run.acknowledged - self.stored} acknowledged, not stored"
        if self.missing_answered > run.non_2xx:
            return False, (
                f"LOST: {self.missing_answered} answered webhooks not stored,"
                f" only {run.non_2xx} refused"
            )
        late = self.stored - run.acknowledged
        text = f"every acknowledged webhook stored; {late} more answered after wrk's timer stopped"
        if self.missing_in_flight:
            text += f", {self.missing_in_flight} cut off mid-request when wrk closed its sockets"
        return True, text


def check_run(
    run: WrkResult, pool: Pool, slice_name: str, numbers: list[int], connections: int
) -> Check:
    """Compare the stored numbers of one slice with the numbers each wrk thread sent.

    Each thread replays its slice in order and a connection asks for its next request only
    after the answer to its previous one, so of the requests a thread sent only its last
    `connections per thread` can have been unanswered when wrk stopped: a missing row among the
    earlier ones is an answered webhook that was not stored.
    """
    first, count = pool.slices[slice_name]
    threads = run.data["threads"]
    per = count // len(threads)
    tail = -(-connections // len(threads))
    sent: set[int] = set()
    recent: set[int] = set()
    for thread in threads:
        lo = POOL_BASE + int(thread["first"])
        hi = lo + min(int(thread["sent"]), per)
        sent.update(range(lo, hi))
        recent.update(range(max(lo, hi - tail), hi))
    lo, hi = POOL_BASE + first, POOL_BASE + first + count
    stored = [n for n in numbers if lo <= n < hi]
    stored_set = set(stored)
    missing = sent - stored_set
    unexpected = len(stored_set - sent) + (len(stored) - len(stored_set))
    in_flight = len(missing & recent)
    return Check(len(sent), len(stored), in_flight, len(missing) - in_flight, unexpected)


@dataclass(slots=True)
class Measured:
    """One server's figures."""

    name: str
    run: WrkResult
    server_cpu: float  # cores busy in the server process during the timed run
    check: Check | None = None
    notes: list[str] = field(default_factory=list)
    baseline: float = 0.0  # bare handler requests/s around this run (mean of before and after)


def busy_note() -> str:
    """The machine's load average: other work on the 2 shared cores skews every figure."""
    one, five, _ = os.getloadavg()
    return f"load average before the timed run: {one:.2f} (1 min), {five:.2f} (5 min)"


def measure_bare(wrk: str, pool: Pool, args: argparse.Namespace, folder: Path) -> Measured:
    """The bare aiohttp handler, with the same requests and wrk settings."""
    env = clean_env()
    server = start_server([PY, str(BENCH / "bare.py")], env, folder / "bare.log")
    try:
        run_wrk(wrk, server.port, pool, "warmup", args, args.warmup, wrap=True)
        load = busy_note()
        cpu0 = server.cpu_seconds()
        run = run_wrk(wrk, server.port, pool, "run", args, args.duration, wrap=True)
        cpu = (server.cpu_seconds() - cpu0) / run.seconds
    finally:
        stop_server(server)
    return Measured("bare aiohttp", run, cpu, notes=[load])


def measure_backend(
    backend: str,
    wrk: str,
    pool: Pool,
    args: argparse.Namespace,
    folder: Path,
    subscribe: str | None = None,
    deliver: bool = True,
) -> Measured:
    """Set up a fresh database, start the gateway, seed, warm up, measure, check the rows.

    With `subscribe` (a URL) the workspace's events go there (bench/outbox.py), posted by the
    gateway's deliverer unless `deliver` is false (then they only pile up in the outbox)."""
    with fresh_database(backend, folder, args.pg_admin) as database:
        started = time.perf_counter()
        cli(database.url, "migrate")
        cli(
            database.url, "workspace", "create", WORKSPACE, "--cap", str(args.cap), "--region", "EC"
        )
        from tests.helpers import SECRETS

        for kind, key in (("telegram", TG_KEY), ("whatsapp", WA_KEY)):
            secrets = [f"--secret={k}={v}" for k, v in SECRETS[kind].items()]
            cli(database.url, "channel", "add", WORKSPACE, kind, "--key", key, *secrets)
        if subscribe:
            cli(database.url, "events", "subscribe", WORKSPACE, subscribe)
        env = clean_env(
            CONTACTGATE_DATABASE_URL=database.url,
            CONTACTGATE_LOG_LEVEL=args.log_level,
            CONTACTGATE_EVENTS_OUT=str(deliver).lower(),
        )
        log = folder / f"gateway-{backend}.log"
        server = start_server([PY, "-m", "gateway.cli", "serve"], env, log)
        notes = [f"set-up {time.perf_counter() - started:.1f} s"]
        try:
            seconds = seed_known_senders(server, pool, args.connections)
            notes.append(f"{len(pool.seeds):,} known senders created in {seconds:.1f} s")
            if backend == "pg" and args.analyze:
                asyncio.run(_pg_admin(database.url, "ANALYZE"))
                notes.append("ANALYZE run after seeding (see --no-analyze)")
            warm = run_wrk(wrk, server.port, pool, "warmup", args, args.warmup)
            notes.append(f"warm-up {warm.rate:,.0f}/s")
            notes.append(busy_note())
            cpu0 = server.cpu_seconds()
            run = run_wrk(wrk, server.port, pool, "run", args, args.duration)
            cpu = (server.cpu_seconds() - cpu0) / run.seconds
            if args.profile:
                notes.append(profile(backend, server, wrk, pool, args))
        finally:
            stop_server(server)
        if server.proc.returncode not in (0, -signal.SIGTERM):
            notes.append(f"gateway exited with {server.proc.returncode}: see {log}")
        numbers = stored_numbers(database)
        check = check_run(run, pool, "run", numbers, args.connections)
    name = backend + (" +events" if subscribe else "") + ("" if deliver else " (written only)")
    return Measured(name, run, cpu, check, notes)


# --------------------------------------------------------------------------- profiling


def profile(backend: str, server: Server, wrk: str, pool: Pool, args: argparse.Namespace) -> str:
    """py-spy over a separate wrk run (its own slice); writes raw stacks and a top list."""
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    raw = out / f"{backend}.folded"
    spy = shutil.which("py-spy", path=str(Path(PY).parent)) or shutil.which("py-spy")
    if spy is None:
        return "profile skipped: py-spy not found"
    seconds = args.profile_duration
    cmd = [spy, "record", "--pid", str(server.proc.pid), "--duration", str(seconds), "--gil"]
    cmd += ["--rate", str(PROFILE_HZ), "--format", "raw", "--nolineno", "--threads"]
    with ThreadPoolExecutor(1) as load:
        # wrk runs 1 s longer than py-spy and starts first: every sample is taken under load
        running = load.submit(run_wrk, wrk, server.port, pool, "profile", args, seconds + 1)
        time.sleep(0.5)
        recorder = subprocess.run(
            [*cmd, "--output", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        run = running.result()
    if recorder.returncode != 0 or not raw.exists():
        return f"profile failed: {recorder.stderr.decode(errors='replace').strip()[-500:]}"
    answered = round(run.rate * seconds)
    top = summarise_profile(raw, args.profile_top, PROFILE_HZ, seconds, answered)
    (out / f"{backend}-top.txt").write_text(top)
    print(f"\n== py-spy profile, {backend} ({run.rate:,.0f} webhooks/s while sampled) ==")
    print(top)
    return f"profile: {raw} and {out / f'{backend}-top.txt'}"


def summarise_profile(raw: Path, top: int, hz: int, seconds: float, webhooks: int) -> str:
    """Per thread: how busy it was; per function: share of on-CPU samples and CPU us/webhook."""
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[0].startswith(("thread", "process")):
            threads[frames[0]] += count
        frames = [f for f in frames if not f.startswith(("thread", "process"))]
        if not frames:
            continue
        samples += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            total_time[frame] += count
    if not samples:
        return "no samples\n"
    per_webhook = 1e6 / hz / max(webhooks, 1)  # CPU microseconds per webhook of one sample

    def row(name: str, n: int) -> str:
        return f"  {100 * n / samples:5.1f}%  {n * per_webhook:7.1f} us  {name}"

    lines = [
        f"{samples} on-CPU samples at {hz} Hz over {seconds:.1f} s, {webhooks:,} webhooks"
        " answered; a thread busy all the time has 100% in the first column",
        "\nthreads: busy share of the run, CPU us per webhook",
    ]
    lines += [
        f"  {100 * n / (hz * seconds):5.1f}%  {n * per_webhook:7.1f} us  {name}"
        for name, n in threads.most_common()
    ]
    lines.append(f"\ntop {top} by self time: share of on-CPU samples, CPU us per webhook")
    lines += [row(name, n) for name, n in self_time.most_common(top)]
    lines.append(f"\ntop {top} by inclusive time")
    lines += [row(name, n) for name, n in total_time.most_common(top)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- report


def target_text(m: Measured, ratio: float) -> str:
    """Whether the issue's target for this backend is met."""
    rate, p99, min_ratio = TARGETS[m.name]
    misses = []
    if m.run.rate < rate:
        misses.append(f"< {rate:,.0f}/s")
    if p99 is not None and m.run.ms("p99_us") >= p99:
        misses.append(f"p99 >= {p99:.0f} ms")
    if min_ratio is not None and ratio < min_ratio:
        misses.append(f"ratio < {min_ratio}")
    return "met" if not misses else "MISSED (" + ", ".join(misses) + ")"


def code_version() -> str:
    """The commit measured, and whether gateway/ or store/ had uncommitted changes (read-only)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "gateway", "store"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
    except OSError:
        return "unknown (no git)"
    changed = [line[3:] for line in dirty if line.strip()]
    suffix = f" + uncommitted changes to {', '.join(changed)}" if changed else ""
    return (head or "unknown") + suffix


def report(
    bares: list[Measured], results: list[Measured], args: argparse.Namespace, pool: Pool
) -> bool:
    """Print the table; False when acknowledged webhooks were not all stored."""
    ok = True
    mix = ", ".join(
        f"{k} {100 * v / sum(pool.mix.values()):.0f}%" for k, v in sorted(pool.mix.items())
    )
    print(
        f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s (warm-up {args.warmup} s),"
        f" one server process, {os.cpu_count()} cores shared with wrk"
    )
    print(f"requests: {mix}; {args.known:,} known senders per channel")
    print(f"code: {code_version()}")
    head = (
        f"{'server':<13}{'webhooks/s':>11}{'p50 ms':>8}{'p99 ms':>8}{'acked':>10}{'stored':>10}"
        f"{'non-2xx':>8}{'errors':>7}{'ratio':>7}{'srv cpu':>8}{'wrk cpu':>8}"
    )
    print(head)
    print("-" * len(head))
    order = [bares[0]] + [x for pair in zip(results, bares[1:], strict=True) for x in pair]
    for m in order:
        stored = f"{m.check.stored:,}" if m.check else "-"
        print(
            f"{m.name:<13}{m.run.rate:>11,.0f}{m.run.ms('p50_us'):>8.1f}{m.run.ms('p99_us'):>8.1f}"
            f"{m.run.acknowledged:>10,}{stored:>10}{m.run.non_2xx:>8,}{m.run.errors:>7,}"
            f"{m.run.rate / (m.baseline or m.run.rate):>7.2f}{m.server_cpu:>8.2f}"
            f"{m.run.wrk_cpu / m.run.seconds:>8.2f}"
        )
    print()
    for note in bares[0].notes:
        print(f"bare aiohttp: {note}")
    for m in results:
        assert m.check is not None
        good, text = m.check.verdict(m.run)
        ok = ok and good
        ratio = m.run.rate / m.baseline
        print(f"{m.name}: target {target_text(m, ratio)}")
        print(f"  ratio against the bare handler's mean of {m.baseline:,.0f}/s before and after")
        print(
            f"  rows: {m.run.acknowledged:,} acknowledged, {m.check.stored:,} stored,"
            f" {m.check.sent:,} sent -> {'ok' if good else 'FAIL'}: {text}"
        )
        for note in m.notes:
            print(f"  {note}")
    return ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Webhook ingest benchmark (see bench/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--backend", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--duration", type=int, default=10, help="seconds of the timed run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of the warm-up run")
    parser.add_argument("--known", type=int, default=5000, help="known senders per channel")
    parser.add_argument("--new-share", type=float, default=0.10, help="share of new senders")
    parser.add_argument("--cap", type=int, default=1_000_000, help="the workspace's plan cap")
    parser.add_argument(
        "--max-rate",
        type=int,
        default=25_000,
        help="webhooks/s the request pool is sized for (duration x rate unique requests)",
    )
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="admin URL (CREATE/DROP DATABASE)")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="after the timed run, record py-spy over another run into DIR (e.g. bench/out)",
    )
    parser.add_argument("--profile-duration", type=int, default=8)
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="skip ANALYZE on PostgreSQL after seeding: a fresh database has no planner"
        " statistics until autovacuum runs, and its identity lookups then scan the channel",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the request mix")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (pool, logs)")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["WARNING", "INFO"],
        help="the gateway's log level; INFO adds its JSON line per webhook (stdout to /dev/null)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran and every acknowledged webhook was stored."""
    args = parse_args(argv)
    wrk = ensure_wrk()
    backends = ["sqlite", "pg"] if args.backend == "both" else [args.backend]
    skipped: list[str] = []
    if "pg" in backends and (reason := pg_unreachable(args.pg_admin)):
        if args.backend == "pg":
            print(f"PostgreSQL unreachable at {args.pg_admin}: {reason}", file=sys.stderr)
            return 2
        backends.remove("pg")
        skipped.append(f"pg skipped: unreachable at {args.pg_admin}: {reason}")
    folder = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    try:
        started = time.perf_counter()
        pool = build_pool(folder, args)
        print(
            f"pool: {sum(c for _, c in pool.slices.values()):,} signed requests"
            f" ({pool.size_bytes / 1e6:.0f} MB) + {len(pool.seeds):,} seeds"
            f" in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        # The machine's speed drifts (shared VM): each backend is compared with the mean of a
        # bare run just before and one just after it.
        bares = [measure_bare(wrk, pool, args, folder)]
        print(f"bare aiohttp: {bares[-1].run.rate:,.0f} requests/s", flush=True)
        results = []
        for backend in backends:
            m = measure_backend(backend, wrk, pool, args, folder)
            print(f"{backend}: {m.run.rate:,.0f} webhooks/s", flush=True)
            bares.append(measure_bare(wrk, pool, args, folder))
            print(f"bare aiohttp: {bares[-1].run.rate:,.0f} requests/s", flush=True)
            m.baseline = (bares[-2].run.rate + bares[-1].run.rate) / 2
            results.append(m)
        ok = report(bares, results, args, pool)
        for line in skipped:
            print(line)
    finally:
        if args.keep:
            print(f"work folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
