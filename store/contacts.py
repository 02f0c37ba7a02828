"""Contacts: read one by id, create-or-update, patch, delete (references: store.refs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from store import outbox, text
from store.access import Actor, audit, require
from store.contact_fields import clean_fields
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Invalid, NotFound, Taken
from store.phone_keys import keyed, lookup
from store.serial import dump_json, load_json

COLUMNS = (
    "id, workspace_id, name, email, phone, identifier, company, city, country, language,"
    " avatar_url, custom, assignee, source, last_channel_id, created_at, updated_at,"
    " last_activity_at, last_incoming_at"
)


@dataclass(slots=True)
class Contact:
    """A contact as every surface shows it (tags and channel kinds included)."""

    id: int
    workspace_id: int
    name: str | None
    email: str | None
    phone: str | None
    identifier: str | None
    company: str | None
    city: str | None
    country: str | None
    language: str | None
    avatar_url: str | None
    custom: dict[str, Any]
    assignee: str | None
    source: str
    last_channel_id: int | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime | None
    last_incoming_at: datetime | None
    tags: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)  # channel kinds, one per identity
    opted_out: bool = False  # an identity of it sent an opt-out word (store.inbound.consent)

    @property
    def display_name(self) -> str:
        """Name, else phone, else email, else `#id`."""
        return self.name or self.phone or self.email or f"#{self.id}"


def as_datetime(value: Any) -> datetime | None:
    """A timestamp column as fetched raw (SQLite gives text) as an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stamp(value: Any) -> datetime:
    """A NOT NULL timestamp column as an aware datetime."""
    parsed = as_datetime(value)
    if parsed is None:
        raise ValueError("a NOT NULL timestamp came back empty")
    return parsed


def contact_from_row(row: Sequence[Any]) -> Contact:
    """A Contact from a row of COLUMNS (tags and channels filled by `with_tags`)."""
    values = list(row)
    values[11] = load_json(values[11]) or {}
    for i in (15, 16, 17, 18):
        values[i] = as_datetime(values[i])
    return Contact(*values)


async def with_tags(tx: RawTx, contacts: list[Contact]) -> list[Contact]:
    """Fill tags, channel kinds and opt-out of `contacts` in two queries."""
    if not contacts:
        return contacts
    by_id = {c.id: c for c in contacts}
    marks = ",".join("?" * len(by_id))
    tags = await tx.fetch(
        "SELECT ct.contact_id, t.name FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
        f" WHERE ct.contact_id IN ({marks}) ORDER BY t.key",
        list(by_id),
    )
    for cid, name in tags:
        by_id[int(cid)].tags.append(name)
    kinds = await tx.fetch(
        "SELECT i.contact_id, ch.kind, i.opted_out_at FROM identity i"
        f" JOIN channel ch ON ch.id = i.channel_id WHERE i.contact_id IN ({marks}) ORDER BY i.id",
        list(by_id),
    )
    for cid, kind, opted_out_at in kinds:
        by_id[int(cid)].channels.append(kind)
        if opted_out_at is not None:
            by_id[int(cid)].opted_out = True
    return contacts


MAX_ID = 2**31 - 1  # contact ids are 32-bit integers


async def load(tx: RawTx, workspace_id: int, contact_id: int) -> Contact:
    """The live contact with this id in the workspace; a merged-away id gives its primary."""
    if not 0 < contact_id <= MAX_ID:
        raise NotFound(f"no contact #{contact_id}")
    for _hop in range(8):  # merges keep chains flat; the bound only guards against a cycle
        rows = await tx.fetch(
            f"SELECT {COLUMNS}, merged_into_id FROM contact WHERE id = ? AND workspace_id = ?",
            [contact_id, workspace_id],
        )
        if not rows:
            break
        if rows[0][-1] is None:
            return (await with_tags(tx, [contact_from_row(rows[0][:-1])]))[0]
        contact_id = int(rows[0][-1])
    raise NotFound(f"no contact #{contact_id}")


async def load_many(tx: RawTx, workspace_id: int, ids: Sequence[int]) -> list[Contact]:
    """The live contacts among `ids` in the workspace, by id, with tags and channel kinds."""
    if not ids:
        return []
    rows = await tx.fetch(
        f"SELECT {COLUMNS} FROM contact WHERE workspace_id = ? AND merged_into_id IS NULL"
        f" AND id IN ({','.join('?' * len(ids))}) ORDER BY id",
        [workspace_id, *ids],
    )
    return await with_tags(tx, [contact_from_row(r) for r in rows])


async def get(actor: Actor, contact_id: int) -> Contact:
    """One contact by id (a merged-away id resolves to the primary)."""
    require(actor, "agent")
    return await load(ClientTx(), actor.workspace_id, contact_id)


async def workspace_region(tx: RawTx, workspace_id: int) -> str:
    """The default phone region of a workspace."""
    rows = await tx.fetch("SELECT default_region FROM workspace WHERE id = ?", [workspace_id])
    if not rows:
        raise NotFound(f"no workspace #{workspace_id}")
    return str(rows[0][0])


