"""Erasure that reaches everywhere: a person and everything of theirs, in one transaction.

Deleted: the contact and every contact merged into it, their identities, messages, notes, tag
links, merge records in both directions, their events in the outbox (queued or kept: the
bodies hold their data), and the held messages and waiting multipart parts parked under any of
their ids, phones or emails. The audit log keeps who, when and what, but
not the person's values: every line about them, and every other line whose detail holds one of
their values, has its values replaced by ERASED (the keys stay, so "changed the email" is still
said). The erasure itself is audited with the counts only.

An admin confirms with the number of contacts the erasure takes (the person plus everyone merged
into them), as a bulk delete is confirmed; the refusal names them.

Reset exports already on disk are files this cannot rewrite: `exports_holding` says which of
them hold one of the person's handles, so the operator can purge them
(`contactgate exports purge --before DATE`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.access import Actor, audit
from store.contacts import delete_rows
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Conflict
from store.person.data import keyed_where
from store.person.scope import Person, person
from store.serial import dump_json, load_json

ERASED = "[erased]"
MIN_VALUE = 4  # shorter values (a two-letter name) are not hunted through other lines' details
SCAN_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure took, by kind, and the reset exports on disk that hold the person."""

    contact_id: int
    name: str
    erased: dict[str, int]
    exports_holding: list[str] = field(default_factory=list)


async def preview(actor: Actor, contact_id: int) -> tuple[Person, list[tuple[int, str]]]:
    """The person an erasure would take and everyone merged into them: (id, name) pairs."""
    async with raw_transaction() as tx:
        who = await person(tx, actor, contact_id)
        return who, await _names(tx, who.family)


def confirmation(who: Person, names: Sequence[tuple[int, str]]) -> str:
    """The words that name what an erasure takes, for the refusal and the chat's question."""
    c = who.contact
    merged = [f"#{i} {n}" for i, n in names if i != c.id]
    also = f" and {len(merged)} merged into them ({', '.join(merged)})" if merged else ""
    count = len(who.family)
    return (
        f"erasing #{c.id} {c.display_name}{also} deletes {count} contact"
        f"{'s' if count != 1 else ''} and everything of theirs"
    )


async def erase(actor: Actor, contact_id: int, confirm: int | None) -> Erasure:
    """Erase a person (admins). `confirm` must equal the number of contacts it takes; Conflict
    otherwise, naming them."""
    async with raw_transaction() as tx:
        who = await person(tx, actor, contact_id)
        names = await _names(tx, who.family)
        if confirm != len(who.family):
            raise Conflict(f"{confirmation(who, names)}: confirm with {len(who.family)}")
        values = _values(who, names)
        erased = await _delete(tx, actor.workspace_id, who)
        erased["audit_lines_scrubbed"] = await _scrub_audit(tx, actor.workspace_id, who, values)
        await audit(tx, actor, "contact.erase", f"#{who.contact.id}", {"erased": erased})
    holding = await exports_holding(actor.workspace_id, who)
    return Erasure(who.contact.id, who.contact.display_name, erased, holding)


async def _names(tx: RawTx, ids: Sequence[int]) -> list[tuple[int, str]]:
    marks = ",".join("?" * len(ids))
    rows = await tx.fetch(
        f"SELECT id, name, phone, email FROM contact WHERE id IN ({marks}) ORDER BY id", list(ids)
    )
    return [(int(r[0]), r[1] or r[2] or r[3] or f"#{r[0]}") for r in rows]


async def _count(tx: RawTx, sql: str, params: Sequence[Any]) -> int:
    return int((await tx.fetch(sql, list(params)))[0][0])


