"""Merge two contacts into one (preview, per-field picks) and undo it exactly (unmerge).

A merge moves the secondary's identities, messages, notes and tags to the primary and keeps
the secondary's row, pointing at the primary (`merged_into_id`), so its id, and any email,
phone or identifier the primary did not take, keep resolving to the primary. Everything an
unmerge needs is kept in a merge_record snapshot. Merges into a contact are undone newest
first, so each unmerge restores exactly the state its merge started from. A merge refunds no
plan usage and triggers no automation (no `event` rows). The SQL is in store.merge.rows.

The workspace's reset tag (`Borrar`) moves only when the person merging picks it
(`move_reset_tag`): a merge never schedules a kept contact for deletion behind anyone's back.
A pick never blanks a value: picking a side whose value is empty, when the other has one, is
refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store import outbox, text
from store.access import Actor, audit, require
from store.contacts import Contact, as_datetime, load, with_tags
from store.db import ClientTx, raw_transaction
from store.errors import Invalid
from store.merge.rows import (
    NAMES,
    Row,
    as_contact,
    check_free,
    check_order,
    count,
    from_json,
    insert_record,
    move_rows,
    open_record,
    read_pair,
    read_rows,
    restore_rows,
    tag_moves,
    take_snapshot,
    write_row,
)
from store.serial import contact_data, load_json

FIELDS = (
    *("name", "email", "phone", "identifier", "company", "city", "country", "language"),
    *("avatar_url", "assignee"),
)
KEYS = ("email", "phone", "identifier")  # what the secondary row keeps to resolve lookups
ACTIVITY = ("last_activity_at", "last_incoming_at", "last_channel_id")
SIDES = ("primary", "secondary")
OTHER = dict(zip(SIDES, reversed(SIDES), strict=True))


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """A field the two contacts disagree on; `keeps` says which side wins without a pick."""

    field: str
    primary: Any
    secondary: Any
    keeps: str
    pickable: bool  # both sides hold a value: a pick of either blanks nothing


@dataclass(frozen=True, slots=True)
class MergePreview:
    """Both contacts, where they differ, and what moves to the primary."""

    primary: Contact
    secondary: Contact
    diffs: list[FieldDiff]
    identities: int
    messages: int
    notes: int
    tags: list[str]  # the secondary's tags new to the primary, which move (not the reset tag)
    reset_tag: str | None  # the reset tag, when the secondary has it and the primary not


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The primary after a merge, the tags that moved onto it, and the reset tag when it stayed
    behind (the secondary had it, the primary did not, and it was not picked)."""

    contact: Contact
    moved_tags: list[str]
    reset_tag_stayed: str | None


@dataclass(frozen=True, slots=True)
class MergeInfo:
    """An open (not undone) merge."""

    id: int
    primary_id: int
    secondary_id: int
    secondary_name: str
    merged_by: str
    merged_at: datetime


async def preview(actor: Actor, primary_id: int, secondary_id: int) -> MergePreview:
    """The field-by-field differences of two contacts and the counts a merge would move."""
    require(actor, "admin")
    tx = ClientTx()
    p, s = await read_pair(tx, actor.workspace_id, primary_id, secondary_id)
    counts = [
        await count(tx, f"SELECT COUNT(*) FROM {table} WHERE contact_id = ?", [s["id"]])
        for table in ("identity", "message", "note")
    ]
    moves = await tag_moves(tx, actor.workspace_id, p["id"], s["id"])
    primary, secondary = await with_tags(tx, [as_contact(p), as_contact(s)])
    identities, messages, notes = counts
    moving, reset = moves.split(move_reset=False)
    tags = [n for _, n in moving]
    diffs = field_diffs(p, s)
    return MergePreview(primary, secondary, diffs, identities, messages, notes, tags, reset)


def field_diffs(p: Row, s: Row) -> list[FieldDiff]:
    """Fields (then custom keys) whose values differ between the two rows."""
    pairs = [(f, p[f], s[f]) for f in FIELDS]
    keys = [*p["custom"], *(k for k in s["custom"] if k not in p["custom"])]
    pairs += [(f"custom.{k}", p["custom"].get(k), s["custom"].get(k)) for k in keys]
    return [
        FieldDiff(
            name, pv, sv, "secondary" if _empty(pv) else "primary", not (_empty(pv) or _empty(sv))
        )
        for name, pv, sv in pairs
        if not (pv == sv or (_empty(pv) and _empty(sv)))
    ]


