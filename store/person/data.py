"""A person's data on request: one ZIP archive with everything stored about them.

The archive holds machine-readable files and a readable summary:

- `person.json`: the contact (fields, custom fields, tags), the contacts merged into it, their
  identities, notes and merge records (with the snapshot each merge kept);
- `messages.jsonl`: every message in and out, one JSON object a line, with its typed content,
  its edits and, for outbound ones, who sent it and how it went;
- `held_messages.jsonl`, `message_parts.jsonl`: messages kept at the plan cap and multipart SMS
  parts waiting for their siblings, under any of the person's keys;
- `audit.jsonl`: the audit lines about the person (and the contacts merged into them);
- `summary.txt`: what the archive holds, in words, with the counts.

It is written as it is read: rows come in batches and the ZIP is produced into a small buffer
drained after each batch, so a contact with 100,000 messages exports in flat memory.
"""

from __future__ import annotations

import zipfile
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from store.access import Actor, audit
from store.contacts import COLUMNS as CONTACT_COLUMNS
from store.contacts import contact_from_row
from store.db import ClientTx, RawTx, raw_transaction
from store.files.zipstream import Sink
from store.identities import IDENTITIES_SQL, identity_from_row
from store.messages import COLUMNS as MESSAGE_COLUMNS
from store.messages import FROM as MESSAGE_FROM
from store.messages import message_from_row
from store.person.scope import Person, person
from store.serial import load_json

BATCH = 1000
FILES = (
    "person.json",
    "messages.jsonl",
    "held_messages.jsonl",
    "message_parts.jsonl",
    "audit.jsonl",
    "summary.txt",
)


async def archive(
    actor: Actor, contact_id: int, *, now: datetime | None = None
) -> AsyncGenerator[bytes, None]:
    """The person's archive as ZIP bytes, in pieces (admins; audited as `contact.data`).

    Refusals and NotFound are raised by the first piece, before anything is produced."""
    now = now or datetime.now(UTC)
    tx = ClientTx()
    who = await person(tx, actor, contact_id)
    counts: dict[str, int] = {}
    sink = Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("person.json", "w") as out:
            out.write(orjson.dumps(await _profile(tx, who, now), option=orjson.OPT_INDENT_2))
        yield sink.drain()
        ws = actor.workspace_id
        sections = (
            ("messages.jsonl", "messages", _messages(tx, who)),
            ("held_messages.jsonl", "held_messages", _parked(tx, ws, who, "held_message")),
            ("message_parts.jsonl", "message_parts", _parked(tx, ws, who, "message_part", PART)),
            ("audit.jsonl", "audit_lines", _audit_lines(tx, ws, who)),
        )
        for name, kind, batches in sections:
            with zf.open(name, "w", force_zip64=True) as out:
                counts[kind] = 0
                async for batch in batches:
                    for item in batch:
                        out.write(orjson.dumps(item, option=orjson.OPT_APPEND_NEWLINE))
                    counts[kind] += len(batch)
                    yield sink.drain()
        counts["identities"] = len(who.identity_ids)
        counts["merged_contacts"] = len(who.family) - 1
        zf.writestr("summary.txt", summary(who, counts, now))
    yield sink.drain()
    async with raw_transaction() as wtx:
        await audit(wtx, actor, "contact.data", f"#{who.contact.id}", counts)


async def write(actor: Actor, contact_id: int, out: IO[bytes]) -> None:
    """Write the archive to a binary file."""
    async for piece in archive(actor, contact_id):
        out.write(piece)


async def _profile(tx: RawTx, who: Person, now: datetime) -> dict[str, Any]:
    ids = who.family
    marks = ",".join("?" * len(ids))
    merged_rows = await tx.fetch(
        f"SELECT {CONTACT_COLUMNS} FROM contact WHERE id IN ({marks}) AND id != ? ORDER BY id",
        [*ids, who.contact.id],
    )
    identities = []
    for cid in ids:
        identities += [asdict(identity_from_row(r)) for r in await tx.fetch(IDENTITIES_SQL, [cid])]
    notes = await tx.fetch(
        f"SELECT id, contact_id, author, body, created_at FROM note WHERE contact_id IN ({marks})"
        " ORDER BY id",
        ids,
    )
    merges = await tx.fetch(
        "SELECT id, primary_id, secondary_id, snapshot, merged_by, merged_at FROM merge_record"
        f" WHERE primary_id IN ({marks}) OR secondary_id IN ({marks}) ORDER BY id",
        [*ids, *ids],
    )
    return {
        "exported_at": now,
        "contact": {**asdict(who.contact), "display_name": who.contact.display_name},
        "merged_contacts": [asdict(contact_from_row(r)) for r in merged_rows],
        "identities": identities,
        "notes": [
            {"id": n[0], "contact_id": n[1], "author": n[2], "body": n[3], "created_at": n[4]}
            for n in notes
        ],
        "merges": [
            {
                "id": m[0],
                "primary_id": m[1],
                "secondary_id": m[2],
                "snapshot": load_json(m[3]),
                "merged_by": m[4],
                "merged_at": m[5],
            }
            for m in merges
        ],
    }


