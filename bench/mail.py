"""Hostile mail: Telegram webhook latency while the gateway receives it, and the process's memory.

    .venv/bin/python bench/mail.py [--backend sqlite|pg] [--seconds 5] [--rate 100]

Starts one real `contactgate serve` on a fresh database (migrated and set up with the CLI: a
workspace, a Telegram channel and an email channel with a Mailgun signing key and Basic auth for
raw MIME). Telegram webhooks are sent at a fixed rate the whole time (open loop: on schedule,
whether or not earlier ones came back). First a phase without mail (the baseline, same run, same
process), then one phase per mail case, in which that mail is posted again and again (one at a
time, raw MIME with Basic auth; `mailgun-*` cases as a signed Mailgun form with `body-mime`,
each with a new token) for `--seconds`, or until the one in flight is answered. For every phase
it prints the mails sent and their answers, the Telegram p50/p99/max, and the gateway's RSS
(VmRSS of /proc/PID/status) at the end of the phase; at the end the RSS after 2 s idle.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import PY, Server, clean_env, cli, fresh_database, start_server, stop_server
from tests import hostile_mail as mail

TG_KEY, TG_SECRET = "bench-telegram-key", "bench-telegram-secret"
MAIL_KEY, SIGNING_KEY, BASIC = "bench-email-key", "bench-mailgun-key", "relay:bench-pass"
Builder = Callable[[str], bytes]
CASES: dict[str, tuple[str, Builder]] = {  # name -> (how it is posted, mail of that name)
    "plain mail (control)": ("raw", lambda n: mail.many_parts(2, n)),
    "multipart 500 deep": ("raw", lambda n: mail.nested_multipart(500, n)),
    "message/rfc822 500 deep": ("raw", lambda n: mail.nested_messages(500, n)),
    "5,000 parts": ("raw", lambda n: mail.many_parts(5000, n)),
    "200,000 header lines": ("raw", lambda n: mail.many_headers(200_000, n)),
    "one 1 MiB header": ("raw", lambda n: mail.huge_header(1 << 20, n)),
    "mailgun body-mime 500 deep": ("mailgun", lambda n: mail.nested_multipart(500, n)),
    "mailgun 200,000 header lines": ("mailgun", lambda n: mail.many_headers(200_000, n)),
    "500 parts (at the limit)": ("raw", lambda n: mail.many_parts(500, n)),
    "10 MB attachment": ("raw", lambda n: mail.attachment(10_000_000, n)),
}


@dataclass(slots=True)
class Phase:
    """What one phase measured."""

    name: str
    telegram: list[float] = field(default_factory=list)  # latencies, ms
    telegram_failures: int = 0
    mails: Counter[int] = field(default_factory=Counter)  # status -> count
    mail_ms: list[float] = field(default_factory=list)
    rss_mb: float = 0.0

    def line(self) -> str:
        tg = sorted(self.telegram) or [0.0]
        p99 = tg[min(len(tg) - 1, int(len(tg) * 0.99))]
        answers = " ".join(f"{s}x{n}" for s, n in sorted(self.mails.items())) or "-"
        mail_p50 = f"{statistics.median(self.mail_ms):8.1f}" if self.mail_ms else "       -"
        return (
            f"{self.name:<30} {answers:<12} {mail_p50} {len(self.telegram):6d}"
            f" {statistics.median(tg):7.1f} {p99:7.1f} {tg[-1]:7.1f} {self.telegram_failures:4d}"
            f" {self.rss_mb:8.1f}"
        )


HEADER = (
    f"{'phase':<30} {'answers':<12} {'mail p50':>8} {'tg sent':>6} {'p50':>7} {'p99':>7}"
    f" {'max':>7} {'fail':>4} {'RSS MB':>8}"
)


def rss_mb(pid: int) -> float:
    """The resident set size of process `pid`, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Load:
    """Telegram webhooks at a fixed rate, and the mails of the current phase."""

    def __init__(self, session: aiohttp.ClientSession, base: str, rate: float) -> None:
        self.session, self.base, self.rate = session, base, rate
        self.seq = 0

    async def telegram(self, phase: Phase) -> None:
        self.seq += 1
        user = 70_000_000 + self.seq % 50
        body = orjson.dumps(
            {
                "update_id": 800_000_000 + self.seq,
                "message": {
                    "message_id": self.seq,
                    "date": 1795000000,
                    "text": "hola",
                    "from": {"id": user, "is_bot": False, "first_name": f"U{user}"},
                    "chat": {"id": user, "type": "private"},
                },
            }
        )
        began = time.perf_counter()
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        async with self.session.post(
            f"{self.base}/webhooks/{TG_KEY}", data=body, headers=headers
        ) as r:
            await r.read()
            phase.telegram_failures += r.status != 200
        phase.telegram.append((time.perf_counter() - began) * 1000)

    async def ticker(self, phase: Phase, done: asyncio.Event) -> None:
        tasks: set[asyncio.Task[None]] = set()
        start, i = time.perf_counter(), 0
        while not done.is_set():
            task = asyncio.create_task(self.telegram(phase))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
            await asyncio.sleep(max(0.0, start + i / self.rate - time.perf_counter()))
        await asyncio.gather(*tasks)

    async def mails(self, phase: Phase, how: str, build: Builder, seconds: float) -> None:
        raw = build(f"bench-{uuid.uuid4().hex}")  # built once: the sender's loop stays free
        fixed = urlencode({"body-mime": raw.decode()}).encode() if how == "mailgun" else raw
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            data, headers = self.request(how, fixed)
            began = time.perf_counter()
            async with self.session.post(
                f"{self.base}/webhooks/{MAIL_KEY}", data=data, headers=headers
            ) as r:
                await r.read()
                phase.mails[r.status] += 1
            phase.mail_ms.append((time.perf_counter() - began) * 1000)

    @staticmethod
    def request(how: str, fixed: bytes) -> tuple[bytes, dict[str, str]]:
        """The raw mail with Basic auth, or the encoded form with a new signed token."""
        if how == "raw":
            auth = base64.b64encode(BASIC.encode()).decode()
            return fixed, {"Content-Type": "message/rfc822", "Authorization": f"Basic {auth}"}
        signed = mail.mailgun_signed(SIGNING_KEY, int(time.time()), uuid.uuid4().hex * 2)
        form = fixed + b"&" + urlencode(signed).encode()
        return form, {"Content-Type": "application/x-www-form-urlencoded"}

    async def phase(self, name: str, seconds: float, case: tuple[str, Builder] | None) -> Phase:
        phase, done = Phase(name), asyncio.Event()
        ticker = asyncio.create_task(self.ticker(phase, done))
        if case is None:
            await asyncio.sleep(seconds)
        else:
            await self.mails(phase, case[0], case[1], seconds)
        done.set()
        await ticker
        return phase


