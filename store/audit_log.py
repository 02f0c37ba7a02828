"""Reading the audit log: who did what, from which surface and when, for the workspace's owner.

Lines are written by `store.access.audit` inside the transaction of each change; this module
only reads them, newest first, filtered by actor, action, contact and time, a page at a time (a
cursor is the last line's id) or streamed whole for a CSV export.

A contact's lines are the ones whose target is `#id`, and those of every contact merged into it
(a merge keeps the merged-away row with `merged_into` set), so the history of a person survives
a merge.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from store import refs
from store.access import Actor, require
from store.contacts import stamp
from store.contacts import workspace_zone as zone_of
from store.db import ClientTx, RawTx
from store.errors import Invalid, NotFound
from store.files.export import csv_chunks
from store.person.scope import family
from store.serial import dump_json, load_json

PAGE = 100
MAX_PAGE = 1000
STREAM_BATCH = 2000
MAX_ID = 2**62


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One recorded change (or refusal)."""

    id: int
    at: datetime
    actor: str
    surface: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What to read: every field optional; `action` ending in `.` or `*` is a prefix
    (`contact.*` is every contact action)."""

    actor: str | None = None
    action: str | None = None
    contact_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class AuditPage:
    """A page of lines, newest first, and the cursor of the next page (None at the end)."""

    lines: list[AuditLine]
    next_cursor: str | None


def parse_time(text: str, zone: str = "UTC") -> datetime:
    """An ISO 8601 date or date-time: a bare date is midnight in the workspace's timezone, a
    time without an offset is in that timezone too."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), ZoneInfo(zone))
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError as exc:
        raise Invalid(f"not a date or time: {text!r} (use 2026-12-01 or 2026-12-01T09:30)") from exc
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


def parse_cursor(cursor: str | None) -> int | None:
    """The id a page starts below; Invalid for anything but a cursor this module gave."""
    if not cursor:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or not 0 < int(cursor) <= MAX_ID:
        raise NotFound("no such page: the cursor is not one this server gave out")
    return int(cursor)


async def contact_for(actor: Actor, text: str, region: str = "US") -> int:
    """The contact whose history is asked for: the live contact a reference names (a
    merged-away id gives the one it was merged into); a deleted contact's bare id as is."""
    ref = refs.parse(text)
    try:
        return (await refs.contact(actor, ref, region)).id
    except NotFound:
        if ref.kind == "id":
            return refs.contact_id_of(ref.value)
        raise


async def workspace_zone(actor: Actor) -> str:
    """The workspace's timezone name (times typed without an offset are read in it)."""
    return await zone_of(ClientTx(), actor.workspace_id)


async def page(
    actor: Actor, query: AuditQuery, *, cursor: str | None = None, limit: int = PAGE
) -> AuditPage:
    """A page of the workspace's audit lines (owners only), newest first."""
    require(actor, "owner")
    limit = max(1, min(limit, MAX_PAGE))
    tx = ClientTx()
    where, params = await _where(tx, actor.workspace_id, query)
    below = parse_cursor(cursor)
    if below is not None:
        where += " AND id < ?"
        params.append(below)
    rows = await tx.fetch(f"{_SELECT} WHERE {where} ORDER BY id DESC LIMIT ?", [*params, limit + 1])
    lines = [_line(r) for r in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(lines, str(lines[-1].id) if more and lines else None)


async def stream(actor: Actor, query: AuditQuery) -> AsyncIterator[AuditLine]:
    """Every matching line, newest first, read in batches (for the CSV export)."""
    require(actor, "owner")
    tx = ClientTx()
    where, params = await _where(tx, actor.workspace_id, query)
    below = MAX_ID + 1
    while True:
        rows = await tx.fetch(
            f"{_SELECT} WHERE {where} AND id < ? ORDER BY id DESC LIMIT ?",
            [*params, below, STREAM_BATCH],
        )
        for row in rows:
            yield _line(row)
        if len(rows) < STREAM_BATCH:
            return
        below = int(rows[-1][0])


CSV_HEADER = ["id", "at", "actor", "surface", "action", "target", "detail"]


async def csv_export(
    actor: Actor, query: AuditQuery, tally: list[int] | None = None
) -> AsyncGenerator[bytes, None]:
    """The matching lines as CSV bytes, newest first, times in the workspace's timezone (with
    their offset), the detail as JSON; formula-like cells neutralised like every export. The
    number of lines written is added to `tally[0]` when given."""
    require(actor, "owner")
    zone = ZoneInfo(await workspace_zone(actor))

    async def rows() -> AsyncIterator[list[str]]:
        async for line in stream(actor, query):
            if tally is not None:
                tally[0] += 1
            yield [
                str(line.id),
                line.at.astimezone(zone).isoformat(timespec="seconds"),
                line.actor,
                line.surface,
                line.action,
                line.target or "",
                dump_json(line.detail) if line.detail is not None else "",
            ]

    async for chunk in csv_chunks(CSV_HEADER, rows()):
        yield chunk


async def write_csv(actor: Actor, query: AuditQuery, out: BinaryIO) -> int:
    """Write the matching lines as CSV to `out`; the number of lines."""
    tally = [0]
    async for chunk in csv_export(actor, query, tally):
        out.write(chunk)
    return tally[0]


_SELECT = "SELECT id, at, actor, surface, action, target, detail FROM audit_log"


async def _where(tx: RawTx, ws: int, query: AuditQuery) -> tuple[str, list[Any]]:
    where = ["workspace_id = ?"]
    params: list[Any] = [ws]
    if query.actor:
        where.append("actor = ?")
        params.append(query.actor)
    if query.action:
        action = query.action.rstrip("*")
        if action.endswith("."):
            where.append("action LIKE ? ESCAPE '\\'")
            params.append(_escape_like(action) + "%")
        else:
            where.append("action = ?")
            params.append(action)
    if query.contact_id is not None:
        targets = [f"#{i}" for i in await family(tx, ws, query.contact_id)]
        where.append(f"target IN ({','.join('?' * len(targets))})")
        params.extend(targets)
    if query.since is not None:
        where.append("at >= ?")
        params.append(query.since.astimezone(UTC))
    if query.until is not None:
        where.append("at < ?")
        params.append(query.until.astimezone(UTC))
    return " AND ".join(where), params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _line(row: Sequence[Any]) -> AuditLine:
    i, at, who, surface, action, target, detail = row
    loaded = load_json(detail) if detail is not None else None
    return AuditLine(
        int(i),
        stamp(at),
        str(who),
        str(surface),
        str(action),
        None if target is None else str(target),
        loaded if isinstance(loaded, dict) else None,
    )
