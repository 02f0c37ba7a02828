"""The SQL side of store.merge: contact rows, the checks, the snapshot, moving rows and back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store import tags
from store.access import Actor
from store.contacts import COLUMNS, Contact, as_datetime
from store.db import RawTx
from store.errors import Conflict, Invalid, NotFound
from store.phone_keys import keyed
from store.serial import dump_json, load_json

NAMES = tuple(c.strip() for c in COLUMNS.split(","))
TIMES = ("created_at", "updated_at", "last_activity_at", "last_incoming_at")
UNIQUE = ("email", "phone")
CHUNK = 500
Row = dict[str, Any]  # a contact row by column name (custom decoded, times as datetimes)


# Reading and checking


async def read_rows(
    tx: RawTx, ws: int, ids: Sequence[int], *, lock: bool = False
) -> dict[int, Row]:
    """Contact rows by id (locked in id order on PostgreSQL); NotFound for any missing."""
    marks = ",".join("?" * len(ids))
    found = await tx.fetch(
        f"SELECT {COLUMNS}, merged_into_id FROM contact WHERE workspace_id = ?"
        f" AND id IN ({marks}) ORDER BY id{tx.for_update if lock else ''}",
        [ws, *ids],
    )
    out = {int(r[0]): _row(r) for r in found}
    for contact_id in ids:
        if contact_id not in out:
            raise NotFound(f"no contact #{contact_id} in this workspace")
    return out


def _row(values: Sequence[Any]) -> Row:
    row = dict(zip((*NAMES, "merged_into_id"), values, strict=True))
    row["custom"] = load_json(row["custom"]) or {}
    for f in TIMES:
        row[f] = as_datetime(row[f])
    return row


async def read_pair(
    tx: RawTx, ws: int, primary_id: int, secondary_id: int, *, lock: bool = False
) -> tuple[Row, Row]:
    """The two live contacts of a merge; Conflict for one contact twice or a merged one."""
    if primary_id == secondary_id:
        raise Conflict(f"cannot merge contact #{primary_id} with itself")
    found = await read_rows(tx, ws, [primary_id, secondary_id], lock=lock)
    for row in found.values():
        if row["merged_into_id"] is not None:
            raise Conflict(
                f"contact #{row['id']} was already merged into #{row['merged_into_id']};"
                f" use #{row['merged_into_id']}, or unmerge #{row['id']} first"
            )
    return found[primary_id], found[secondary_id]


async def open_record(tx: RawTx, ws: int, contact_id: int) -> tuple[int, dict[str, Any]]:
    """The open merge to undo for a contact id: its merge away, else the one merge into it."""
    row = (await read_rows(tx, ws, [contact_id]))[contact_id]
    column = "secondary_id" if row["merged_into_id"] is not None else "primary_id"
    found = await tx.fetch(
        f"SELECT id, secondary_id, snapshot FROM merge_record WHERE workspace_id = ?"
        f" AND {column} = ? AND unmerged_at IS NULL ORDER BY id{tx.for_update}",
        [ws, contact_id],
    )
    if not found:
        raise Conflict(f"contact #{contact_id} has no merge to undo")
    if len(found) > 1:
        names = ", ".join(f"#{r[1]}" for r in found)
        raise Invalid(
            f"contacts {names} were merged into #{contact_id}: unmerge one of them by its id"
            f" (newest first: #{found[-1][1]})"
        )
    return int(found[0][0]), load_json(found[0][2])


async def check_order(tx: RawTx, record_id: int, primary_id: int) -> None:
    """Merges are undone newest first: a later merge into or of the primary goes first."""
    later = await tx.fetch(
        "SELECT primary_id, secondary_id FROM merge_record WHERE unmerged_at IS NULL"
        " AND id > ? AND (primary_id = ? OR secondary_id = ?) ORDER BY id DESC LIMIT 1",
        [record_id, primary_id, primary_id],
    )
    if later:
        p_id, s_id = (int(v) for v in later[0])
        raise Conflict(
            f"undo the merge of #{s_id} into #{p_id} first: merges are undone newest first"
        )


async def check_free(tx: RawTx, ws: int, owner: int, row: Row) -> None:
    """Conflict when an email/phone to restore now belongs to a third contact."""
    for f in UNIQUE:
        if row[f] is None:
            continue
        taken = await tx.fetch(
            f"SELECT COALESCE(merged_into_id, id) FROM contact WHERE workspace_id = ?"
            f" AND {f} = ? AND id <> ?",
            [ws, row[f], owner],
        )
        if taken:
            raise Conflict(
                f"cannot restore #{owner}: its {f} {row[f]} now belongs to contact"
                f" #{taken[0][0]}; change that contact first"
            )


@dataclass(frozen=True, slots=True)
class TagMoves:
    """The secondary's tags the primary does not carry: those that move with the merge, and
    the workspace's reset tag apart (it moves only when the person merging picks it)."""

    tags: list[tuple[int, str]]  # (tag id, name), by folded name
    reset: tuple[int, str] | None

    def split(self, move_reset: bool) -> tuple[list[tuple[int, str]], str | None]:
        """The tags that move (by folded name), and the reset tag's name when it stays."""
        if self.reset is None:
            return self.tags, None
        if not move_reset:
            return self.tags, self.reset[1]
        return sorted([*self.tags, self.reset], key=lambda t: tags.key(t[1])), None


