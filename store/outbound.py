"""Outbound messages: which identity a message to a contact goes to, and its record once tried.

Sending itself (the providers' APIs) lives in gateway.outbound; this module reads the contact's
identities and writes the outbound message row, the contact's activity time and the audit line.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from store import outbox
from store.access import Actor, audit, require
from store.contacts import as_datetime, load
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Conflict, DomainError, Invalid, NotFound, OptedOut
from store.messages import MessageInfo, read_message, status_entry
from store.serial import dump_json, load_json, plain

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUSES = ("sent", "failed", "unknown")


class NotRecorded(Exception):
    """The provider answered but the database failed to complete the message's row, which
    stays `sending` (the provider's id, when it gave one, is in `attempt`)."""

    def __init__(self, message_id: int, attempt: Attempt) -> None:
        super().__init__(f"message #{message_id} could not be completed as {attempt.status}")
        self.message_id, self.attempt = message_id, attempt


@dataclass(frozen=True, slots=True)
class Target:
    """The identity a message goes to, with its channel and the person's last message there."""

    contact_id: int
    identity_id: int
    channel_id: int
    channel_key: str
    channel_kind: str
    channel_name: str
    secrets: dict[str, str]
    external_id: str
    scoped_id: str | None
    last_inbound_at: datetime | None
    last_inbound_id: str | None = None
    last_inbound_meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the provider said: `sent` with its id, `failed`, or `unknown` (timed out)."""

    status: str
    provider_message_id: str | None = None
    error: str | None = None
    detail: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Identity:
    id: int
    external_id: str
    scoped_id: str | None
    channel_id: int
    key: str
    kind: str
    name: str
    active: bool
    secrets: dict[str, str]
    last_in: datetime | None
    opted_out_at: datetime | None = None

    def matches(self, selector: str) -> bool:
        wanted = selector.strip().lower()
        return wanted in (self.key.lower(), self.kind, self.name.strip().lower())

    def label(self) -> str:
        return f"{self.kind} (key {self.key})"


IDENTITIES_SQL = (
    "SELECT i.id, i.external_id, i.scoped_id, c.id, c.key, c.kind, c.name, c.active, c.secrets,"
    " (SELECT MAX(m.received_at) FROM message m WHERE m.identity_id = i.id"
    " AND m.direction = 'in'), i.opted_out_at"
    " FROM identity i JOIN channel c ON c.id = i.channel_id WHERE i.contact_id = ? ORDER BY i.id"
)


async def target(actor: Actor, contact_id: int, channel: str | None = None) -> Target:
    """The identity to write to: on `channel` (a key, kind or name) when given, else the
    contact's last channel, else the identity the person wrote from most recently."""
    require(actor, "agent")
    tx = ClientTx()
    contact = await load(tx, actor.workspace_id, contact_id)
    found = [_identity(row) for row in await tx.fetch(IDENTITIES_SQL, [contact.id])]
    chosen = choose(contact.id, found, channel, contact.last_channel_id)
    last_id, last_meta = await _last_inbound(tx, chosen.id)
    return Target(
        contact.id,
        chosen.id,
        chosen.channel_id,
        chosen.key,
        chosen.kind,
        chosen.name,
        chosen.secrets,
        chosen.external_id,
        chosen.scoped_id,
        chosen.last_in,
        last_id,
        last_meta,
    )


def _identity(row: Sequence[Any]) -> _Identity:
    iid, external, scoped, cid, key, kind, name, active, secrets, last_in, opted_out = row
    return _Identity(
        int(iid), str(external), scoped, int(cid), str(key), str(kind), str(name or ""),
        bool(active), dict(load_json(secrets) or {}), as_datetime(last_in),
        as_datetime(opted_out),
    )  # fmt: skip


def choose(
    contact_id: int, found: list[_Identity], selector: str | None, last_channel: int | None
) -> _Identity:
    """Pick the identity; Conflict when the contact has none, Invalid for an unknown channel."""
    if not found:
        raise Conflict(
            f"contact #{contact_id} has no channel to send on: it has never written on a"
            " channel (contacts added by hand, import or the API have no identity)"
        )
    candidates = [i for i in found if i.matches(selector)] if selector else found
    if not candidates:
        has = ", ".join(sorted({i.label() for i in found}))
        raise Invalid(
            f"contact #{contact_id} has no identity on channel {selector!r}; it has {has}"
        )
    active = [i for i in candidates if i.active]
    if not active:
        raise Conflict(f"channel {candidates[0].key} is disabled; send on another channel")
    willing = [i for i in active if i.opted_out_at is None]
    if not willing:
        where = ", ".join(sorted({i.label() for i in active}))
        raise OptedOut(
            f"contact #{contact_id} opted out on {where} (sent an opt-out word such as STOP or"
            " BAJA); nothing is sent there until they write an opt-in word (START, ALTA)"
        )
    return max(willing, key=lambda i: (i.channel_id == last_channel, i.last_in or EPOCH, i.id))


async def _last_inbound(tx: RawTx, identity_id: int) -> tuple[str | None, dict[str, Any]]:
    rows = await tx.fetch(
        "SELECT provider_message_id, meta FROM message WHERE identity_id = ?"
        " AND direction = 'in' ORDER BY received_at DESC, id DESC LIMIT 1",
        [identity_id],
    )
    if not rows:
        return None, {}
    meta = load_json(rows[0][1])
    return str(rows[0][0]), meta if isinstance(meta, dict) else {}


async def begin(
    actor: Actor, to: Target, text: str, extra: dict[str, Any] | None = None
) -> MessageInfo:
    """Write the outbound message as `sending`, with its audit line, before the provider is
    asked: a send the provider takes always has its row, whatever happens to the database next."""
    require(actor, "agent")
    now = datetime.now(UTC)
    meta = {"status": "sending", "by": actor.name, "surface": actor.surface, **(extra or {})}
    history = [status_entry("sending", now)]
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "INSERT INTO message (workspace_id, channel_id, identity_id, contact_id, direction,"
            " provider_message_id, type, text, media, meta, sent_at, received_at, status_history)"
            " SELECT ?, i.channel_id, i.id, i.contact_id, 'out', ?, 'text', ?, NULL, ?, ?, ?, ?"
            " FROM identity i WHERE i.id = ? RETURNING id, contact_id",
            [actor.workspace_id, f"sending:{uuid.uuid4().hex}", text, dump_json(meta), now, now,
             dump_json(history), to.identity_id],
        )  # fmt: skip
        if not rows:
            raise NotFound(f"contact #{to.contact_id} was deleted; nothing was sent")
        message_id, contact_id = int(rows[0][0]), int(rows[0][1])
        await audit(tx, actor, "message.send", f"#{contact_id}", _detail(to, message_id, "sending"))
        return await read_message(tx, message_id)


