"""Multipart sets that never complete: after a timeout, what arrived is stored as one message.

The scheduler calls close_expired every tick. Each expired set is closed in a transaction of its
own, under the same set lock as the write path (store.inbound.concat), so a late part racing
the close either completes the set first or opens a new one after it; the message goes through
the normal ingest path (cap, hold, dedupe) with `meta.incomplete` and `meta.missing_parts`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from store.channels import channel_info
from store.db import ClientTx, RawTx, raw_transaction
from store.inbound import concat
from store.inbound.ingest import write_batch
from store.types import Item

log = logging.getLogger("contactgate.concat")
DEFAULT_TIMEOUT = timedelta(hours=24)

EXPIRED_SQL = (
    "SELECT DISTINCT channel_id, external_id, ref, total, set_key FROM message_part"
    " WHERE assembled_as IS NULL AND received_at < ?"
)
SET_PARTS_SQL = (
    "SELECT set_key, number, provider_message_id, inbound FROM message_part"
    " WHERE channel_id = ? AND external_id = ? AND ref = ? AND total = ? AND set_key = ?"
    " AND assembled_as IS NULL ORDER BY number"
)
PRUNE_SQL = "DELETE FROM message_part WHERE assembled_as IS NOT NULL AND received_at < ?"


async def close_expired(after: timedelta = DEFAULT_TIMEOUT, now: datetime | None = None) -> int:
    """Store every set whose first part came more than `after` ago; returns the sets closed.

    Also forgets assembled parts older than concat.LEDGER_RETENTION (past the provider's retries).
    """
    now = now or datetime.now(UTC)
    closed = 0
    for row in await ClientTx().fetch(EXPIRED_SQL, [now - after]):
        key: concat.SetKey = (int(row[0]), str(row[1]), str(row[2]), int(row[3]))
        async with raw_transaction() as tx:
            closed += await close_set(tx, key, str(row[4]))
    async with raw_transaction() as tx:
        await tx.execute(PRUNE_SQL, [now - concat.LEDGER_RETENTION])
    if closed:
        log.info("closed %d incomplete multipart message(s)", closed)
    return closed


async def close_set(tx: RawTx, key: concat.SetKey, set_key: str) -> int:
    """Store one open set as it is (1), or nothing when it was closed meanwhile (0)."""
    await concat.lock_sets(tx, [key])
    rows: Sequence[Sequence[Any]] = await tx.fetch(SET_PARTS_SQL, [*key, set_key])
    if not rows:
        return 0
    whole = concat.assemble(concat.parts_of(rows), key[2], key[3])
    await concat.close_set(tx, key, set_key, whole.provider_message_id)
    channel = await channel_info(tx, key[0])
    await write_batch(tx, [Item(channel, whole)])
    return 1
