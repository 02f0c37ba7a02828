"""Waking web chat streams: a message for a visitor wakes the streams and long-polls waiting
for that visitor, in this process (SQLite) or in every gateway process (PostgreSQL).

On PostgreSQL each process keeps one dedicated asyncpg connection that `LISTEN`s on
`contactgate_webchat`; a push is `pg_notify('contactgate_webchat', '<channel key>:<visitor>')`,
which PostgreSQL delivers to every listening process, the sender's own included. A push only
wakes: the woken stream reads the new messages from the database, and every stream also reads
again at each heartbeat, so a lost notification delays a reply by one heartbeat at most.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from gateway import keys
from store.db import label_for

log = structlog.get_logger("contactgate.webchat")
CHANNEL = "contactgate_webchat"


class Hub:
    """The streams waiting in this process, by `<channel key>:<visitor id>`."""

    def __init__(self) -> None:
        self._waiting: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self.closing = False

    @contextmanager
    def watch(self, channel_key: str, visitor_id: str) -> Iterator[asyncio.Event]:
        """An event set when a message for this visitor is pushed while the block runs."""
        key, event = f"{channel_key}:{visitor_id}", asyncio.Event()
        self._waiting[key].add(event)
        try:
            yield event
        finally:
            self._waiting[key].discard(event)
            if not self._waiting[key]:
                del self._waiting[key]

    def wake(self, key: str) -> None:
        """Wake this process's streams of `<channel key>:<visitor id>`."""
        for event in self._waiting.get(key, ()):
            event.set()

    async def push(self, channel_key: str, visitor_id: str) -> None:
        """A message for the visitor was stored: wake their streams in every process."""
        key = f"{channel_key}:{visitor_id}"
        if self._conn is None or self._conn.is_closed():
            self.wake(key)
            return
        try:
            async with self._lock:  # one statement at a time on the listening connection
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, key)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("webchat notify failed; waking this process only", error=repr(exc))
            self.wake(key)

    async def listen(self, dsn: str) -> None:
        """Open the dedicated connection and LISTEN on it."""
        self._conn = await asyncpg.connect(dsn)
        await self._conn.add_listener(CHANNEL, self._notified)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.wake(payload)

    def stop(self) -> None:
        """Wake every stream so it ends (the app is shutting down)."""
        self.closing = True
        for key in list(self._waiting):
            self.wake(key)

    async def close(self) -> None:
        """Stop the streams and close the listening connection."""
        self.stop()
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()


def pg_dsn(url: str) -> str:
    """The asyncpg DSN of a database URL (`asyncpg://` is ours; asyncpg wants `postgres://`)."""
    return "postgres://" + url.split("://", 1)[1] if url.startswith("asyncpg://") else url


async def stop_streams(app: web.Application) -> None:
    """on_shutdown: open streams end now rather than hold the shutdown for their timeout."""
    app[keys.WEBCHAT_HUB].stop()


async def hub_ctx(app: web.Application) -> AsyncIterator[None]:
    """On PostgreSQL, listen for pushes from every process while the app runs."""
    hub, url = app[keys.WEBCHAT_HUB], app[keys.SETTINGS].database_url
    if label_for(url) == "postgres":
        await hub.listen(pg_dsn(url))
    try:
        yield
    finally:
        await hub.close()
