"""The batched write of inbound messages: dedupe, identity/contact upsert under the cap, store.

One call handles a whole batch inside one transaction (see store.inbound.writer). Known senders take
the fast path (a lookup, a multi-row insert, an update); new senders take the per-workspace
plan lock, so usage never passes the cap, even with several processes on one PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from store import contacts, text
from store.db import RawTx
from store.inbound import capacity, concat, consent, edits
from store.inbound.events_out import write_events
from store.inbound.senders import (
    Key,
    Resolved,
    find_identities,
    handles,
    key_hit,
    keys_of,
    learn_ids,
)
from store.phone_keys import phone_key
from store.phones import normalise_email, to_e164
from store.serial import dump_json, inbound_to_json, nul_free, short_text
from store.types import Item, Outcome

# A provider name fills an empty name only; its folded form then joins name_key and
# search_text in the same statement (search_text keeps its value otherwise, and the FTS
# trigger fires only on a real change).
TOUCH_SET = (
    " name = COALESCE(contact.name, v.name), language = COALESCE(contact.language, v.language),"
    " name_key = CASE WHEN contact.name IS NULL THEN v.name_key ELSE contact.name_key END,"
    " search_text = CASE WHEN contact.name IS NULL AND v.name_key IS NOT NULL"
    " THEN contact.search_text || ? || v.name_key ELSE contact.search_text END,"
    " last_activity_at = ?, last_incoming_at = ?, last_channel_id = v.channel_id"
)
PG_TOUCH_CONTACTS = (
    f"UPDATE contact SET{TOUCH_SET}"
    " FROM unnest(?::int[], ?::text[], ?::text[], ?::int[], ?::text[])"
    " AS v(id, name, name_key, channel_id, language)"
    " WHERE contact.id = v.id"
)
MSG_COLS = (
    "workspace_id, channel_id, identity_id, contact_id, direction, provider_message_id,"
    " type, text, media, meta, sent_at, received_at"
)
MSG_ROW = "(?,?,?,?,?,?,?,?,?,?,?,?)"
LANGUAGE_MAX = 16  # contact.language
CHUNK = 400  # rows per multi-row INSERT: 12 params each stays far below both databases' limits
PG_INSERT_MESSAGES = (
    f"INSERT INTO message ({MSG_COLS}) SELECT * FROM unnest(?::int[], ?::int[], ?::int[],"
    " ?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::jsonb[], ?::jsonb[],"
    " ?::timestamptz[], ?::timestamptz[])"
    " ON CONFLICT DO NOTHING RETURNING channel_id, provider_message_id, id"
)


async def write_batch(tx: RawTx, items: Sequence[Item]) -> list[Outcome]:
    """Store a batch; returns one outcome per item, in order."""
    now = datetime.now(UTC)
    outcomes: list[Outcome | None] = _mark_batch_duplicates(items)
    if any(item.inbound.part for item in items):  # multipart SMS: parked until whole
        items = await concat.reassemble(tx, items, outcomes, now)
    live = [i for i, o in enumerate(outcomes) if o is None]
    found = await find_identities(tx, [items[i] for i in live])
    new = [i for i in live if key_hit(found, items[i]) is None]
    if new:
        await _admit_or_hold(tx, items, new, found, outcomes, now)
    admitted = [i for i in live if outcomes[i] is None]
    rows = [(items[i], key_hit(found, items[i])) for i in admitted]
    await learn_ids(tx, rows)
    plain = [row for row in rows if not edits.is_edit(row[0])]
    stored = await insert_messages(tx, plain, now)
    if len(plain) < len(rows):  # edits, after the messages they may edit; rare
        applied, orphans = await edits.apply_all(tx, rows)
        stored |= await insert_messages(tx, orphans, now)
        stored |= {key: None for key, outcome in applied.items() if outcome == "stored"}
    fresh = []
    for i, row in zip(admitted, rows, strict=True):
        key = (items[i].channel.id, items[i].inbound.provider_message_id)
        if key in stored:
            outcomes[i] = "stored"
            fresh.append(row)
        else:
            outcomes[i] = "duplicate"
    await touch_contacts(tx, fresh, now)
    await write_events(tx, fresh, stored, now)
    await consent.apply(tx, fresh, now)
    return [o or "duplicate" for o in outcomes]


def _mark_batch_duplicates(items: Sequence[Item]) -> list[Outcome | None]:
    seen: set[tuple[int, str]] = set()
    outcomes: list[Outcome | None] = []
    for item in items:
        key = (item.channel.id, item.inbound.provider_message_id)
        outcomes.append("duplicate" if key in seen else None)
        seen.add(key)
    return outcomes


async def _admit_or_hold(
    tx: RawTx,
    items: Sequence[Item],
    new: list[int],
    found: dict[Key, Resolved],
    outcomes: list[Outcome | None],
    now: datetime,
) -> None:
    """Under each workspace's plan lock: create identities while there is room, hold the rest."""
    by_workspace: dict[int, list[int]] = defaultdict(list)
    for i in new:
        by_workspace[items[i].channel.workspace_id].append(i)
    for _workspace_id, indexes in sorted(by_workspace.items()):  # one lock order: no deadlocks
        channel = items[indexes[0]].channel
        async with capacity.plan_lock(tx, channel, now) as plan:
            if await plan.has_held():
                await admit_held(tx, plan, now)
            fresh = await find_identities(tx, [items[i] for i in indexes])
            found.update(fresh)
            for i in indexes:
                if key_hit(found, items[i]) is not None:
                    continue
                if plan.room() > 0:
                    found.update(await create_identity(tx, plan, items[i], now))
                else:
                    outcomes[i] = await hold(tx, plan, items[i], now)


