"""Real gateway processes: concurrency on one PostgreSQL and acknowledged-then-SIGKILL durability.

Each test spawns `python -m gateway.cli serve` processes on loopback ports, drives them with an
aiohttp client, and reads the database back afterwards. Processes are always stopped (SIGTERM,
then SIGKILL) in the fixture's teardown, and their stderr is printed there, so a failing test
shows what the gateways logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import aiohttp
import asyncpg
import pytest

from store import db
from store import plan as plans
from tests import helpers as h
from tests.conftest import _pg_truncate
from tests.signing import telegram_headers

ROOT = Path(__file__).resolve().parent.parent
WS = "acme"
TG_KEY = "tg-acme-key"
READY_SECONDS = 20.0
STOP_SECONDS = 5.0
N_SPREAD = 1000  # new senders spread over four workspaces
T = TypeVar("T")

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(database_url: str) -> dict[str, str]:
    """The parent's environment without any CONTACTGATE_* setting, plus the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTGATE_")}
    env.update(
        CONTACTGATE_DATABASE_URL=database_url,
        CONTACTGATE_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the gateway gets SIGKILL if pytest itself dies, so nothing outlives the run."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def cli(database_url: str, *args: str) -> str:
    """Run `contactgate ARGS` against `database_url`; returns stdout, fails the test on error."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"contactgate {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


@dataclass
class Gateway:
    """One `contactgate serve` process."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_file: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")


@dataclass
class GatewayPool:
    """Starts gateway processes and guarantees they are all gone at teardown."""

    tmp: Path
    gateways: list[Gateway] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=itertools.count)

    def start(self, database_url: str, n: int = 1, *, cap: int | None = None) -> list[Gateway]:
        """Start `n` gateways on `database_url`; with `cap`, first reset the database and create
        workspace `acme` (that cap) with a Telegram channel. Returns once all answer /readyz."""
        if cap is not None:
            prepare(database_url, cap)
        started = [self._spawn(database_url) for _ in range(n)]
        return [self._ready(database_url, gw) for gw in started]

    def _spawn(self, database_url: str) -> Gateway:
        port = _free_port()
        log_path = self.tmp / f"gateway-{next(self._seq)}-{port}.stderr"
        log_file = log_path.open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=_env(database_url),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        gw = Gateway(proc, port, log_path, log_file)
        self.gateways.append(gw)
        return gw

    def _ready(self, database_url: str, gw: Gateway, attempts: int = 3) -> Gateway:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if gw.proc.poll() is not None:
                text = gw.log()
                if attempts > 1 and "address already in use" in text.lower():
                    return self._ready(database_url, self._spawn(database_url), attempts - 1)
                pytest.fail(f"gateway on {gw.port} exited with {gw.proc.returncode}:\n{text}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{gw.url}/readyz", timeout=1) as resp,
            ):
                if resp.status == 200:
                    return gw
            time.sleep(0.1)
        pytest.fail(f"gateway on {gw.port} not ready within {READY_SECONDS}s:\n{gw.log()}")

    def kill(self, gw: Gateway) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash."""
        gw.proc.send_signal(signal.SIGKILL)
        gw.proc.wait(timeout=STOP_SECONDS)

    def close(self) -> None:
        """Terminate every process (SIGTERM, SIGKILL after a timeout); print their stderr."""
        for gw in self.gateways:
            if gw.proc.poll() is None:
                gw.proc.terminate()
        for gw in self.gateways:
            try:
                gw.proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                gw.proc.kill()
                gw.proc.wait(timeout=STOP_SECONDS)
            text = gw.log()
            gw.log_file.close()
            # pytest shows teardown output only for failing tests.
            print(f"--- gateway :{gw.port} exit={gw.proc.returncode} stderr ---\n{text}")


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[GatewayPool]:
    """A pool of real gateway processes; `pool.start(url, n, cap=...)` -> ready gateways."""
    pool = GatewayPool(tmp_path)
    try:
        yield pool
    finally:
        pool.close()


def prepare(database_url: str, cap: int) -> None:
    """Empty the PostgreSQL database; create the workspace and its Telegram channel via the CLI."""
    if database_url.startswith("postgres"):
        asyncio.run(_pg_truncate(database_url))
    cli(database_url, "workspace", "create", WS, "--cap", str(cap), "--region", "EC")
    cli(
        database_url,
        "channel",
        "add",
        WS,
        "telegram",
        "--key",
        TG_KEY,
        "--secret",
        f"secret_token={h.TG_SECRET}",
    )


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a fresh SQLite file (migrated by the CLI) or the PG one."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'db' / 'cg.db'}"
        cli(url, "migrate")
        return url
    return str(request.getfixturevalue("pg_database"))


# --------------------------------------------------------------------------- client side


@dataclass
class Sent:
    """What a batch of webhook deliveries got back."""

    statuses: Counter[int | str] = field(default_factory=Counter)
    acked: set[int] = field(default_factory=set)  # update_ids answered 200


async def post(session: aiohttp.ClientSession, base: str, body: bytes) -> int | str:
    """POST one signed Telegram update; the status, or the connection error's class name."""
    headers = {**telegram_headers(h.TG_SECRET), "Content-Type": "application/json"}
    try:
        async with session.post(f"{base}/webhooks/{TG_KEY}", data=body, headers=headers) as r:
            await r.read()
            return r.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc).__name__


