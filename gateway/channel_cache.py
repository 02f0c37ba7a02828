"""Channels by webhook key, cached briefly so a webhook costs no extra query."""

from __future__ import annotations

import asyncio
import time

from gateway import logs
from store.channels import channel_by_key
from store.db import read_retrying
from store.types import ChannelInfo


class ChannelCache:
    """Time-bounded cache of channel lookups (misses too, so junk keys cost little).

    One lookup per key at a time: when an entry expires under load, every request for that key
    waits on the same query instead of each sending its own (up to one per connection, queued
    on the ORM's single SQLite thread: a stall of hundreds of ms every TTL).
    """

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, ChannelInfo | None]] = {}
        self._loading: dict[str, asyncio.Task[ChannelInfo | None]] = {}
        self._generation = 0

    async def get(self, key: str) -> ChannelInfo | None:
        """The channel for `key`, from cache when fresh."""
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.create_task(self._load(key, self._generation))
            self._loading[key] = task
        return await asyncio.shield(task)  # a cancelled request does not cancel the others' lookup

    async def _load(self, key: str, generation: int) -> ChannelInfo | None:
        try:
            now = time.monotonic()
            info = await read_retrying(lambda: channel_by_key(key))
            if info is not None:  # maybe added while the gateway runs: keep it out of the log
                logs.learn(logs.channel_secrets(info.secrets))
            if generation == self._generation:  # not forgotten while the query ran
                if len(self._entries) > 10_000:
                    self._entries.clear()
                self._entries[key] = (now + self._ttl, info)
            return info
        finally:
            if self._loading.get(key) is asyncio.current_task():
                del self._loading[key]

    def forget(self) -> None:
        """Drop every entry (after a channel changes in this process)."""
        self._entries.clear()
        self._loading.clear()
        self._generation += 1
