"""The channel cache sends one lookup per key at a time, however many requests miss together."""

from __future__ import annotations

import asyncio

import pytest

from gateway import channel_cache
from gateway.channel_cache import ChannelCache
from store.types import ChannelInfo

INFO = ChannelInfo(1, "tg-key-0001", "telegram", 1, "acme", "UTC", "EC", {}, True)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    async def slow_lookup(key: str) -> ChannelInfo | None:
        calls.append(key)
        await asyncio.sleep(0.01)
        return INFO if key == INFO.key else None

    monkeypatch.setattr(channel_cache, "channel_by_key", slow_lookup)
    return calls


async def test_concurrent_misses_share_one_lookup(lookups: list[str]) -> None:
    cache = ChannelCache(ttl_seconds=60)
    results = await asyncio.gather(*[cache.get(INFO.key) for _ in range(64)])
    assert results == [INFO] * 64
    assert lookups == [INFO.key]
    assert await cache.get(INFO.key) == INFO  # fresh: from the cache
    assert await cache.get("junk-key-01") is None  # misses are cached too
    assert await cache.get("junk-key-01") is None
    assert lookups == [INFO.key, "junk-key-01"]


async def test_expired_entries_are_looked_up_again(lookups: list[str]) -> None:
    cache = ChannelCache(ttl_seconds=0)
    await cache.get(INFO.key)
    await asyncio.gather(*[cache.get(INFO.key) for _ in range(10)])
    assert lookups == [INFO.key, INFO.key]


async def test_forget_while_loading_does_not_store_the_stale_answer(lookups: list[str]) -> None:
    cache = ChannelCache(ttl_seconds=60)
    pending = asyncio.create_task(cache.get(INFO.key))
    await asyncio.sleep(0)
    cache.forget()
    assert await pending == INFO
    await cache.get(INFO.key)
    assert lookups == [INFO.key, INFO.key]


async def test_a_cancelled_request_does_not_cancel_the_shared_lookup(lookups: list[str]) -> None:
    cache = ChannelCache(ttl_seconds=60)
    first = asyncio.create_task(cache.get(INFO.key))
    second = asyncio.create_task(cache.get(INFO.key))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == INFO
    assert lookups == [INFO.key]