def session(limit: int = 60) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def send_all(deliveries: Sequence[tuple[str, int, bytes]], limit: int = 60) -> Sent:
    """Send every (base url, update_id, body) at once, at most `limit` in flight."""
    sent = Sent()
    async with session(limit) as s:
        statuses = await asyncio.gather(*(post(s, base, body) for base, _, body in deliveries))
    for (_, update_id, _), status in zip(deliveries, statuses, strict=True):
        sent.statuses[status] += 1
        if status == 200:
            sent.acked.add(update_id)
    return sent


def with_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Open the ORM on `url`, run `work`, close it."""

    async def main() -> T:
        await db.init(url)
        try:
            return await work()
        finally:
            await db.close()

    return asyncio.run(main())


async def counts() -> dict[str, int]:
    """Row counts and usage figures of workspace acme."""
    q = {
        "message": "SELECT count(*) AS n FROM message",
        "held": "SELECT count(*) AS n FROM held_message",
        "identity": "SELECT count(*) AS n FROM identity",
        "contact": "SELECT count(*) AS n FROM contact",
        "contacts_of_identities": "SELECT count(DISTINCT contact_id) AS n FROM identity",
        "plan_period_used": "SELECT COALESCE(sum(used), 0) AS n FROM plan_period",
        "channel_created": "SELECT COALESCE(sum(created), 0) AS n FROM period_channel_usage",
    }
    out = {name: int(await h.scalar(sql)) for name, sql in q.items()}
    usage = await plans.usage(WS)
    out["usage_used"] = usage.used
    out["usage_held"] = usage.held_messages
    return out


async def stored_ids() -> tuple[set[str], set[str]]:
    """provider_message_ids in message and in held_message."""
    msgs = await h.rows("SELECT provider_message_id AS p FROM message")
    held = await h.rows("SELECT provider_message_id AS p FROM held_message")
    return {str(r["p"]) for r in msgs}, {str(r["p"]) for r in held}


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)\{([^}]*)\} (\S+)$", line)
        if m and m.group(1) == name and ",".join(sorted(m.group(2).split(","))) == want:
            return float(m.group(3))
    return 0.0


# --------------------------------------------------------------------------- concurrency (PG)


@pytest.mark.pg
def test_cap_holds_exactly_across_three_processes(gateways: GatewayPool, pg_database: str) -> None:
    urls = [gw.url for gw in gateways.start(pg_database, 3, cap=50)]
    ids = itertools.count(50_000_000)
    deliveries = []
    for n, user in enumerate(range(1, 301)):
        uid = next(ids)
        deliveries.append((urls[n % 3], uid, h.telegram_update(user, update_id=uid)))

    sent = asyncio.run(send_all(deliveries))
    assert sent.statuses == Counter({200: 300})

    def check_first() -> tuple[dict[str, int], list[dict[str, Any]], set[str], set[str]]:
        async def work() -> tuple[dict[str, int], list[dict[str, Any]], set[str], set[str]]:
            c = await counts()
            pairs = await h.rows(
                "SELECT i.external_id AS ext, count(c.id) AS n FROM identity i"
                " LEFT JOIN contact c ON c.id = i.contact_id GROUP BY i.id, i.external_id"
            )
            msgs, held = await stored_ids()
            return c, pairs, msgs, held

        return with_db(pg_database, work)

    c, pairs, msgs, held = check_first()
    print("three processes, cap 50, 300 new senders:", c)
    assert c["plan_period_used"] == 50
    assert c["usage_used"] == 50
    assert c["identity"] == 50
    assert c["channel_created"] == 50
    assert c["message"] + c["held"] == 300
    assert (c["message"], c["held"], c["usage_held"]) == (50, 250, 250)
    assert msgs | held == {str(uid) for _, uid, _ in deliveries}
    assert not msgs & held
    assert all(p["n"] == 1 for p in pairs) and len(pairs) == 50
    assert c["contact"] == c["contacts_of_identities"] == 50

    # The 50 admitted senders write again (twice each, to different processes): all served.
    admitted = sorted(int(p["ext"]) for p in pairs)
    again = []
    for n, user in enumerate(admitted * 2):
        uid = next(ids)
        again.append((urls[n % 3], uid, h.telegram_update(user, update_id=uid)))
    sent = asyncio.run(send_all(again))
    assert sent.statuses == Counter({200: 100})
    c, _, msgs, _ = check_first()
    print("after 100 more from known senders:", c)
    assert (c["message"], c["held"]) == (150, 250)
    assert (c["plan_period_used"], c["usage_used"], c["identity"], c["channel_created"]) == (
        50,
        50,
        50,
        50,
    )
    assert {str(uid) for _, uid, _ in again} <= msgs


@pytest.mark.pg
def test_duplicate_deliveries_across_processes_store_once(
    gateways: GatewayPool, pg_database: str
) -> None:
    urls = [gw.url for gw in gateways.start(pg_database, 3, cap=1000)]
    deliveries = []
    for user in range(1, 51):
        uid = 60_000_000 + user
        body = h.telegram_update(user, update_id=uid)
        deliveries.append((urls[user % 3], uid, body))
        deliveries.append((urls[(user + 1) % 3], uid, body))
    sent = asyncio.run(send_all(deliveries))
    assert sent.statuses == Counter({200: 100})

    c = with_db(pg_database, counts)
    print("duplicates across processes:", c)
    assert (c["message"], c["held"], c["identity"]) == (50, 0, 50)
    assert (c["plan_period_used"], c["usage_used"], c["channel_created"]) == (50, 50, 50)
    assert c["contact"] == c["contacts_of_identities"] == 50


async def _more_workspaces(slugs: Sequence[str]) -> None:
    for slug in slugs:
        await h.workspace(slug, cap=100_000)
        await h.channel("telegram", ws=slug, key=f"tg-{slug}-key")


async def _pg_deadlocks(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        with contextlib.suppress(asyncpg.UndefinedFunctionError):  # PostgreSQL < 15
            await conn.execute("SELECT pg_stat_force_next_flush()")
        return int(
            await conn.fetchval(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


@pytest.mark.pg
def test_batches_spanning_workspaces_do_not_deadlock(
    gateways: GatewayPool, pg_database: str
) -> None:
    """New senders of several workspaces at once on two processes: every batch commits.

    A batch that met a deadlock would be rolled back after PostgreSQL's deadlock_timeout (1 s,
    during which that process's single writer serves nobody) and retried one request at a time.
    The plan locks are taken in workspace-id order, so no two batches can wait on each other.
    """
    prepare(pg_database, 100_000)
    slugs = ["beta", "gamma", "delta"]
    with_db(pg_database, lambda: _more_workspaces(slugs))
    keys = [TG_KEY] + [f"tg-{slug}-key" for slug in slugs]
    urls = [gw.url for gw in gateways.start(pg_database, 2)]
    deadlocks_before = asyncio.run(_pg_deadlocks(pg_database))

    async def blast() -> Counter[int | str]:
        statuses: Counter[int | str] = Counter()
        headers = {**telegram_headers(h.TG_SECRET), "Content-Type": "application/json"}
        async with session(200) as s:

            async def one(n: int) -> None:
                body = h.telegram_update(2_000_000 + n, update_id=80_000_000 + n)
                url = f"{urls[n % 2]}/webhooks/{keys[(n * 7 + n // 8) % 4]}"
                try:
                    async with s.post(url, data=body, headers=headers) as r:
                        await r.read()
                        statuses[r.status] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[type(exc).__name__] += 1

            await asyncio.gather(*(one(n) for n in range(N_SPREAD)))
        return statuses

    statuses = asyncio.run(blast())
    deadlocks = asyncio.run(_pg_deadlocks(pg_database)) - deadlocks_before
    retried = sum(gw.log().count("retrying one by one") for gw in gateways.gateways)
    c = with_db(pg_database, counts)
    print(
        f"four workspaces, two processes: {dict(statuses)} deadlocks={deadlocks}"
        f" retried batches={retried} identities={c['identity']}"
    )
    assert statuses == Counter({200: N_SPREAD})
    assert (c["identity"], c["message"], c["plan_period_used"]) == (N_SPREAD,) * 3
    assert (deadlocks, retried) == (0, 0)


# --------------------------------------------------------------------------- crash (SIGKILL)


async def load_until_killed(
    pool: GatewayPool,
    gw: Gateway,
    *,
    workers: int = 32,
    after_s: float = 1.5,
    after_acks: int = 500,
) -> tuple[Sent, dict[int, bytes], int]:
    """Continuous distinct messages from `workers` tasks; SIGKILL the gateway mid-load."""
    sent = Sent()
    bodies: dict[int, bytes] = {}
    ids = itertools.count(70_000_000)
    new_users = itertools.count(10_000_000)
    enough = asyncio.Event()
    killed = False

    async def worker(s: aiohttp.ClientSession, w: int) -> None:
        for n in itertools.count():
            uid = next(ids)
            # Alternate a small pool of returning senders with senders never seen before.
            user = (w * 7 + n) % 200 + 1 if n % 2 == 0 else next(new_users)
            body = h.telegram_update(user, text=f"load {uid}", update_id=uid)
            bodies[uid] = body
            status = await post(s, gw.url, body)
            sent.statuses[status] += 1
            if status == 200:
                sent.acked.add(uid)
                if len(sent.acked) >= after_acks:
                    enough.set()
            elif killed:
                return
            elif isinstance(status, str):
                # A connection error before the kill: keep a record (the counter) and go on.
                await asyncio.sleep(0.01)

    async with session(workers) as s:
        tasks = [asyncio.create_task(worker(s, w)) for w in range(workers)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), after_s)
        acked_at_kill = len(sent.acked)
        await asyncio.to_thread(pool.kill, gw)
        killed = True
        done, pending = await asyncio.wait(tasks, timeout=15)
        for t in pending:
            t.cancel()
        assert not pending, "client tasks did not notice the dead gateway"
        for t in done:
            t.result()
    return sent, bodies, acked_at_kill


def test_every_acknowledged_message_survives_sigkill(gateways: GatewayPool, any_db: str) -> None:
    (gw,) = gateways.start(any_db, 1, cap=1_000_000)
    sent, bodies, acked_at_kill = asyncio.run(load_until_killed(gateways, gw))
    assert gw.proc.returncode == -signal.SIGKILL
    non_ok = {k: v for k, v in sent.statuses.items() if k != 200 and not isinstance(k, str)}
    assert not non_ok, f"HTTP errors before the crash: {non_ok}"
    assert len(sent.acked) >= 50, f"too little load before the kill: {sent.statuses}"

    def read() -> tuple[dict[str, int], set[str], set[str]]:
        async def work() -> tuple[dict[str, int], set[str], set[str]]:
            return (await counts(), *(await stored_ids()))

        return with_db(any_db, work)

    before, msgs, held = read()
    acked = {str(u) for u in sent.acked}
    missing = acked - msgs - held
    print(
        f"crash on {any_db.split(':', 1)[0]}: requests={sum(sent.statuses.values())}"
        f" statuses={dict(sent.statuses)} acked={len(acked)} (at kill {acked_at_kill})"
        f" stored={before['message']} held={before['held']} used={before['usage_used']}"
        f" stored-but-unacked={len(msgs - acked)}"
    )
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
    assert before["usage_used"] == before["identity"] == before["plan_period_used"]

    # A new process on the same database recovers and recognises every acked delivery.
    (again,) = gateways.start(any_db, 1)
    resend = [(again.url, uid, bodies[uid]) for uid in sorted(sent.acked)]
    sent_again = asyncio.run(send_all(resend, limit=32))
    assert sent_again.statuses == Counter({200: len(resend)})
    after, _, _ = read()
    assert after == before
    with urllib.request.urlopen(f"{again.url}/metrics", timeout=5) as resp:
        exposition = resp.read().decode()
    duplicates = metric(
        exposition, "contactgate_inbound_messages_total", channel="telegram", outcome="duplicate"
    )
    assert duplicates == len(resend)
