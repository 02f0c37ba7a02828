"""Channels by webhook key, cached briefly so a webhook costs no extra query."""

from __future__ import annotations

import time

from store.setup import channel_by_key
from store.types import ChannelInfo


class ChannelCache:
    """Time-bounded cache of channel lookups (misses too, so junk keys cost little)."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, ChannelInfo | None]] = {}

    async def get(self, key: str) -> ChannelInfo | None:
        """The channel for `key`, from cache when fresh."""
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        info = await channel_by_key(key)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (now + self._ttl, info)
        return info

    def forget(self) -> None:
        """Drop every entry (after a channel changes in this process)."""
        self._entries.clear()