async def workspace_zone(tx: RawTx, workspace_id: int) -> str:
    """The timezone name of a workspace (times shown to people are in it)."""
    rows = await tx.fetch("SELECT timezone FROM workspace WHERE id = ?", [workspace_id])
    return str(rows[0][0]) if rows and rows[0][0] else "UTC"


async def upsert(actor: Actor, data: Mapping[str, Any]) -> tuple[Contact, bool]:
    """Create a contact, or update the one matching by identifier, then email, then phone.

    Returns (contact, created). A unique email/phone owned by another contact is a Taken
    naming that contact. Editing contacts is for admins (SPEC section 5: agents search, show,
    tag and write notes).
    """
    require(actor, "admin")
    async with raw_transaction() as tx:
        fields = clean_fields(data, await workspace_region(tx, actor.workspace_id))
        if not any(fields.get(k) for k in ("name", "email", "phone", "identifier")):
            raise Invalid("a contact needs at least one of name, email, phone, identifier")
        existing = await match_existing(tx, actor.workspace_id, fields)
        if existing is None:
            contact_id = await insert(
                tx, actor.workspace_id, fields, "api" if actor.surface == "api" else "manual"
            )
            await audit(tx, actor, "contact.create", f"#{contact_id}", _shown(fields))
            return await changed(tx, actor, contact_id, "contact.created"), True
        await update(tx, actor.workspace_id, existing, fields)
        await audit(tx, actor, "contact.update", f"#{existing}", _shown(fields))
        return await changed(tx, actor, existing, "contact.updated"), False


async def changed(tx: RawTx, actor: Actor, contact_id: int, event: str, **extra: Any) -> Contact:
    """The contact after a change by `actor`, with its event written to the outbox in `tx`."""
    contact = await load(tx, actor.workspace_id, contact_id)
    await outbox.emit(
        tx,
        actor.workspace_id,
        event,
        outbox.contact_event(contact, outbox.source_of(actor), **extra),
        contact_id=contact.id,
    )
    return contact


async def create(actor: Actor, data: Mapping[str, Any], *, source: str) -> Contact:
    """Create a contact by hand (admins): never an update of another one; an email or phone
    another contact holds is a Taken naming it."""
    require(actor, "admin")
    async with raw_transaction() as tx:
        fields = clean_fields(data, await workspace_region(tx, actor.workspace_id))
        if not any(fields.get(k) for k in ("name", "email", "phone", "identifier")):
            raise Invalid("a contact needs at least one of name, email, phone, identifier")
        contact_id = await insert(tx, actor.workspace_id, fields, source)
        await audit(tx, actor, "contact.create", f"#{contact_id}", _shown(fields))
        return await load(tx, actor.workspace_id, contact_id)


async def match_existing(tx: RawTx, ws: int, fields: Mapping[str, Any]) -> int | None:
    """The live contact an upsert updates: same identifier, else email, else phone."""
    keys = ("identifier", "email", "phone")
    return await owner_of(tx, ws, [(k, fields[k]) for k in keys if fields.get(k)])


async def owner_of(
    tx: RawTx,
    ws: int,
    pairs: Sequence[tuple[str, Any]],
    *,
    vouched_identifier: str | None = None,
) -> int | None:
    """The live contact (following merges) holding the first of `pairs` (column, value) found.

    A phone finds the contact holding any variant of it (store.phone_keys). With
    `vouched_identifier`, a phone or email match whose contact has another identifier is no
    match: the identifier is what the business vouched for (web chat signs only it), and a
    signed-in user must not join someone else's contact by claiming their phone or email.
    """
    for wanted, raw in pairs:
        if raw is None:
            continue
        column, value = lookup(wanted, raw)
        guard, params = "", [ws, value]
        if vouched_identifier is not None and wanted != "identifier":
            guard = " AND (identifier IS NULL OR identifier = ?)"
            params.append(vouched_identifier)
        rows = await tx.fetch(
            f"SELECT id, merged_into_id FROM contact WHERE workspace_id = ? AND {column} = ?"
            f"{guard} ORDER BY merged_into_id IS NOT NULL, id LIMIT 1",  # identifiers repeat
            params,
        )
        if rows:
            return int(rows[0][1] or rows[0][0])
    return None


async def taken(tx: RawTx, ws: int, pairs: Sequence[tuple[str, Any]]) -> set[str]:
    """Which of the unique columns in `pairs` (phone, email) another contact already holds (a
    phone under any variant)."""
    held = set()
    for wanted, raw in pairs:
        column, value = lookup(wanted, raw)
        if value is not None and await tx.fetch(
            f"SELECT 1 FROM contact WHERE workspace_id = ? AND {column} = ?", [ws, value]
        ):
            held.add(wanted)
    return held