async def merge(
    actor: Actor,
    primary_id: int,
    secondary_id: int,
    picks: Mapping[str, str] | None = None,
    *,
    move_reset_tag: bool = False,
) -> MergeResult:
    """Merge the secondary into the primary; the primary and the tags that moved onto it.

    `picks` maps a field (or `custom.<key>`) to "primary" or "secondary". Without a pick the
    primary's value wins, except that an empty primary field takes the secondary's value; a
    pick of an empty value over a present one is refused. Activity times and last channel are
    the latest of both, created_at the earliest. The secondary's tags move, except the reset
    tag unless `move_reset_tag`: otherwise the primary keeps its own reset-tag state.
    """
    require(actor, "admin")
    async with raw_transaction() as tx:
        p, s = await read_pair(tx, actor.workspace_id, primary_id, secondary_id, lock=True)
        chosen = _check_picks(picks or {}, p, s)
        moves = await tag_moves(tx, actor.workspace_id, p["id"], s["id"])
        moving, stayed = moves.split(move_reset_tag)
        merged = merged_row(p, s, chosen)
        snap = await take_snapshot(tx, p, s, merged, chosen, [i for i, _ in moving])
        await write_row(tx, s["id"], {"email": None, "phone": None, "merged_into_id": p["id"]})
        await write_row(tx, p["id"], merged)
        await write_row(tx, s["id"], leftovers(p, s, merged))
        await move_rows(tx, s["id"], p["id"], snap)
        await insert_record(tx, actor, p["id"], s["id"], snap)
        await text.refresh(tx, [p["id"], s["id"]])
        moved = [n for _, n in moving]
        detail = {"secondary": s["id"], "picks": chosen, "moved_tags": moved}
        detail["reset_tag_stayed"] = stayed
        await audit(tx, actor, "contact.merge", f"#{p['id']}", detail)
        merged_contact = await load(tx, actor.workspace_id, p["id"])
        data = outbox.contact_event(merged_contact, "merge", secondary_id=s["id"])
        await outbox.emit(tx, actor.workspace_id, "contact.merged", data, contact_id=p["id"])
        return MergeResult(merged_contact, moved, stayed)


def merged_row(p: Row, s: Row, picks: Mapping[str, str]) -> Row:
    """The primary's columns after the merge."""
    out: Row = {f: _choose(p[f], s[f], picks.get(f)) for f in FIELDS}
    custom: dict[str, Any] = {}
    for k in [*p["custom"], *(k for k in s["custom"] if k not in p["custom"])]:
        pv, sv = p["custom"].get(k, _MISSING), s["custom"].get(k, _MISSING)
        value = _choose(pv, sv, picks.get(f"custom.{k}"))
        if value is not _MISSING:
            custom[k] = value
    latest = max((p, s), key=lambda r: r["last_incoming_at"] or r["last_activity_at"] or _EPOCH)
    out |= {
        "custom": custom,
        "source": p["source"],
        "created_at": min(p["created_at"], s["created_at"]),
        "updated_at": datetime.now(UTC),
        "last_activity_at": _latest(p["last_activity_at"], s["last_activity_at"]),
        "last_incoming_at": _latest(p["last_incoming_at"], s["last_incoming_at"]),
        "last_channel_id": latest["last_channel_id"] or p["last_channel_id"],
    }
    return out


def leftovers(p: Row, s: Row, merged: Row) -> Row:
    """The secondary row keeps each email/phone/identifier of the pair the primary did not take."""
    out: Row = {}
    for f in KEYS:
        if merged[f] == s[f]:
            out[f] = p[f] if p[f] != s[f] else None
        else:
            out[f] = s[f]
    return out


