"""store.tortoise_fixes: a connection that cannot be opened is an error, not a hang."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tortoise.exceptions import OperationalError

from store import db


async def test_migrating_where_sqlite_cannot_open_the_file_fails_instead_of_hanging(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path}/no-such-folder/cg.db"  # sqlite3 cannot create the file there
    try:
        with pytest.raises(OperationalError, match="unable to open database file"):
            # Without the fix the recorder's second query waited forever for the lock the
            # failed first one kept.
            await asyncio.wait_for(db.migrate(url), timeout=10)
    finally:
        await db.close()