async def insert(tx: RawTx, ws: int, fields: Mapping[str, Any], source: str) -> int:
    """Insert a contact row (fields already clean) with its derived columns; returns its id."""
    await _check_unique(tx, ws, fields, None)
    now = datetime.now(UTC)
    values = keyed({k: v for k, v in fields.items() if k != "custom"})
    custom = fields.get("custom") or {}
    cols = [*values, "custom", "workspace_id", "source", "created_at", "updated_at"]
    cols += ["search_text", "name_key"]
    params = [*values.values(), dump_json(custom), ws, source, now, now]
    params += [
        text.search_text({**fields, "custom": custom}),
        text.fold_or_none(fields.get("name")),
    ]
    rows = await tx.fetch(
        f"INSERT INTO contact ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})"
        " RETURNING id",
        params,
    )
    return int(rows[0][0])


async def update(tx: RawTx, ws: int, contact_id: int, fields: Mapping[str, Any]) -> None:
    """Apply clean fields to a contact (custom keys merge; a null custom value removes one)."""
    await _check_unique(tx, ws, fields, contact_id)
    sets = keyed({k: v for k, v in fields.items() if k != "custom"})
    params: list[Any] = list(sets.values())
    assignments = [f"{k} = ?" for k in sets]
    if "custom" in fields:
        rows = await tx.fetch("SELECT custom FROM contact WHERE id = ?", [contact_id])
        merged = {**(load_json(rows[0][0]) or {}), **fields["custom"]}
        merged = {k: v for k, v in merged.items() if v is not None}
        assignments.append("custom = ?")
        params.append(dump_json(merged))
    assignments.append("updated_at = ?")
    params += [datetime.now(UTC), contact_id]
    await tx.execute(f"UPDATE contact SET {', '.join(assignments)} WHERE id = ?", params)
    await text.refresh(tx, [contact_id])


async def _check_unique(
    tx: RawTx, ws: int, fields: Mapping[str, Any], contact_id: int | None
) -> None:
    for key in ("email", "phone"):
        if not fields.get(key):
            continue
        column, value = lookup(key, fields[key])
        rows = await tx.fetch(
            f"SELECT id, name, merged_into_id FROM contact WHERE workspace_id = ? AND {column} = ?",
            [ws, value],
        )
        rows = [r for r in rows if int(r[0]) != contact_id]  # two variants may share a key
        if not rows:
            continue
        owner = int(rows[0][2] or rows[0][0])
        if owner != contact_id:
            raise Taken(
                f"{key} {fields[key]} already belongs to contact #{owner}",
                field=key, value=str(fields[key]), owner=owner,
            )  # fmt: skip
        # kept by a contact merged into this one (store.merge): it moves to this one
        cleared = "phone = NULL, phone_key" if key == "phone" else key
        await tx.execute(f"UPDATE contact SET {cleared} = NULL WHERE id = ?", [rows[0][0]])


def _shown(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"fields": sorted(fields)}


async def patch(actor: Actor, contact_id: int, data: Mapping[str, Any]) -> Contact:
    """Change some fields of a contact (admins)."""
    require(actor, "admin")
    if not data:
        raise Invalid("nothing to change")
    async with raw_transaction() as tx:
        fields = clean_fields(data, await workspace_region(tx, actor.workspace_id))
        current = await load(tx, actor.workspace_id, contact_id)
        await update(tx, actor.workspace_id, current.id, fields)
        await audit(tx, actor, "contact.update", f"#{current.id}", _shown(fields))
        return await changed(tx, actor, current.id, "contact.updated")


async def delete(actor: Actor, contact_id: int) -> int:
    """Delete a contact and everything of its (identities, messages, notes, tags, merges)."""
    require(actor, "admin")
    async with raw_transaction() as tx:
        current = await load(tx, actor.workspace_id, contact_id)
        await delete_rows(tx, [current.id])
        await audit(tx, actor, "contact.delete", f"#{current.id}", {"name": current.name})
        data = outbox.contact_event(current, outbox.source_of(actor))
        await outbox.emit(tx, actor.workspace_id, "contact.deleted", data, contact_id=current.id)
        return current.id


async def delete_rows(tx: RawTx, ids: Sequence[int]) -> None:
    """Delete contacts (and contacts merged into them) with all their rows."""
    ids = list(ids)
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    merged = await tx.fetch(f"SELECT id FROM contact WHERE merged_into_id IN ({marks})", ids)
    ids += [int(r[0]) for r in merged]
    marks = ",".join("?" * len(ids))
    if tx.for_update:  # ingest reads identities FOR SHARE in id order: take them first, alike
        await tx.fetch(
            f"SELECT id FROM identity WHERE contact_id IN ({marks}) ORDER BY id FOR UPDATE", ids
        )
    for sql in (
        f"DELETE FROM message WHERE contact_id IN ({marks})",
        f"DELETE FROM identity WHERE contact_id IN ({marks})",
        f"DELETE FROM note WHERE contact_id IN ({marks})",
        f"DELETE FROM contact_tag WHERE contact_id IN ({marks})",
        f"DELETE FROM merge_record WHERE primary_id IN ({marks}) OR secondary_id IN ({marks})",
        f"DELETE FROM duplicate_dismissal WHERE contact_a_id IN ({marks})"
        f" OR contact_b_id IN ({marks})",
        f"DELETE FROM contact WHERE id IN ({marks})",
    ):
        await tx.execute(sql, ids * sql.count("IN ("))