async def hold(tx: RawTx, plan: capacity.PlanLock, item: Item, now: datetime) -> Outcome:
    """Keep a new sender's message without counting it; a repeat delivery is a duplicate."""
    rows = await tx.fetch(
        "INSERT INTO held_message (workspace_id, channel_id, external_id, provider_message_id,"
        " inbound, received_at) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
        [
            item.channel.workspace_id,
            item.channel.id,
            item.inbound.external_id,
            item.inbound.provider_message_id,
            inbound_to_json(item.inbound),
            now,
        ],
    )
    await plan.note_full()
    return "held" if rows else "duplicate"


async def create_identity(
    tx: RawTx, plan: capacity.PlanLock, item: Item, now: datetime
) -> dict[Key, Resolved]:
    """Create the identity (and its contact unless a vouched phone/email finds one); count it."""
    inbound, channel = item.inbound, item.channel
    phone = to_e164(inbound.phone, channel.region) if inbound.phone else None
    email = normalise_email(inbound.email)
    vouched = (("identifier", inbound.identifier), ("phone", phone), ("email", email))
    created: dict[str, Any] | None = None
    contact_id = await contacts.owner_of(
        tx, channel.workspace_id, vouched, vouched_identifier=inbound.identifier
    )
    if contact_id is None:
        # a signed-in user refused by the guard above goes without another's phone or email
        taken = (
            await contacts.taken(tx, channel.workspace_id, vouched[1:])
            if inbound.identifier
            else set()
        )
        contact_id, created = await _insert_contact(
            tx,
            item,
            None if "phone" in taken else phone,
            None if "email" in taken else email,
            now,
        )
    else:  # a second identity of a known person: make it findable by its handle too
        await tx.execute(
            "UPDATE contact SET search_text = search_text || ? WHERE id = ?",
            [text.appended(handles(item)), contact_id],
        )
    rows = await tx.fetch(
        "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, scoped_id,"
        " username, display_name, phone, email, period, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        [
            channel.workspace_id,
            channel.id,
            contact_id,
            inbound.external_id,
            inbound.scoped_id,
            short_text(inbound.username),
            short_text(inbound.display_name),
            phone,
            email,
            plan.period,
            now,
        ],
    )
    await plan.count(channel.id)
    hit = Resolved(rows[0][0], contact_id, inbound.scoped_id, phone, created)
    return {key: hit for key in keys_of(item)}


async def _insert_contact(
    tx: RawTx, item: Item, phone: str | None, email: str | None, now: datetime
) -> tuple[int, dict[str, Any]]:
    inbound = item.inbound
    name = short_text(inbound.display_name or inbound.username)
    identifier = short_text(inbound.identifier)
    fields = {"name": name, "phone": phone, "email": email, "identifier": identifier}
    rows = await tx.fetch(
        "INSERT INTO contact (workspace_id, name, phone, phone_key, email, identifier, custom,"
        " source, last_channel_id, created_at, updated_at, search_text, name_key)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        [
            item.channel.workspace_id,
            name,
            phone,
            phone_key(phone),
            email,
            identifier,
            "{}",
            "inbound",
            item.channel.id,
            now,
            now,
            text.search_text(fields, [handles(item)]),
            text.fold_or_none(name),
        ],
    )
    return int(rows[0][0]), {**fields, "id": int(rows[0][0])}


