"""A contact's conversation: its messages in and out, newest first, in keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.access import Actor, require
from store.contacts import as_datetime, load, stamp
from store.content import content_of, reply_to
from store.db import ClientTx, RawTx
from store.errors import NotFound
from store.serial import load_json

COLUMNS = (
    "m.id, m.contact_id, c.key, c.kind, m.direction, m.type, m.text, m.media, m.meta,"
    " m.provider_message_id, m.sent_at, m.received_at, m.edited_at, m.history, m.status_history"
)
FROM = "FROM message m JOIN channel c ON c.id = m.channel_id"
# The provider_message_id of an outbound row without a provider id: the column is unique per
# channel, so these prefixes carry a random suffix (store.outbound).
PLACEHOLDERS = ("sending:", "failed:", "unknown:")


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """One message as the surfaces show it.

    Outbound ones carry `status` (sending, sent, delivered, read, failed, unknown) and its
    history, who sent them, and for a failure the error code and the provider's words;
    `provider_message_id` is null when nothing was sent.
    """

    id: int
    contact_id: int
    channel_key: str
    channel_kind: str
    direction: str
    type: str
    text: str | None
    media: list[Any] | None
    status: str | None
    provider_message_id: str | None
    error: str | None
    detail: str | None
    sent_by: str | None
    sent_at: datetime
    received_at: datetime
    content: dict[str, Any]  # typed by content["type"]: store.content
    reply_to: str | None  # the provider's id of the message this one answers
    edited_at: datetime | None
    history: list[Version]  # earlier versions of an edited message, oldest first
    status_history: list[StatusStep]  # outbound: every status it had, in the order heard


@dataclass(frozen=True, slots=True)
class Version:
    """An earlier text of an edited message and when it was written."""

    text: str | None
    written_at: datetime


@dataclass(frozen=True, slots=True)
class StatusStep:
    """One status of an outbound message: ours (sending, then sent/failed/unknown) or the
    provider's (queued, sent, delivered, read, failed), with a failure's code and words."""

    status: str
    at: datetime
    error: str | None = None
    detail: str | None = None


def status_entry(
    status: str, at: datetime, error: str | None = None, detail: str | None = None
) -> dict[str, Any]:
    """A StatusStep as stored in message.status_history (a JSON list)."""
    entry: dict[str, Any] = {"status": status, "at": at.isoformat()}
    if error is not None:
        entry["error"] = error
    if detail is not None:
        entry["detail"] = detail
    return entry


def _steps(history: Any) -> list[StatusStep]:
    if not isinstance(history, list):
        return []
    return [
        StatusStep(str(e["status"]), stamp(e["at"]), e.get("error"), e.get("detail"))
        for e in history
    ]


@dataclass(frozen=True, slots=True)
class MessagePage:
    """A page of messages and the cursor of the next one (None on the last page)."""

    messages: list[MessageInfo]
    next_cursor: str | None


def message_from_row(row: Sequence[Any]) -> MessageInfo:
    """A MessageInfo from a row of COLUMNS."""
    mid, cid, key, kind, direction, type_, text, media, meta, provider_id, sent, received = row[:12]
    edited, history, statuses = row[12:15]
    meta = load_json(meta) or {}
    meta = meta if isinstance(meta, dict) else {}
    media = load_json(media)
    outbound = direction == "out"
    status = meta.get("status") if outbound else None
    if outbound and str(provider_id).startswith(PLACEHOLDERS):
        provider_id = None  # nothing was sent (yet), or we never learnt its id
    return MessageInfo(
        int(mid), int(cid), str(key), str(kind), str(direction), str(type_), text,
        media, status, provider_id,
        meta.get("error") if outbound else None, meta.get("detail") if outbound else None,
        meta.get("by") if outbound else None, stamp(sent), stamp(received),
        content_of(str(kind), str(type_), text, media, meta), reply_to(meta),
        as_datetime(edited), _versions(load_json(history)), _steps(load_json(statuses)),
    )  # fmt: skip


def _versions(history: Any) -> list[Version]:
    """Every version but the current one (the last), as stored by store.inbound.edits."""
    if not isinstance(history, list) or not history:
        return []
    return [Version(v.get("text"), stamp(v["at"])) for v in history[:-1]]


async def read_message(tx: RawTx, message_id: int) -> MessageInfo:
    """One message by id (the caller knows it exists)."""
    rows = await tx.fetch(f"SELECT {COLUMNS} {FROM} WHERE m.id = ?", [message_id])
    return message_from_row(rows[0])


async def list_messages(
    actor: Actor, contact_id: int, *, limit: int = 100, cursor: str | None = None
) -> MessagePage:
    """The contact's messages, newest first; `cursor` is the previous page's next_cursor."""
    require(actor, "agent")
    before = _cursor(cursor)
    tx = ClientTx()
    contact = await load(tx, actor.workspace_id, contact_id)
    rows = await tx.fetch(
        f"SELECT {COLUMNS} {FROM} WHERE m.contact_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?",
        [contact.id, before, limit + 1],
    )
    found = [message_from_row(r) for r in rows[:limit]]
    more = len(rows) > limit
    return MessagePage(found, str(found[-1].id) if more and found else None)


def _cursor(cursor: str | None) -> int:
    if not cursor:
        return 2**63 - 1
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19:
        raise NotFound("no such page: the cursor is not one this server gave out")
    return int(cursor)