async def unmerge(actor: Actor, contact_id: int) -> tuple[Contact, Contact]:
    """Undo a merge; returns (primary, secondary) as they are after it.

    `contact_id` is the merged-away contact, or the primary when exactly one merge went into
    it. The secondary gets back its own fields, tags, notes, identities and the messages it
    had before the merge. Messages received after the merge stay on the primary, even those
    on an identity that goes back to the secondary (their `identity_id` names it, their
    `contact_id` stays the primary's). The primary gets back its own fields and tags, except
    what changed on it since the merge: a field whose value is no longer the one the merge
    wrote keeps its current value, and tags or notes added since stay.
    """
    require(actor, "admin")
    async with raw_transaction() as tx:
        record_id, snap = await open_record(tx, actor.workspace_id, contact_id)
        p_id, s_id = snap["primary"]["id"], snap["secondary"]["id"]
        await check_order(tx, record_id, p_id)
        current = (await read_rows(tx, actor.workspace_id, [p_id, s_id], lock=True))[p_id]
        before, after, own = (from_json(snap[k]) for k in ("primary", "merged", "secondary"))
        restored = restored_primary(current, before, after)
        await write_row(tx, s_id, {"email": None, "phone": None})
        await check_free(tx, actor.workspace_id, p_id, restored)
        await write_row(tx, p_id, restored)
        await check_free(tx, actor.workspace_id, s_id, own)
        await write_row(tx, s_id, {**{n: own[n] for n in NAMES[2:]}, "merged_into_id": None})
        await restore_rows(tx, p_id, s_id, snap)
        await tx.execute(
            "UPDATE merge_record SET unmerged_at = ? WHERE id = ?", [datetime.now(UTC), record_id]
        )
        await text.refresh(tx, [p_id, s_id])
        await audit(tx, actor, "contact.unmerge", f"#{p_id}", {"secondary": s_id})
        primary = await load(tx, actor.workspace_id, p_id)
        secondary = await load(tx, actor.workspace_id, s_id)
        data = outbox.contact_event(primary, "merge", secondary=contact_data(secondary))
        await outbox.emit(tx, actor.workspace_id, "contact.unmerged", data, contact_id=p_id)
        return primary, secondary


def restored_primary(current: Row, before: Row, after: Row) -> Row:
    """The primary's columns after an unmerge: as before the merge, unless changed since."""
    out: Row = {}
    for f in (*FIELDS, "source", "created_at", "updated_at"):
        out[f] = before[f] if current[f] == after[f] else current[f]
    untouched = all(current[f] == after[f] for f in ACTIVITY)
    out |= {f: before[f] if untouched else current[f] for f in ACTIVITY}
    custom: dict[str, Any] = {}
    for k in [*before["custom"], *current["custom"]]:
        now = current["custom"].get(k, _MISSING)
        value = (
            before["custom"].get(k, _MISSING) if now == after["custom"].get(k, _MISSING) else now
        )
        if value is not _MISSING:
            custom[k] = value
    out["custom"] = custom
    return out


async def merges(actor: Actor, contact_id: int) -> list[MergeInfo]:
    """Open merges into or out of a contact (by its own id), oldest first."""
    require(actor, "admin")
    tx = ClientTx()
    await read_rows(tx, actor.workspace_id, [contact_id])
    found = await tx.fetch(
        "SELECT id, primary_id, secondary_id, snapshot, merged_by, merged_at FROM merge_record"
        " WHERE workspace_id = ? AND unmerged_at IS NULL AND (primary_id = ? OR secondary_id = ?)"
        " ORDER BY id",
        [actor.workspace_id, contact_id, contact_id],
    )
    return [_info(row) for row in found]


def _info(row: Sequence[Any]) -> MergeInfo:
    record_id, p_id, s_id, snap, by, at = row
    s = as_contact(from_json(load_json(snap)["secondary"]))
    merged_at = as_datetime(at) or _EPOCH  # never null in the table
    return MergeInfo(int(record_id), int(p_id), int(s_id), s.display_name, str(by), merged_at)


def _check_picks(picks: Mapping[str, str], p: Row, s: Row) -> dict[str, str]:
    allowed = {*FIELDS, *(f"custom.{k}" for k in (*p["custom"], *s["custom"]))}
    for name, side in picks.items():
        if name not in allowed:
            raise Invalid(
                f"cannot pick {name!r}: choose from {', '.join(FIELDS)}"
                " or custom.<key> of a custom field either contact has"
            )
        if side not in SIDES:
            raise Invalid(f"the pick for {name} must be 'primary' or 'secondary', not {side!r}")
        mine, theirs = _values(name, p, s) if side == "primary" else _values(name, s, p)
        if _empty(mine) and not _empty(theirs):
            raise Invalid(
                f"cannot pick the {side}'s {name}: it is empty and would blank the"
                f" {OTHER[side]}'s value (a pick never blanks a value)"
            )
    return dict(picks)


def _values(name: str, a: Row, b: Row) -> tuple[Any, Any]:
    """The values of a field (or `custom.<key>`) on two rows."""
    if name.startswith("custom."):
        return a["custom"].get(name[7:], _MISSING), b["custom"].get(name[7:], _MISSING)
    return a[name], b[name]


# Small helpers


_MISSING: Any = object()  # a custom key a contact does not have
_EPOCH = datetime.min.replace(tzinfo=UTC)


def _empty(value: Any) -> bool:
    return value is None or value is _MISSING or value == ""


def _choose(pv: Any, sv: Any, pick: str | None) -> Any:
    if pick == "secondary":
        return sv
    if pick == "primary":
        return pv
    return sv if _empty(pv) and not _empty(sv) else pv


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b