async def _messages(tx: RawTx, who: Person) -> AsyncIterator[list[dict[str, Any]]]:
    marks = ",".join("?" * len(who.family))
    sql = (
        f"SELECT {MESSAGE_COLUMNS} {MESSAGE_FROM} WHERE m.contact_id IN ({marks}) AND m.id > ?"
        " ORDER BY m.id LIMIT ?"
    )
    async for rows in _batches(tx, sql, list(who.family)):
        yield [asdict(message_from_row(r)) for r in rows]


PARKED = ("provider_message_id", "inbound", "received_at")  # held messages and parts alike
PART = ("ref", "number", "total", "assembled_as")  # a multipart SMS part's place in its set


async def _parked(
    tx: RawTx, ws: int, who: Person, table: str, extra: tuple[str, ...] = ()
) -> AsyncIterator[list[dict[str, Any]]]:
    """A held message's or a waiting part's rows under the person's keys, as JSON-ready dicts."""
    names = ("id", "channel", "external_id", *PARKED, *extra)
    async for rows in _keyed(tx, ws, who, table, ", ".join((*PARKED, *extra))):
        found = [dict(zip(names, r, strict=True)) for r in rows]
        for row in found:
            row["inbound"] = load_json(row["inbound"])
        yield found


def keyed_where(who: Person) -> tuple[str, list[Any]]:
    """SQL condition (on `t`, a held message or part) and parameters: a row parked under one of
    the person's identities' ids or one of their handles (phone, email) on any channel."""
    if not who.handles:
        return "1 = 0", []
    marks = ",".join("?" * len(who.handles))
    return f"t.external_id IN ({marks})", list(who.handles)


async def _keyed(
    tx: RawTx, ws: int, who: Person, table: str, columns: str
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    where, params = keyed_where(who)
    picked = ", ".join(f"t.{c.strip()}" for c in columns.split(","))
    sql = (
        f"SELECT t.id, c.key, t.external_id, {picked} FROM {table} t"
        f" JOIN channel c ON c.id = t.channel_id WHERE t.workspace_id = ? AND {where}"
        " AND t.id > ? ORDER BY t.id LIMIT ?"
    )
    async for rows in _batches(tx, sql, [ws, *params]):
        yield rows


async def _audit_lines(tx: RawTx, ws: int, who: Person) -> AsyncIterator[list[dict[str, Any]]]:
    targets = [f"#{i}" for i in who.family]
    marks = ",".join("?" * len(targets))
    sql = (
        "SELECT id, at, actor, surface, action, target, detail FROM audit_log"
        f" WHERE workspace_id = ? AND target IN ({marks}) AND id > ? ORDER BY id LIMIT ?"
    )
    async for rows in _batches(tx, sql, [ws, *targets]):
        yield [
            {
                "id": r[0],
                "at": r[1],
                "actor": r[2],
                "surface": r[3],
                "action": r[4],
                "target": r[5],
                "detail": load_json(r[6]) if r[6] is not None else None,
            }
            for r in rows
        ]


async def _batches(
    tx: RawTx, sql: str, params: list[Any]
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """Keyset batches of `sql` (which ends `id > ? ORDER BY id LIMIT ?`)."""
    after = 0
    while True:
        rows = await tx.fetch(sql, [*params, after, BATCH])
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        after = int(rows[-1][0])


def summary(who: Person, counts: dict[str, int], now: datetime) -> str:
    """The archive in words."""
    c = who.contact
    lines = [
        f"Data held about {c.display_name} (contact #{c.id})",
        f"Exported {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "Fields:",
        *(
            f"  {name}: {value}"
            for name, value in (
                ("name", c.name),
                ("email", c.email),
                ("phone", c.phone),
                ("identifier", c.identifier),
                ("company", c.company),
                ("city", c.city),
                ("country", c.country),
                ("language", c.language),
                ("source", c.source),
                ("created", f"{c.created_at:%Y-%m-%d}"),
            )
            if value
        ),
        *(f"  custom {k}: {v}" for k, v in sorted(c.custom.items())),
        f"  tags: {', '.join(c.tags) or '-'}",
        "",
        "Held in this archive:",
        *(f"  {kind.replace('_', ' ')}: {n}" for kind, n in counts.items()),
        "",
        "Files: " + ", ".join(FILES),
        "person.json: fields, merged contacts, identities, notes, merges.",
        "messages.jsonl: one message per line (in and out, with content and edits).",
        "audit.jsonl: every recorded change about this person: who, where, when, what.",
    ]
    return "\n".join(lines) + "\n"
