"""Periodic work inside the gateway process: admit held senders when a period or cap frees room.

Each tick is safe to run in several processes at once: admission takes the workspace's plan
lock, so two processes never admit past the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

from store.db import optimize
from store.plan import admit_if_room, workspaces_with_held

log = structlog.get_logger("contactgate.scheduler")
TICK_SECONDS = 60.0
OPTIMIZE_EVERY = 60  # ticks: refresh the query planner's statistics about hourly


async def tick() -> int:
    """One pass: admit held senders wherever the current period has room; returns admitted."""
    admitted = 0
    for slug in await workspaces_with_held():
        count = await admit_if_room(slug)
        if count:
            log.info("held_admitted", workspace=slug, senders=count)
        admitted += count
    return admitted


async def _loop(interval: float) -> None:
    ticks = 0
    while True:
        try:
            await tick()
            if ticks % OPTIMIZE_EVERY == 0:
                await optimize()
        except Exception:  # the scheduler's top-level handler: log and try again next tick
            log.exception("scheduler_tick_failed")
        ticks += 1
        await asyncio.sleep(interval)


def scheduler_ctx(
    interval: float = TICK_SECONDS,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the scheduler loop for the app's lifetime."""

    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_loop(interval), name="contactgate-scheduler")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx
