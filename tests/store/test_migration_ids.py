"""Migration 0010_ids on a database with data: contacts whose identities have a scoped id (a
WhatsApp BSUID) get it into search_text, so a search finds them; others are left alone."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from aiohttp.test_utils import TestClient

from store import db, query
from tests import helpers as h

BSUID = "US.13491208655302741918"
MIGRATION = importlib.import_module("store.migrations.0010_ids")


async def _found(q: str) -> list[str | None]:
    return [c.name for c in (await query.list_contacts(await h.owner(), q=q)).contacts]


async def test_the_backfill_makes_old_scoped_ids_searchable(client: TestClient) -> None:
    await h.workspace()
    channel = await h.channel("whatsapp")
    sent = await h.send_whatsapp(client, channel.key, h.whatsapp_text("593991234567", name="Eva"))
    assert sent.status == 200
    other = await h.send_whatsapp(client, channel.key, h.whatsapp_text("593991234568", name="Leo"))
    assert other.status == 200
    async with db.raw_transaction() as tx:  # as a database from before: scoped id, old text
        await tx.execute(
            "UPDATE identity SET scoped_id = ? WHERE external_id = ?", [BSUID, "593991234567"]
        )
    before = await h.rows("SELECT id, search_text FROM contact ORDER BY id")
    assert await _found(BSUID) == []
    editor = SimpleNamespace(DIALECT=db.dialect(), client=db.client())
    await MIGRATION.forward(None, editor)
    assert await _found(BSUID) == ["Eva"]
    after = await h.rows("SELECT id, search_text FROM contact ORDER BY id")
    assert after[1] == before[1]  # Leo has no scoped id: untouched
