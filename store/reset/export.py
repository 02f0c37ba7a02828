"""The export a reset writes before it deletes: every deleted contact and message, on disk.

A run's folder holds `contacts.csv` (UTF-8 with BOM: every field, custom fields as JSON, tags,
identities and notes as JSON lists), `messages.jsonl` (one JSON object per message) and, once
the run is done, `manifest.json` (counts, sizes and SHA-256 of both files).

Rows that change while the run deletes (a message arriving for a contact about to go, a note,
a merge) are appended before their contact is deleted: a contact may then appear twice in
`contacts.csv`, and the last row is its final state. File lengths are recorded with each
committed batch, so a resumed run first cuts off what an interrupted batch appended.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from store.contacts import as_datetime
from store.db import RawTx
from store.files.export import spreadsheet_safe

FIELDS = (
    "name", "email", "phone", "identifier", "company", "city", "country", "language",
    "avatar_url", "assignee", "source", "merged_into_id",
)  # fmt: skip
TIMES = ("created_at", "updated_at", "last_activity_at", "last_incoming_at")
HEADER = ["id", *FIELDS, *TIMES, "custom", "tags", "identities", "notes"]
CONTACTS, MESSAGES, MANIFEST = "contacts.csv", "messages.jsonl", "manifest.json"


def iso(value: Any) -> str | None:
    """A stored time as ISO 8601 in UTC (None stays None)."""
    moment = as_datetime(value)
    return None if moment is None else moment.astimezone(UTC).isoformat()


class ExportFiles:
    """The two files of a run's export, opened for writing (fresh) or appending (resumed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, BinaryIO] = {}

    def start(self) -> None:
        """Create the folder and both files afresh, the CSV with its BOM and header."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files = {name: open(self.folder / name, "wb") for name in (CONTACTS, MESSAGES)}  # noqa: SIM115
        self._files[CONTACTS].write(("\ufeff" + _csv_line(HEADER)).encode())

    def reopen(self, sizes: dict[str, int]) -> None:
        """Open both files to append, cut back to `sizes` (what the last committed batch saw)."""
        self._files = {}
        for name in (CONTACTS, MESSAGES):
            stream = open(self.folder / name, "r+b")  # noqa: SIM115
            stream.truncate(int(sizes[name]))
            stream.seek(0, io.SEEK_END)
            self._files[name] = stream

    def truncate(self, sizes: dict[str, int]) -> None:
        """Cut both files back to `sizes` (what a rolled-back batch appended goes)."""
        for name, stream in self._files.items():
            stream.flush()
            stream.truncate(int(sizes[name]))
            stream.seek(0, io.SEEK_END)

    def sizes(self) -> dict[str, int]:
        """Current length of each file (after what was written so far)."""
        return {name: stream.tell() for name, stream in self._files.items()}

    def write_contacts(self, rows: Sequence[Sequence[str]]) -> None:
        """Append contact rows (formula-like cells neutralised, as every CSV export does)."""
        if rows:
            text = "".join(_csv_line([spreadsheet_safe(c) for c in row]) for row in rows)
            self._files[CONTACTS].write(text.encode())

    def write_messages(self, lines: Sequence[str]) -> None:
        """Append JSON lines of messages."""
        if lines:
            self._files[MESSAGES].write(("\n".join(lines) + "\n").encode())

    async def sync(self) -> None:
        """Flush both files to disk (fsync, off the event loop)."""
        for stream in self._files.values():
            stream.flush()
        await asyncio.to_thread(_fsync_all, [s.fileno() for s in self._files.values()])

    def close(self) -> None:
        """Close both files."""
        for stream in self._files.values():
            stream.close()
        self._files = {}


def _fsync_all(fds: list[int]) -> None:
    for fd in fds:
        os.fsync(fd)


def _csv_line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


async def write_manifest(folder: Path, summary: dict[str, Any]) -> None:
    """Write manifest.json: the summary plus size and SHA-256 of each file."""

    def work() -> None:
        files = {}
        for name in (CONTACTS, MESSAGES):
            digest = hashlib.sha256()
            with open(folder / name, "rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
            files[name] = {"bytes": (folder / name).stat().st_size, "sha256": digest.hexdigest()}
        data = orjson.dumps({**summary, "files": files}, option=orjson.OPT_INDENT_2)
        (folder / MANIFEST).write_bytes(data)

    await asyncio.to_thread(work)


def _object(dialect: str, pairs: Sequence[tuple[str, str]]) -> str:
    """A SQL expression building a JSON object (text) from (key, SQL expression) pairs."""
    fn = "json_build_object" if dialect == "postgres" else "json_object"
    members = ", ".join(f"'{key}', {expr}" for key, expr in pairs)
    return f"{fn}({members})"


def _time(dialect: str, column: str) -> str:
    """A stored time as ISO 8601 text in UTC, in SQL."""
    if dialect == "postgres":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    return f"replace({column}, ' ', 'T')"  # stored as `YYYY-MM-DD HH:MM:SS[.ffffff]+00:00`


def _json(dialect: str, column: str) -> str:
    """A stored JSON column embedded as JSON (not as a string holding JSON)."""
    return column if dialect == "postgres" else f"json({column})"


def _array(dialect: str, obj: str, rows_sql: str, order: str) -> str:
    """A SQL expression: the JSON array (text) of `obj` over the rows of `rows_sql`."""
    if dialect == "postgres":
        return f"(SELECT COALESCE(json_agg({obj} ORDER BY {order})::text, '[]') {rows_sql})"
    # SQLite 3.40 has no ORDER BY inside aggregates: aggregate an ordered subquery
    return (
        f"(SELECT json_group_array(json(o)) FROM (SELECT {obj} AS o {rows_sql} ORDER BY {order}))"
    )


def _contacts_sql(dialect: str, n: int, limits: dict[str, int] | None) -> str:
    """The batch query of contact rows: the fields, tags, identities and notes as JSON, and
    how many identities and notes (each cap, when given, is a parameter twice before the ids)."""
    marks = ",".join("?" * n)
    ident_cap = " AND i.id <= ?" if limits else ""
    note_cap = " AND n.id <= ?" if limits else ""
    identity = _object(dialect, [
        ("channel", "ch.key"), ("kind", "ch.kind"), ("external_id", "i.external_id"),
        ("scoped_id", "i.scoped_id"), ("username", "i.username"),
        ("display_name", "i.display_name"), ("phone", "i.phone"), ("email", "i.email"),
        ("period", "i.period"), ("created_at", _time(dialect, "i.created_at")),
    ])  # fmt: skip
    note = _object(dialect, [
        ("id", "n.id"), ("author", "n.author"), ("body", "n.body"),
        ("created_at", _time(dialect, "n.created_at")),
    ])  # fmt: skip
    tag_list = (
        "(SELECT string_agg(t.name, ', ' ORDER BY t.key)"
        if dialect == "postgres"
        else "(SELECT group_concat(name, ', ') FROM (SELECT t.name"
    )
    tags = (
        f"{tag_list} FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
        f" WHERE ct.contact_id = c.id{'' if dialect == 'postgres' else ' ORDER BY t.key)'})"
    )
    identities = _array(
        dialect,
        identity,
        "FROM identity i JOIN channel ch ON ch.id = i.channel_id"
        f" WHERE i.contact_id = c.id{ident_cap}",
        "i.id",
    )
    notes = _array(dialect, note, f"FROM note n WHERE n.contact_id = c.id{note_cap}", "n.id")
    times = ", ".join(_time(dialect, f"c.{t}") for t in TIMES)
    fields = ", ".join(f"c.{f}" for f in FIELDS)
    counts = (
        f"(SELECT count(*) FROM identity i WHERE i.contact_id = c.id{ident_cap}),"
        f" (SELECT count(*) FROM note n WHERE n.contact_id = c.id{note_cap})"
    )
    return (
        f"SELECT c.id, {fields}, {times}, c.custom, {tags}, {identities}, {notes}, {counts}"
        f" FROM contact c WHERE c.id IN ({marks}) ORDER BY c.id"
    )


async def contact_rows(
    tx: RawTx, ids: Sequence[int], limits: dict[str, int] | None = None
) -> tuple[list[list[str]], dict[str, int]]:
    """CSV rows of contacts `ids` and how many identities and notes they hold.

    With `limits` ({"identity": id, "note": id}) only rows up to those ids are included
    (what existed when the run took its snapshot); without, everything (the final state).
    The JSON of identities and notes is built by the database.
    """
    if not ids:
        return [], {"identities": 0, "notes": 0}
    sql = _contacts_sql(tx.dialect, len(ids), limits)
    params: list[Any] = list(ids)
    if limits:  # the caps sit in correlated subqueries, before the IN list
        caps = [limits["identity"], limits["note"]]
        params = [*caps, *caps, *ids]
    found = await tx.fetch(sql, params)
    rows: list[list[str]] = []
    held = {"identities": 0, "notes": 0}
    width = 1 + len(FIELDS) + len(TIMES)
    for row in found:
        custom = row[width]
        custom_text = custom if isinstance(custom, str) else orjson.dumps(custom).decode()
        if custom_text in ("{}", "null", None):
            custom_text = ""
        identities, notes = str(row[width + 2]), str(row[width + 3])
        held["identities"] += int(row[width + 4])
        held["notes"] += int(row[width + 5])
        rows.append(
            [
                str(row[0]),
                *("" if v is None else str(v) for v in row[1:width]),
                custom_text,
                row[width + 1] or "",
                identities,
                notes,
            ]
        )
    return rows, held


MESSAGE_KEYS = (
    "id", "contact_id", "channel", "channel_kind", "external_id", "direction",
    "provider_message_id", "type", "text", "media", "meta", "sent_at", "received_at",
    "edited_at", "history",
)  # fmt: skip


def _message_sql(dialect: str) -> str:
    columns = {
        "id": "m.id", "contact_id": "m.contact_id", "channel": "ch.key", "channel_kind": "ch.kind",
        "external_id": "i.external_id", "direction": "m.direction",
        "provider_message_id": "m.provider_message_id", "type": "m.type", "text": "m.text",
        "media": _json(dialect, "m.media"), "meta": _json(dialect, "m.meta"),
        "sent_at": _time(dialect, "m.sent_at"), "received_at": _time(dialect, "m.received_at"),
        "edited_at": _time(dialect, "m.edited_at"), "history": _json(dialect, "m.history"),
    }  # fmt: skip
    obj = _object(dialect, [(k, columns[k]) for k in MESSAGE_KEYS])
    cast = "::text" if dialect == "postgres" else ""
    # CROSS JOIN keeps `message` the outer loop on SQLite (its planner otherwise walks every
    # message of the channel: 1.9 s instead of 20 ms for 1,000 contacts among a million)
    return (
        f"SELECT {obj}{cast} FROM message m CROSS JOIN channel ch CROSS JOIN identity i"
        " WHERE ch.id = m.channel_id AND i.id = m.identity_id"
    )


async def message_lines(
    tx: RawTx, ids: Sequence[int], *, up_to: int | None = None, after: int | None = None
) -> list[str]:
    """JSON lines of the messages of contacts `ids`, in id order, optionally only ids up to
    `up_to` (the snapshot's) or after `after` (the ones that came since). The database
    writes the JSON."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    params: list[Any] = list(ids)
    bounds = ""
    if up_to is not None:
        bounds += " AND m.id <= ?"
        params.append(up_to)
    if after is not None:
        bounds += " AND m.id > ?"
        params.append(after)
    rows = await tx.fetch(
        f"{_message_sql(tx.dialect)} AND m.contact_id IN ({marks}){bounds} ORDER BY m.id",
        params,
    )
    return [str(r[0]) for r in rows]


def folder_for(root: Path, slug: str, period: str, run_id: int) -> Path:
    """Where a run's export goes: <root>/<workspace>/<period>-run<id>."""
    return root / slug / f"{period}-run{run_id}"


async def message_page(
    tx: RawTx, where: str, params: Sequence[Any], after: int, limit: int
) -> tuple[list[str], int | None]:
    """JSON lines of the messages matching `where` (over `message m`) with ids after `after`,
    in id order, at most `limit`; and the id to continue after (None when done)."""
    sql = _message_sql(tx.dialect).replace("SELECT ", "SELECT m.id, ", 1)
    rows = await tx.fetch(
        f"{sql} AND {where} AND m.id > ? ORDER BY m.id LIMIT ?", [*params, after, limit]
    )
    last = int(rows[-1][0]) if len(rows) == limit else None
    return [str(r[1]) for r in rows], last
