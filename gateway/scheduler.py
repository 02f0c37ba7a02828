"""Periodic work inside the gateway process: admit held senders when a period or cap frees room,
and the monthly reset's warnings, runs and resumptions (gateway.resets).

Each tick is safe to run in several processes at once: admission takes the workspace's plan
lock, so two processes never admit past the cap, and a reset run is claimed through its unique
row, so exactly one process runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import structlog
from aiohttp import web

from bots import notify
from gateway import keys
from gateway.resets import ResetRunner
from store.db import optimize
from store.inbound import DEFAULT_TIMEOUT, close_expired
from store.plan import admit_if_room, workspaces_with_held

log = structlog.get_logger("contactgate.scheduler")
TICK_SECONDS = 60.0
OPTIMIZE_EVERY = 60  # ticks: refresh the query planner's statistics about hourly


async def tick(concat_timeout: timedelta = DEFAULT_TIMEOUT) -> int:
    """One pass: admit held senders wherever the current period has room; returns admitted."""
    await close_expired(concat_timeout)  # multipart SMS whose parts never all came: store them
    admitted = 0
    for slug in await workspaces_with_held():
        count = await admit_if_room(slug)
        if count:
            log.info("held_admitted", workspace=slug, senders=count)
        admitted += count
    return admitted


async def _loop(interval: float, resets: ResetRunner, concat_timeout: timedelta) -> None:
    ticks = 0
    while True:
        duties: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("admission", lambda: tick(concat_timeout)),
            ("reset", resets.tick),
            ("notify", notify.deliver),  # events to the admin chats (bots.notify)
        ]
        if ticks % OPTIMIZE_EVERY == 0:
            duties.append(("optimize", optimize))
        for name, duty in duties:  # one failing duty does not hold the others back
            try:
                await duty()
            except Exception:  # the scheduler's top-level handler: log, try again next tick
                log.exception("scheduler_tick_failed", duty=name)
        ticks += 1
        await asyncio.sleep(interval)


def scheduler_ctx(
    interval: float = TICK_SECONDS,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the scheduler loop for the app's lifetime."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        resets = app[keys.RESETS]
        concat_timeout = timedelta(hours=app[keys.SETTINGS].sms_concat_timeout_hours)
        task = asyncio.create_task(
            _loop(interval, resets, concat_timeout), name="contactgate-scheduler"
        )
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await resets.close()

    return ctx
