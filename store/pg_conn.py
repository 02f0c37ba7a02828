"""An asyncpg connection that the pool replaces after a read-only, disconnect or protocol fault.

`default_transaction_read_only` is read when a session starts: a connection opened while the
database was read-only (as during a failover) stays read-only after the database is writable
again. The pool resets every connection it gets back; this one refuses the reset once a
statement failed with such a fault, and asyncpg then terminates it and opens a fresh one on the
next acquire.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from store.health import DISCARD, classify


class ConnectionDiscarded(Exception):
    """Raised on the way back to the pool by a connection that must not be reused; its cause is
    the fault (store.health.classify reads through it)."""


class DiscardingConnection(asyncpg.Connection):
    """asyncpg.Connection that remembers a fault which makes its session unusable."""

    _cg_fault: BaseException | None = None

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._watch(super().execute(*args, **kwargs))

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._watch(super().executemany(*args, **kwargs))

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._watch(super().fetch(*args, **kwargs))

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        return await self._watch(super().fetchrow(*args, **kwargs))

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        return await self._watch(super().fetchval(*args, **kwargs))

    async def _watch(self, call: Any) -> Any:
        try:
            return await call
        except Exception as exc:
            fault = classify(exc)
            if fault is not None and fault.cause in DISCARD:
                self._cg_fault = exc
            raise

    async def reset(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 (asyncpg's)
        """Refuse to go back to the pool after a discarding fault (asyncpg terminates it)."""
        if self._cg_fault is not None:
            raise ConnectionDiscarded("connection discarded after a fault") from self._cg_fault
        await super().reset(timeout=timeout)
