"""The deliverer of events out: a task of the gateway process posting the outbox
(store.outbox_delivery) to subscribed URLs, signed as Standard Webhooks say.

Each round claims up to `batch` due events (one per contact and subscription: order is kept),
posts them concurrently with `webhook-id`, `webhook-timestamp` and `webhook-signature` headers
(the `standardwebhooks` library signs; during a rotation both secrets sign, space-separated),
then records every result in one transaction. A 2xx delivers; anything else, a timeout or a
refused connection is retried on the back-off schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import structlog
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from gateway import keys
from store import outbox_delivery
from store.outbox_delivery import Due, Result

log = structlog.get_logger("contactgate.events_out")
BATCH = 500
# While webhooks keep the writer busy, a round waits for a quiet moment (at most 0.25 s) and
# sends this few: ingest goes first, events wait in the outbox and drain at full speed later.
BUSY_BATCH = 50
BUSY_SECONDS = 0.01  # a wait for the writer longer than this means it is busy
CONCURRENCY = 100
IDLE_SECONDS = 1.0
USER_AGENT = "contactgate-webhooks/1"


@functools.lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)  # decodes the secret once, not once per event


def headers(due: Due, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at `now`."""
    signatures = " ".join(
        _signer(secret).sign(due.event_id, now, due.payload) for secret in due.secrets
    )
    return {
        "webhook-id": due.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def post(session: aiohttp.ClientSession, due: Due, now: datetime) -> Result:
    """One attempt; the receiver's status, or the error when none came."""
    try:
        async with session.post(due.url, data=due.payload, headers=headers(due, now)) as reply:
            await reply.read()
            return Result(due, reply.status)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Result(due, None, f"{type(exc).__name__}: {exc}"[:500])


async def deliver_once(
    session: aiohttp.ClientSession, *, batch: int = BATCH, now: datetime | None = None
) -> int:
    """One round: claim, post concurrently, record; returns the number of attempts made."""
    now = now or datetime.now(UTC)
    claimed = await outbox_delivery.claim(batch, now)
    if not claimed:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def attempt(due: Due) -> Result:
        async with gate:
            return await post(session, due, now)

    results = await asyncio.gather(*(attempt(d) for d in claimed))
    disabled = await outbox_delivery.record(results, now)
    failed = sum(1 for r in results if not r.ok)
    if failed:
        log.warning("events_out_failed", attempts=len(results), failed=failed)
    for sub in disabled:
        log.warning("subscription_disabled", subscription=sub)
    return len(results)


async def run(
    session: aiohttp.ClientSession,
    idle: float = IDLE_SECONDS,
    quiet: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Deliver until cancelled: rounds back to back while there is work, else every `idle` s.

    `quiet` (the batch writer's) returns once queued webhooks are committed: when it had to
    wait, the round is a small one, so a deliverer never slows ingest down by much."""
    loop = asyncio.get_running_loop()
    while True:
        batch = BATCH
        if quiet is not None:
            started = loop.time()
            await quiet()
            if loop.time() - started > BUSY_SECONDS:
                batch = BUSY_BATCH
        try:
            done = await deliver_once(session, batch=batch)
        except Exception:  # the deliverer's top-level handler: log, try again after a pause
            log.exception("events_out_round_failed")
            done = 0
        if not done:
            await asyncio.sleep(idle)


def session(timeout: float) -> aiohttp.ClientSession:
    """The deliverer's HTTP client: `timeout` seconds per attempt, no cookies kept."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout),
        cookie_jar=aiohttp.DummyCookieJar(),
        connector=aiohttp.TCPConnector(limit=CONCURRENCY),
    )


async def deliverer_ctx(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context running the deliverer for the app's lifetime (unless turned off)."""
    settings = app[keys.SETTINGS]
    if not settings.events_out:
        yield
        return
    client = session(settings.events_out_timeout_seconds)
    task = asyncio.create_task(
        run(client, settings.events_out_idle_seconds, app[keys.WRITER].quiet),
        name="contactgate-events-out",
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await client.close()