async def complete(actor: Actor, to: Target, message_id: int, attempt: Attempt) -> MessageInfo:
    """Complete a `sending` message as sent, failed or unknown, touch the contact when it was
    sent, and audit it; one transaction. NotRecorded when the database fails meanwhile (the row
    stays `sending`); NotFound when the contact was deleted during the send."""
    require(actor, "agent")
    if attempt.status not in STATUSES:
        raise ValueError(f"unknown outbound status {attempt.status!r}")
    try:
        return await _complete(actor, to, message_id, attempt)
    except DomainError:
        raise
    except Exception as exc:  # any failure of this write: the provider has already answered
        raise NotRecorded(message_id, attempt) from exc


async def _complete(actor: Actor, to: Target, message_id: int, attempt: Attempt) -> MessageInfo:
    now = datetime.now(UTC)
    # A failed send has no provider id; the column is the channel's dedupe key, so a unique one.
    stored_id = attempt.provider_message_id or f"{attempt.status}:{uuid.uuid4().hex}"
    meta = {"status": attempt.status, "by": actor.name, "surface": actor.surface, **attempt.meta}
    if attempt.error:
        meta |= {"error": attempt.error, "detail": attempt.detail}
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            f"SELECT contact_id, status_history, meta FROM message WHERE id = ?{tx.for_update}",
            [message_id],
        )
        if not rows:
            raise NotFound(
                f"contact #{to.contact_id} was deleted while the message was being sent"
                f" ({attempt.status}); it could not be recorded"
            )
        contact_id, history = int(rows[0][0]), load_json(rows[0][1]) or []
        meta = {**_kept(load_json(rows[0][2])), **meta}
        history.append(status_entry(attempt.status, now, attempt.error, attempt.detail))
        await tx.execute(
            "UPDATE message SET provider_message_id = ?, meta = ?, status_history = ? WHERE id = ?",
            [stored_id, dump_json(meta), dump_json(history), message_id],
        )
        if attempt.status == "sent":
            await tx.execute(
                "UPDATE contact SET last_activity_at = ? WHERE id = ?", [now, contact_id]
            )
        detail = _detail(to, message_id, attempt.status) | {"error": attempt.error}
        await audit(tx, actor, "message.send", f"#{contact_id}", detail)
        info = await read_message(tx, message_id)
        if attempt.status == "sent":  # events out (store.outbox)
            data = {"message": plain(info), "source": outbox.source_of(actor)}
            await outbox.emit(tx, actor.workspace_id, "message.sent", data, contact_id=contact_id)
        return info


def _kept(meta: Any) -> dict[str, Any]:
    """What begin() stored beside the status (a template's name and parameters)."""
    return {k: v for k, v in meta.items() if k == "template"} if isinstance(meta, dict) else {}


def _detail(to: Target, message_id: int, status: str) -> dict[str, Any]:
    return {"channel": to.channel_key, "kind": to.channel_kind, "message": message_id,
            "status": status}  # fmt: skip
