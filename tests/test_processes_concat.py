"""Multipart Vonage SMS over three real gateway processes on one PostgreSQL: one message a set.

The parts of each set, and a retry of every part, go to different processes at once, in a
shuffled order; each set must end as exactly one message, counted once, with no part left over.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from tests import helpers as h
from tests.gateway.test_channel_vonage import vonage_sig
from tests.test_processes import WS, GatewayPool, cli, prepare, session, with_db

pytestmark = pytest.mark.slow

KEY = "vonage-acme-key"
SECRET = "vonage-process-secret"
SETS = 40


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[GatewayPool]:
    """Gateway processes, all stopped at teardown (see tests.test_processes)."""
    pool = GatewayPool(tmp_path)
    try:
        yield pool
    finally:
        pool.close()


def part_form(sender: int, number: int) -> str:
    """Part `number` of 3 of sender's long SMS, as Vonage posts it, signed."""
    params = {
        "msisdn": f"4477009{sender:05d}",
        "to": "447700900000",
        "messageId": f"P{sender:05d}{number}",
        "text": f"<{sender}:{number}>",
        "type": "text",
        "keyword": f"<{sender}:{number}>",
        "api-key": "abcd1234",
        "message-timestamp": "2026-01-01 12:00:00",
        "timestamp": str(int(time.time())),
        "nonce": f"nonce-{sender}-{number}",
        "concat": "true",
        "concat-ref": str(sender % 256),
        "concat-total": "3",
        "concat-part": str(number),
    }
    params["sig"] = vonage_sig(SECRET, params)
    return urlencode(params)


async def deliver(urls: list[str]) -> Counter[int | str]:
    """Every part twice, each copy to another process, all at once in a shuffled order."""
    jobs = [
        (urls[(sender + number + copy) % len(urls)], part_form(sender, number))
        for sender in range(SETS)
        for number in (1, 2, 3)
        for copy in (0, 1)
    ]
    random.Random(7).shuffle(jobs)
    statuses: Counter[int | str] = Counter()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with session(60) as s:

        async def one(url: str, form: str) -> None:
            try:
                async with s.post(f"{url}/webhooks/{KEY}", data=form, headers=headers) as r:
                    await r.read()
                    statuses[r.status] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                statuses[type(exc).__name__] += 1

        await asyncio.gather(*(one(url, form) for url, form in jobs))
    return statuses


async def stored() -> tuple[list[str], int, int, int]:
    texts = await h.rows("SELECT text FROM message ORDER BY text")
    waiting = await h.scalar("SELECT count(*) AS n FROM message_part WHERE assembled_as IS NULL")
    identities = await h.scalar("SELECT count(*) AS n FROM identity")
    used = await h.scalar("SELECT used FROM plan_period")
    return [str(r["text"]) for r in texts], int(waiting), int(identities), int(used)


@pytest.mark.pg
def test_parts_spread_over_three_processes_assemble_once_per_set(
    gateways: GatewayPool, pg_database: str
) -> None:
    prepare(pg_database, 1000)
    secrets = [f"signature_secret={SECRET}", "signature_method=sha256"]
    cli(pg_database, "channel", "add", WS, "vonage_sms", "--key", KEY, *_flags(secrets))
    urls = [gw.url for gw in gateways.start(pg_database, 3)]

    statuses = asyncio.run(deliver(urls))
    assert statuses == Counter({200: SETS * 3 * 2})

    texts, waiting, identities, used = with_db(pg_database, stored)
    assert texts == sorted(f"<{s}:1><{s}:2><{s}:3>" for s in range(SETS))
    assert (waiting, identities, used) == (0, SETS, SETS)


def _flags(secrets: list[str]) -> list[str]:
    return [arg for secret in secrets for arg in ("--secret", secret)]