async def run_phases(server: Server, args: argparse.Namespace) -> list[Phase]:
    base = f"http://127.0.0.1:{server.port}"
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        load = Load(session, base, args.rate)
        await load.phase("warm-up", 2.0, None)  # not reported: imports, caches, first contacts
        phases = [await load.phase("baseline (no mail)", args.seconds, None)]
        phases[0].rss_mb = rss_mb(server.proc.pid)
        print(HEADER)
        print(phases[0].line(), flush=True)
        for name in args.cases or CASES:
            phase = await load.phase(name, args.seconds, CASES[name])
            phase.rss_mb = rss_mb(server.proc.pid)
            print(phase.line(), flush=True)
            phases.append(phase)
        await asyncio.sleep(2.0)
        print(f"RSS after 2 s idle: {rss_mb(server.proc.pid):.1f} MB")
    return phases


def set_up(url: str) -> None:
    cli(url, "migrate")
    cli(url, "workspace", "create", "bench", "--cap", "1000000", "--region", "EC")
    cli(
        url,
        "channel",
        "add",
        "bench",
        "telegram",
        "--key",
        TG_KEY,
        f"--secret=secret_token={TG_SECRET}",
    )
    secrets = [f"--secret=signing_key={SIGNING_KEY}", f"--secret=basic_auth={BASIC}"]
    cli(url, "channel", "add", "bench", "email", "--key", MAIL_KEY, *secrets)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--rate", type=float, default=100.0, help="Telegram webhooks per second")
    parser.add_argument("--case", dest="cases", action="append", choices=sorted(CASES))
    parser.add_argument(
        "--pg-admin", default="postgres://postgres@127.0.0.1:5432/test", help="PostgreSQL admin URL"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cg-bench-mail-") as tmp:
        folder = Path(tmp)
        with fresh_database(args.backend, folder, args.pg_admin) as database:
            set_up(database.url)
            env = clean_env(CONTACTGATE_DATABASE_URL=database.url, CONTACTGATE_LOG_LEVEL="WARNING")
            server = start_server([PY, "-m", "gateway.cli", "serve"], env, folder / "gateway.log")
            start_rss = rss_mb(server.proc.pid)
            print(f"gateway pid {server.proc.pid}, {args.backend}, RSS at start {start_rss:.1f} MB")
            try:
                asyncio.run(run_phases(server, args))
            finally:
                stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