async def insert_messages(
    tx: RawTx, rows: Sequence[tuple[Item, Resolved | None]], now: datetime
) -> dict[tuple[int, str], int | None]:
    """Insert messages, skipping ones already stored; returns the (channel, provider id) keys
    inserted with their message ids."""
    ordered = sorted(rows, key=lambda r: (r[0].channel.id, r[0].inbound.provider_message_id))
    params = [_message_params(item, hit, now) for item, hit in ordered if hit is not None]
    inserted: dict[tuple[int, str], int | None] = {}
    for start in range(0, len(params), CHUNK):
        chunk = params[start : start + CHUNK]
        values: list[Any]
        if tx.dialect == "postgres":  # arrays keep one prepared statement for any batch size
            sql, values = PG_INSERT_MESSAGES, [list(col) for col in zip(*chunk, strict=True)]
        else:
            sql = f"INSERT INTO message ({MSG_COLS}) VALUES {','.join([MSG_ROW] * len(chunk))}"
            sql += " ON CONFLICT DO NOTHING RETURNING channel_id, provider_message_id, id"
            values = [v for row in chunk for v in row]
        result = await tx.fetch(sql, values)
        inserted.update(((int(c), str(p)), int(i)) for c, p, i in result)
    return inserted


def _message_params(item: Item, hit: Resolved, now: datetime) -> tuple[object, ...]:
    inbound = item.inbound
    return (
        item.channel.workspace_id,
        item.channel.id,
        hit.identity_id,
        hit.contact_id,
        "in",
        inbound.provider_message_id,
        inbound.type,
        nul_free(inbound.text),
        dump_json(inbound.media) if inbound.media else None,
        dump_json(inbound.meta) if inbound.meta else None,
        inbound.sent_at,
        now,
    )


async def touch_contacts(
    tx: RawTx, rows: Sequence[tuple[Item, Resolved | None]], now: datetime
) -> None:
    """Record activity on each contact once; provider names fill an empty name only.

    One set-based UPDATE per batch: an executemany would cost a statement (and, on SQLite, a
    GIL hand-off) per contact.
    """
    latest: dict[int, tuple[str | None, str | None, int, str | None]] = {}
    for item, hit in rows:
        if hit is not None:
            inbound = item.inbound
            name = short_text(inbound.display_name or inbound.username)
            language = _language(inbound.language)
            latest[hit.contact_id] = (name, text.fold_or_none(name), item.channel.id, language)
    if not latest:
        return
    ordered = sorted(latest.items())  # one lock order across processes
    head = [text.SEPARATOR, now, now]
    if tx.dialect == "postgres":
        columns = [list(col) for col in zip(*[(cid, *v) for cid, v in ordered], strict=True)]
        await tx.execute(PG_TOUCH_CONTACTS, [*head, *columns])
        return
    values = ",".join(["(?,?,?,?,?)"] * len(ordered))
    await tx.execute(
        f"WITH v(id, name, name_key, channel_id, language) AS (VALUES {values}) UPDATE contact SET"
        f"{TOUCH_SET} FROM v WHERE contact.id = v.id",
        [*(x for cid, v in ordered for x in (cid, *v)), *head],  # VALUES come first
    )


def _language(tag: str | None) -> str | None:
    """A channel's language tag as a contact's language (`pt-br`), if it fits the column."""
    return tag if tag and len(tag) <= LANGUAGE_MAX and tag.isprintable() else None


async def admit_held(tx: RawTx, plan: capacity.PlanLock, now: datetime) -> int:
    """Admit held senders, oldest first, while the plan has room; returns senders admitted."""
    admitted = 0
    for channel, external_id in await capacity.held_senders(tx, plan):
        if plan.room() <= 0:
            break
        held = await capacity.take_held(tx, channel, external_id)
        found = await create_identity(tx, plan, held[0], now)
        hit = key_hit(found, held[0])
        rows = [(item, hit) for item in held]
        stored = await insert_messages(tx, rows, now)
        await touch_contacts(tx, [(held[-1], hit)], now)
        await write_events(tx, rows, stored, now)
        admitted += 1
    return admitted