async def _delete(tx: RawTx, ws: int, who: Person) -> dict[str, int]:
    ids = who.family
    marks = ",".join("?" * len(ids))
    by_contact = f"WHERE contact_id IN ({marks})"
    erased = {
        "contacts": len(ids),
        "identities": len(who.identity_ids),
        "messages": await _count(tx, f"SELECT count(*) FROM message {by_contact}", ids),
        "notes": await _count(tx, f"SELECT count(*) FROM note {by_contact}", ids),
        "tag_links": await _count(tx, f"SELECT count(*) FROM contact_tag {by_contact}", ids),
        "merge_records": await _count(
            tx,
            f"SELECT count(*) FROM merge_record WHERE primary_id IN ({marks})"
            f" OR secondary_id IN ({marks})",
            [*ids, *ids],
        ),
    }
    events = await tx.fetch(
        f"DELETE FROM outbox_event WHERE contact_id IN ({marks}) RETURNING id", ids
    )  # queued or kept events about them: their bodies hold the person's data
    erased["outbox_events"] = len(events)
    where, params = keyed_where(who)
    for table, kind in (("held_message", "held_messages"), ("message_part", "message_parts")):
        rows = await tx.fetch(
            f"DELETE FROM {table} WHERE id IN (SELECT t.id FROM {table} t"
            f" WHERE t.workspace_id = ? AND {where}) RETURNING id",
            [ws, *params],
        )
        erased[kind] = len(rows)
    await delete_rows(tx, ids)
    return erased


def _values(who: Person, names: Sequence[tuple[int, str]]) -> list[str]:
    """The person's own values worth hunting through the audit log: names, emails, phones,
    ids on the channels (each at least MIN_VALUE characters)."""
    c = who.contact
    found = {*who.handles, *(n for _i, n in names)}
    found.update(v for v in (c.name, c.email, c.phone, c.identifier) if v)
    return sorted(v for v in found if len(v) >= MIN_VALUE and not v.startswith("#"))


async def _scrub_audit(tx: RawTx, ws: int, who: Person, values: Sequence[str]) -> int:
    """Replace the person's values in the audit lines about them (every value of the detail)
    and in any other line whose detail holds one of them (those values only)."""
    targets = [f"#{i}" for i in who.family]
    marks = ",".join("?" * len(targets))
    about = await tx.fetch(
        f"SELECT id, detail FROM audit_log WHERE workspace_id = ? AND target IN ({marks})"
        " AND detail IS NOT NULL",
        [ws, *targets],
    )
    changed: dict[int, Any] = {int(i): _blank(load_json(d)) for i, d in about}
    if values:
        likes = " OR ".join("CAST(detail AS TEXT) LIKE ? ESCAPE '\\'" for _ in values)
        mentions = await tx.fetch(
            f"SELECT id, detail FROM audit_log WHERE workspace_id = ? AND ({likes})",
            [ws, *(f"%{_escape(v)}%" for v in values)],
        )
        lowered = [v.lower() for v in values]
        for i, d in mentions:
            if int(i) not in changed:
                changed[int(i)] = _without(load_json(d), lowered)
    for line_id, detail in changed.items():
        await tx.execute(
            "UPDATE audit_log SET detail = ? WHERE id = ?", [dump_json(detail), line_id]
        )
    return len(changed)


def _blank(detail: Any) -> Any:
    """Every value replaced, the shape kept: {"email": "[erased]", "tags": ["[erased]"]}."""
    if isinstance(detail, dict):
        return {k: _blank(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_blank(v) for v in detail]
    if detail is None or isinstance(detail, bool | int | float):
        return detail
    return ERASED


def _without(detail: Any, values: Sequence[str]) -> Any:
    """Only the strings holding one of `values` (lower-cased) replaced."""
    if isinstance(detail, dict):
        return {k: _without(v, values) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_without(v, values) for v in detail]
    if isinstance(detail, str) and any(v in detail.lower() for v in values):
        return ERASED
    return detail


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def exports_holding(ws: int, who: Person) -> list[str]:
    """The reset export files of the workspace that hold one of the person's handles (ids on
    the channels, phones, emails of at least 5 characters); a substring scan, so 'may hold'."""
    rows = await ClientTx().fetch(
        "SELECT export_path FROM reset_run WHERE workspace_id = ? AND export_path IS NOT NULL"
        " ORDER BY id",
        [ws],
    )
    needles = [h.encode() for h in who.handles if len(h) >= 5]
    if not needles:
        return []
    folders = [Path(str(r[0])) for r in rows]
    return await asyncio.to_thread(_scan, folders, needles)


def _scan(folders: Sequence[Path], needles: Sequence[bytes]) -> list[str]:
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and _holds(path, needles):
                found.append(str(path))
    return found


def _holds(path: Path, needles: Sequence[bytes]) -> bool:
    longest = max(len(n) for n in needles)
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(SCAN_CHUNK):
            window = tail + chunk
            if any(n in window for n in needles):
                return True
            tail = window[-longest:]
    return False
