"""In-process rate limits with bounded memory (per gateway process, not shared)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 100_000  # keys remembered per limiter; the least recently used go first


class TokenBuckets:
    """One token bucket per key: `burst` tokens, refilled at `per_minute` tokens a minute.

    Kept as GCRA (one float per key: when the bucket will be full again) rather than a
    (tokens, time) pair: the same decisions in less memory. `per_minute = 0` disables the limit.
    At most `max_keys` keys are kept, least recently used evicted first; an evicted key starts
    again with a full bucket (a key idle for burst / rate seconds is full anyway, so only a
    flood of distinct keys loses anything).
    """

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0  # seconds per token
        self.tolerance = (burst - 1) * self.interval  # how far ahead of now `full_at` may run
        self.max_keys = max_keys
        self._clock = clock
        self._full_at: OrderedDict[str, float] = OrderedDict()

    def take(self, key: str) -> float:
        """Take a token for `key`: 0.0 when granted, else the seconds until one is free."""
        if not self.interval:
            return 0.0
        now = self._clock()
        full_at = max(self._full_at.pop(key, now), now)
        wait = full_at - now - self.tolerance
        if wait <= 0:
            full_at += self.interval
            wait = 0.0
        self._full_at[key] = full_at  # re-inserted last: the most recently used
        if len(self._full_at) > self.max_keys:
            self._full_at.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._full_at)