async def tag_moves(tx: RawTx, ws: int, p_id: int, s_id: int) -> TagMoves:
    """Which of the secondary's tags are new to the primary, the reset tag set apart.

    The reset tag is the workspace's `reset_tag` matched by its folded key (`tags.key`), the
    same match the monthly reset deletes by."""
    found = await tx.fetch(
        "SELECT t.id, t.name, t.key, w.reset_tag FROM contact_tag ct"
        " JOIN tag t ON t.id = ct.tag_id JOIN workspace w ON w.id = t.workspace_id"
        " WHERE ct.contact_id = ? AND t.workspace_id = ? AND ct.tag_id NOT IN"
        " (SELECT tag_id FROM contact_tag WHERE contact_id = ?) ORDER BY t.key",
        [s_id, ws, p_id],
    )
    moving = [(int(i), str(n)) for i, n, k, reset in found if k != tags.key(reset)]
    reset = [(int(i), str(n)) for i, n, k, reset in found if k == tags.key(reset)]
    return TagMoves(moving, reset[0] if reset else None)


# Writing


async def take_snapshot(
    tx: RawTx, p: Row, s: Row, merged: Row, picks: Row, moved: Sequence[int]
) -> dict[str, Any]:
    """Everything unmerge needs, as JSON-ready data.

    `moved_tag_ids` are the tags the merge puts on the primary (the unmerge takes exactly those
    off it again); the secondary's other tags, such as a reset tag not picked, do not move.

    `message_ids` lists the secondary's messages exactly (one that sat on it across an earlier
    merge and unmerge goes back too); every message received later has an id over
    `max_message_id` and is not listed, so it stays on the primary.
    """
    max_id = await count(tx, "SELECT COALESCE(MAX(id), 0) FROM message", [])
    return {
        "primary": to_json(p),
        "secondary": to_json(s),
        "merged": to_json(merged),
        "picks": picks,
        "identity_ids": await _ids(tx, "SELECT id FROM identity WHERE contact_id = ?", s["id"]),
        "message_ids": await _ids(tx, "SELECT id FROM message WHERE contact_id = ?", s["id"]),
        "max_message_id": max_id,
        "note_ids": await _ids(tx, "SELECT id FROM note WHERE contact_id = ?", s["id"]),
        "tag_ids": await _ids(tx, "SELECT tag_id FROM contact_tag WHERE contact_id = ?", s["id"]),
        "primary_tag_ids": await _ids(
            tx, "SELECT tag_id FROM contact_tag WHERE contact_id = ?", p["id"]
        ),
        "moved_tag_ids": sorted(moved),
        "repointed_ids": await _ids(tx, "SELECT id FROM contact WHERE merged_into_id = ?", s["id"]),
    }


