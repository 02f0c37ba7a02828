"""Multipart messages (SMS concat): each part parked durably; the last one in becomes the message.

A part (an Inbound with `part` set) is not a message yet. write_batch hands the batch's parts here
first: each one is inserted into message_part, and the part that was the last one missing is
replaced, in the same transaction, by the whole message (text joined in part order), which then
takes the normal path: dedupe, identity under the cap (counted once), stored or held. The
webhook is answered after that transaction commits, so an acknowledged part is never lost.

- Retries: a part's provider id is unique in message_part. Assembled rows stay, emptied of their
  content, as the dedupe mark of their parts for LEDGER_RETENTION
  (store.inbound.concat_expiry prunes them); the whole message's id, `concat:<first part's
  id>`, is unique in message besides.
- Concurrency: the writers of one set take a transaction-scoped advisory lock on its key
  (PostgreSQL; SQLite has one writer at a time). Without it, two processes holding the last two
  parts would each miss the other's uncommitted part and neither would assemble.
- A reused ref: a set is (channel, sender, ref, total, set_key). A part joins the newest open set
  that lacks its number, else opens a new one, so a handset reusing its 8-bit reference while an
  older set still waits for a lost part does not merge two messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from store.db import RawTx
from store.serial import inbound_from_json, inbound_to_json
from store.types import Inbound, Item, Outcome

ID_PREFIX = "concat:"
ID_LIMIT = 255  # message.provider_message_id
LEDGER_RETENTION = timedelta(hours=48)  # Vonage retries a delivery for 24 hours
SetKey = tuple[int, str, str, int]  # channel id, sender (external id), ref, total
PartRow = tuple[int, str, Inbound]  # number, the part's provider id, the part

OPEN_PARTS_SQL = (
    "SELECT set_key, number, provider_message_id, inbound FROM message_part"
    " WHERE channel_id = ? AND external_id = ? AND ref = ? AND total = ?"
    " AND assembled_as IS NULL ORDER BY id"
)
INSERT_PART_SQL = (
    "INSERT INTO message_part (workspace_id, channel_id, external_id, ref, number, total,"
    " provider_message_id, set_key, inbound, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT DO NOTHING RETURNING id"
)
CLOSE_SET_SQL = (
    "UPDATE message_part SET assembled_as = ?, inbound = NULL WHERE channel_id = ?"
    " AND external_id = ? AND ref = ? AND total = ? AND set_key = ? AND assembled_as IS NULL"
)


async def reassemble(
    tx: RawTx, items: Sequence[Item], outcomes: list[Outcome | None], now: datetime
) -> list[Item]:
    """The batch with each part that completes its set replaced by the whole message.

    Every other part is parked, and its outcome set in `outcomes`: "part", or "duplicate" when
    it was parked (or assembled) before.
    """
    todo = [i for i, item in enumerate(items) if item.inbound.part and outcomes[i] is None]
    await lock_sets(tx, [set_of(items[i]) for i in todo])
    result = list(items)
    for i in todo:
        whole = await add_part(tx, items[i], now)
        if isinstance(whole, Item):
            result[i] = whole
        else:
            outcomes[i] = whole
    return result


def set_of(item: Item) -> SetKey:
    """The key shared by every part of the item's set."""
    part = item.inbound.part
    if part is None:
        raise ValueError("not a part of a multipart message")
    return (item.channel.id, item.inbound.external_id, part.ref, part.total)


async def lock_sets(tx: RawTx, keys: Iterable[SetKey]) -> None:
    """Serialise the writers of these sets until the transaction ends (PostgreSQL).

    Locks are taken in one global order, before any plan lock, so writers never deadlock.
    """
    if tx.dialect != "postgres":
        return  # SQLite: the write transaction already excludes every other writer
    for lock_id in sorted({_lock_id(key) for key in keys}):
        await tx.execute("SELECT pg_advisory_xact_lock(?::bigint)", [lock_id])


def _lock_id(key: SetKey) -> int:
    name = "\x1f".join(["message_part", *map(str, key)]).encode()
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


async def add_part(tx: RawTx, item: Item, now: datetime) -> Item | Outcome:
    """Park one part (its set locked); returns the whole message when the part completed it."""
    inbound, channel = item.inbound, item.channel
    key = set_of(item)
    part = inbound.part
    assert part is not None  # set_of checked it
    rows = await tx.fetch(OPEN_PARTS_SQL, list(key))
    set_key = _open_set(rows, part.number) or inbound.provider_message_id
    inserted = await tx.fetch(
        INSERT_PART_SQL,
        [
            channel.workspace_id,
            *key[:3],
            part.number,
            part.total,
            inbound.provider_message_id,
            set_key,
            inbound_to_json(replace(inbound, part=None)),
            now,
        ],
    )
    if not inserted:
        return "duplicate"
    members = [r for r in rows if r[0] == set_key]
    if len(members) + 1 < part.total:
        return "part"
    parts = [*parts_of(members), (part.number, inbound.provider_message_id, inbound)]
    whole = assemble(parts, part.ref, part.total)
    await close_set(tx, key, set_key, whole.provider_message_id)
    return Item(channel, whole)


def _open_set(rows: Sequence[Sequence[Any]], number: int) -> str | None:
    """The newest open set that lacks part `number` (rows are in arrival order)."""
    numbers: dict[str, set[int]] = {}
    for set_key, part_number, *_rest in rows:
        numbers.setdefault(str(set_key), set()).add(int(part_number))
    return next((key for key in reversed(numbers) if number not in numbers[key]), None)


def parts_of(rows: Iterable[Sequence[Any]]) -> list[PartRow]:
    """Parked parts from (set_key, number, provider_message_id, inbound) rows."""
    return [(int(n), str(pid), inbound_from_json(data)) for _key, n, pid, data in rows]


async def close_set(tx: RawTx, key: SetKey, set_key: str, whole_id: str) -> None:
    """Mark a set's parts as assembled into `whole_id` and drop their content."""
    await tx.execute(CLOSE_SET_SQL, [whole_id, *key, set_key])


def assemble(parts: Sequence[PartRow], ref: str, total: int) -> Inbound:
    """One message from the parts of a set, in part order; meta names the parts that are missing.

    The first part gives the sender and meta, the earliest part the sent time; the text is the
    parts' texts joined as they are (SMS splits mid-word), with nothing put in for a gap.
    """
    ordered = sorted(parts, key=lambda p: p[0])
    pieces = [inbound for _n, _id, inbound in ordered]
    first = pieces[0]
    texts = [p.text for p in pieces if p.text is not None]
    meta = {
        **first.meta,
        "concat_ref": ref,
        "concat_total": total,
        "concat_part_ids": [part_id for _n, part_id, _p in ordered],
    }
    missing = sorted(set(range(1, total + 1)) - {n for n, _id, _p in ordered})
    if missing:
        meta.update(incomplete=True, missing_parts=missing)
    return replace(
        first,
        provider_message_id=whole_id(ordered[0][1]),
        type=first.type if all(p.type == first.type for p in pieces) else "unsupported",
        text="".join(texts) if texts else None,
        media=[media for p in pieces for media in p.media],
        sent_at=min(p.sent_at for p in pieces),
        meta=meta,
        part=None,
    )


def whole_id(first_part_id: str) -> str:
    """The whole message's provider id: `concat:` and its first part's id (hashed if too long)."""
    plain = ID_PREFIX + first_part_id
    if len(plain) <= ID_LIMIT:
        return plain
    return ID_PREFIX + hashlib.sha256(first_part_id.encode()).hexdigest()
