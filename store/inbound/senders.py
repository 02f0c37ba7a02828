"""Who sent it: the identities of a batch's senders, found by (channel, external or scoped id),
and what a known identity reveals later (a business-scoped id, a phone) learned onto it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from store import text
from store.db import RawTx
from store.phone_keys import phone_key
from store.phones import to_e164
from store.types import Item


@dataclass(slots=True)
class Resolved:
    """An identity found or created for an item."""

    identity_id: int
    contact_id: int
    scoped_id: str | None = None
    phone: str | None = None
    created: dict[str, Any] | None = None  # the contact made for this sender in this batch


Key = tuple[int, str]  # (channel_id, external id)


def keys_of(item: Item) -> list[Key]:
    inbound = item.inbound
    keys = [(item.channel.id, inbound.external_id)]
    if inbound.scoped_id and inbound.scoped_id != inbound.external_id:
        keys.append((item.channel.id, inbound.scoped_id))
    return keys


def key_hit(found: dict[Key, Resolved], item: Item) -> Resolved | None:
    for key in keys_of(item):
        if key in found:
            return found[key]
    return None


async def find_identities(tx: RawTx, items: Iterable[Item]) -> dict[Key, Resolved]:
    """Existing identities of the items' senders, by (channel, external or scoped id)."""
    by_external: dict[int, set[str]] = defaultdict(set)
    by_scoped: dict[int, set[str]] = defaultdict(set)
    for item in items:
        by_external[item.channel.id].add(item.inbound.external_id)
        if item.inbound.scoped_id:
            by_scoped[item.channel.id].add(item.inbound.scoped_id)
    found: dict[Key, Resolved] = {}
    # One indexed lookup per column: an OR across the two would scan the channel's identities.
    for column, wanted in (("external_id", by_external), ("scoped_id", by_scoped)):
        for channel_id, ids in wanted.items():
            rows = await tx.fetch(*_lookup_sql(tx, column, channel_id, ids))
            for ident_id, contact_id, ext, scoped, phone in rows:
                hit = Resolved(ident_id, contact_id, scoped, phone)
                found[(channel_id, ext)] = hit
                if scoped:
                    found[(channel_id, scoped)] = hit
    return found


def _lookup_sql(tx: RawTx, column: str, channel_id: int, ids: set[str]) -> tuple[str, list[Any]]:
    sql = "SELECT id, contact_id, external_id, scoped_id, phone FROM identity WHERE channel_id = ?"
    sql += f" AND {column}"
    if tx.dialect == "postgres":  # one prepared statement whatever the number of ids
        # FOR SHARE, in id order: a monthly reset or a merge committing between this read and
        # the message insert would leave the message on a deleted or merged-away contact; they
        # lock the same rows FOR UPDATE (in id order) first, so one waits for the other.
        return f"{sql} = ANY(?::text[]) ORDER BY id FOR SHARE", [channel_id, list(ids)]
    return f"{sql} IN ({','.join('?' * len(ids))})", [channel_id, *ids]


async def learn_ids(tx: RawTx, rows: Sequence[tuple[Item, Resolved | None]]) -> None:
    """Record what a known identity reveals later: a scoped id (WhatsApp BSUID) or a phone.

    A WhatsApp user first seen with only a phone (or only a BSUID) is then found by either. A
    value already owned by another identity or contact is left alone: that is a merge, by hand.
    """
    for item, hit in rows:
        if hit is None:
            continue
        scoped = item.inbound.scoped_id
        if scoped and hit.scoped_id != scoped:
            await _learn_scoped_id(tx, item, hit, scoped)
        if item.inbound.phone and hit.phone is None:
            phone = to_e164(item.inbound.phone, item.channel.region)
            if phone:
                await _learn_phone(tx, item, hit, phone)


async def _learn_scoped_id(tx: RawTx, item: Item, hit: Resolved, scoped: str) -> None:
    learnt = await tx.fetch(
        "UPDATE identity SET scoped_id = ? WHERE id = ? AND scoped_id IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM identity other WHERE other.channel_id = ? AND other.scoped_id = ?)"
        " RETURNING id",
        [scoped, hit.identity_id, item.channel.id, scoped],
    )
    if learnt:  # once per identity: its contact is then found by the scoped id too
        await tx.execute(
            "UPDATE contact SET search_text = search_text || ? WHERE id = ?",
            [text.appended([scoped]), hit.contact_id],
        )
    hit.scoped_id = scoped


def handles(item: Item) -> tuple[str | None, ...]:
    """What a search finds the sender's contact by (store.text.IDENTITY_HANDLES)."""
    inbound = item.inbound
    return (inbound.username, inbound.external_id, inbound.scoped_id)


async def _learn_phone(tx: RawTx, item: Item, hit: Resolved, phone: str) -> None:
    await tx.execute("UPDATE identity SET phone = ? WHERE id = ?", [phone, hit.identity_id])
    key = phone_key(phone)
    await tx.execute(
        "UPDATE contact SET phone = ?, phone_key = ?, search_text = search_text || ? WHERE id = ?"
        " AND phone IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM contact other WHERE other.workspace_id = ? AND other.phone_key = ?)",
        [
            phone,
            key,
            text.appended(text.phone_variants(phone)),
            hit.contact_id,
            item.channel.workspace_id,
            key,
        ],
    )
    hit.phone = phone