async def move_rows(tx: RawTx, s_id: int, p_id: int, snap: Mapping[str, Any]) -> None:
    """Move the secondary's identities, messages, notes, chosen tags and merged contacts to the
    primary; the secondary's tag links go (the unmerge puts them back)."""
    for table in ("identity", "message", "note"):
        await tx.execute(f"UPDATE {table} SET contact_id = ? WHERE contact_id = ?", [p_id, s_id])
    await tags.link(tx, [p_id], snap["moved_tag_ids"])
    await tx.execute("DELETE FROM contact_tag WHERE contact_id = ?", [s_id])
    await tx.execute("UPDATE contact SET merged_into_id = ? WHERE merged_into_id = ?", [p_id, s_id])


async def restore_rows(tx: RawTx, p_id: int, s_id: int, snap: Mapping[str, Any]) -> None:
    """Give the secondary back its rows (those still on the primary) and tags."""
    back = "SET contact_id = ? WHERE contact_id = ? AND id IN"
    for table, ids in (("identity", "identity_ids"), ("message", "message_ids")):
        await _in_chunks(tx, f"UPDATE {table} {back}", [s_id, p_id], snap[ids])
    await _in_chunks(tx, f"UPDATE note {back}", [s_id, p_id], snap["note_ids"])
    gained = snap.get("moved_tag_ids")  # merges recorded before it moved all that was new
    if gained is None:
        gained = sorted(set(snap["tag_ids"]) - set(snap["primary_tag_ids"]))
    await _in_chunks(
        tx, "DELETE FROM contact_tag WHERE contact_id = ? AND tag_id IN", [p_id], gained
    )
    await _in_chunks(  # tags deleted since the merge are skipped
        tx,
        "INSERT INTO contact_tag (contact_id, tag_id, created_at) SELECT ?, id, ? FROM tag"
        " WHERE id IN",
        [s_id, datetime.now(UTC)],
        snap["tag_ids"],
    )
    await _in_chunks(
        tx,
        "UPDATE contact SET merged_into_id = ? WHERE merged_into_id = ? AND id IN",
        [s_id, p_id],
        snap["repointed_ids"],
    )


async def insert_record(
    tx: RawTx, actor: Actor, p_id: int, s_id: int, snap: Mapping[str, Any]
) -> None:
    """Insert the merge_record of a merge."""
    await tx.execute(
        "INSERT INTO merge_record (workspace_id, primary_id, secondary_id, snapshot, merged_by,"
        " merged_at) VALUES (?,?,?,?,?,?)",
        [actor.workspace_id, p_id, s_id, dump_json(snap), actor.name, datetime.now(UTC)],
    )


async def write_row(tx: RawTx, contact_id: int, values: Row) -> None:
    """UPDATE the given columns of one contact (a phone with its match key)."""
    values = keyed(values)
    params = [dump_json(v) if k == "custom" else v for k, v in values.items()]
    sets = ", ".join(f"{k} = ?" for k in values)
    await tx.execute(f"UPDATE contact SET {sets} WHERE id = ?", [*params, contact_id])


async def _in_chunks(tx: RawTx, sql: str, params: list[Any], ids: Sequence[int]) -> None:
    """Run `sql … IN (ids)` in chunks (sql ends with `IN`)."""
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        await tx.execute(f"{sql} ({','.join('?' * len(chunk))})", [*params, *chunk])


# Small helpers


async def count(tx: RawTx, sql: str, params: list[Any]) -> int:
    """The single number a COUNT/MAX query returns."""
    return int((await tx.fetch(sql, params))[0][0])


async def _ids(tx: RawTx, sql: str, contact_id: int) -> list[int]:
    return [int(r[0]) for r in await tx.fetch(f"{sql} ORDER BY 1", [contact_id])]


def as_contact(row: Row) -> Contact:
    """The Contact (without tags or channels) of a row."""
    return Contact(*(row[n] for n in NAMES))


def to_json(row: Row) -> dict[str, Any]:
    """A row as JSON-ready data (times as ISO text)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def from_json(data: Mapping[str, Any]) -> Row:
    """A row back from `to_json` data."""
    row = dict(data)
    for f in TIMES:
        if f in row:
            row[f] = as_datetime(row[f])
    return row
