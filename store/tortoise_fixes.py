"""A fix to tortoise-orm applied when `store` is imported.

`ConnectionWrapper.__aenter__` takes the client's lock and then opens the connection; when
opening fails (an unwritable SQLite folder, a refused PostgreSQL) it raises without releasing
the lock. The migration recorder swallows that first error ("no migration table yet") and its
next query waits for the lock forever: `contactgate` hung with no output. Released here.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import ConnectionWrapper


async def _aenter(self: ConnectionWrapper[Any]) -> Any:
    await self._lock.acquire()
    try:
        await self.ensure_connection()
    except BaseException:
        self._lock.release()
        raise
    return self.connection


ConnectionWrapper.__aenter__ = _aenter  # type: ignore[method-assign]
