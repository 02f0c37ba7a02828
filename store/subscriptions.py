"""Event subscriptions (owners): a URL, the event types it wants, its signing secret.

The gateway makes each secret in the Standard Webhooks format (`whsec_` + base64 of 32 random
bytes); it is returned once, by create and rotate, and never listed. A rotation keeps the
previous secret signing beside the new one for OVERLAP, so a receiver can switch without
losing a delivery.
"""

from __future__ import annotations

import base64
import secrets as pysecrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from store.access import Actor, audit, require
from store.contacts import as_datetime, stamp
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Invalid, NotFound
from store.outbox import TYPES, body, new_event_id
from store.serial import dump_json, load_json

OVERLAP = timedelta(hours=24)
TEST = "test"  # the type of an event sent by `send_test`, to that subscription only
URL_MAX = 2048
DESCRIPTION_MAX = 200
MAX_ID = 2**31 - 1
COLUMNS = "id, url, types, description, active, created_at, failing_since, disabled_at"
DELIVERY_COLUMNS = (
    "id, event_id, type, contact_id, state, attempts, last_status, last_error, created_at,"
    " next_try_at, delivered_at"
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as listed: never its secret."""

    id: int
    url: str
    types: list[str]  # empty: every type
    description: str
    active: bool
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event of a subscription and how its delivery went."""

    id: int
    event_id: str
    type: str
    contact_id: int | None
    state: str  # pending | delivered | failed
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_try_at: datetime | None  # when a pending one is tried next
    delivered_at: datetime | None


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(32)).decode()


def check_url(url: Any) -> str:
    """Refuse (Invalid) anything but an absolute http(s) URL with a host."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        raise Invalid(f"url must be an http(s) URL of at most {URL_MAX} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise Invalid("url must be an absolute http(s) URL")
    return url


def check_types(types: Sequence[Any] | None) -> list[str]:
    """The event types asked for, known and without repeats (empty: every type)."""
    wanted = list(dict.fromkeys(types or []))
    unknown = [t for t in wanted if t not in TYPES]
    if unknown:
        raise Invalid(f"unknown event type {unknown[0]!r}; known: {', '.join(TYPES)}")
    return wanted


def _subscription(row: Sequence[Any]) -> Subscription:
    sid, url, types, description, active, created, failing, disabled = row
    return Subscription(int(sid), str(url), list(load_json(types) or []), str(description),
                        bool(active), stamp(created), as_datetime(failing),
                        as_datetime(disabled))  # fmt: skip


async def create(
    actor: Actor, url: Any, types: Sequence[Any] | None = None, description: str = ""
) -> tuple[Subscription, str]:
    """Subscribe a URL to the workspace's events; returns it and its secret (shown once)."""
    require(actor, "owner")
    url, wanted = check_url(url), check_types(types)
    if len(description) > DESCRIPTION_MAX:
        raise Invalid(f"description must be at most {DESCRIPTION_MAX} characters")
    secret = new_secret()
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "INSERT INTO event_subscription (workspace_id, url, types, description, secret,"
            f" active, created_at) VALUES (?,?,?,?,?,?,?) RETURNING {COLUMNS}",
            [actor.workspace_id, url, dump_json(wanted), description, secret, True,
             datetime.now(UTC)],
        )  # fmt: skip
        made = _subscription(rows[0])
        await audit(tx, actor, "subscription.create", f"sub:{made.id}", {"url": url})
    return made, secret


async def list_subscriptions(actor: Actor) -> list[Subscription]:
    """The workspace's subscriptions, oldest first (owners)."""
    require(actor, "owner")
    rows = await ClientTx().fetch(
        f"SELECT {COLUMNS} FROM event_subscription WHERE workspace_id = ? ORDER BY id",
        [actor.workspace_id],
    )
    return [_subscription(r) for r in rows]


async def _load(tx: RawTx, actor: Actor, sub_id: int) -> Subscription:
    rows = []
    if 0 < sub_id <= MAX_ID:
        rows = await tx.fetch(
            f"SELECT {COLUMNS} FROM event_subscription WHERE id = ? AND workspace_id = ?",
            [sub_id, actor.workspace_id],
        )
    if not rows:
        raise NotFound(f"no event subscription {sub_id}")
    return _subscription(rows[0])


async def get(actor: Actor, sub_id: int) -> Subscription:
    """One subscription of the workspace (owners)."""
    require(actor, "owner")
    return await _load(ClientTx(), actor, sub_id)


async def remove(actor: Actor, sub_id: int) -> Subscription:
    """Delete a subscription and its undelivered and delivered events (owners)."""
    require(actor, "owner")
    async with raw_transaction() as tx:
        gone = await _load(tx, actor, sub_id)
        await tx.execute("DELETE FROM outbox_event WHERE subscription_id = ?", [gone.id])
        await tx.execute("DELETE FROM event_subscription WHERE id = ?", [gone.id])
        await audit(tx, actor, "subscription.remove", f"sub:{gone.id}", {"url": gone.url})
    return gone


async def rotate(actor: Actor, sub_id: int, now: datetime | None = None) -> tuple[str, datetime]:
    """Give a subscription a new secret; the old one signs beside it until the returned time."""
    require(actor, "owner")
    now = now or datetime.now(UTC)
    secret, until = new_secret(), now + OVERLAP
    async with raw_transaction() as tx:
        found = await _load(tx, actor, sub_id)
        await tx.execute(
            "UPDATE event_subscription SET previous_secret = secret, previous_until = ?,"
            " secret = ? WHERE id = ?",
            [until, secret, found.id],
        )
        await audit(tx, actor, "subscription.rotate", f"sub:{found.id}", {}, at=now)
    return secret, until


async def deliveries(
    actor: Actor, sub_id: int, *, before: int | None = None, limit: int = 100
) -> list[Delivery]:
    """A subscription's events, newest first, with their delivery state (owners)."""
    require(actor, "owner")
    tx = ClientTx()
    found = await _load(tx, actor, sub_id)
    rows = await tx.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM outbox_event WHERE subscription_id = ? AND id < ?"
        " ORDER BY id DESC LIMIT ?",
        [found.id, before or 2**62, max(1, min(limit, 500))],
    )
    return [_delivery(r) for r in rows]


def _delivery(row: Sequence[Any]) -> Delivery:
    oid, event_id, type_, contact, state, attempts, status, error, created, nxt, done = row
    return Delivery(int(oid), str(event_id), str(type_), None if contact is None else int(contact),
                    str(state), int(attempts), None if status is None else int(status), error,
                    stamp(created), as_datetime(nxt) if state == "pending" else None,
                    as_datetime(done))  # fmt: skip


async def send_test(actor: Actor, sub_id: int, now: datetime | None = None) -> Delivery:
    """Queue a `test` event for one subscription only (owners); the deliverer sends it."""
    require(actor, "owner")
    now = now or datetime.now(UTC)
    async with raw_transaction() as tx:
        found = await _load(tx, actor, sub_id)
        data = {"subscription_id": found.id, "url": found.url}
        rows = await tx.fetch(
            "INSERT INTO outbox_event (event_id, subscription_id, contact_id, type, payload,"
            " created_at, state, next_try_at, attempts) VALUES (?,?,NULL,?,?,?,'pending',?,0)"
            f" RETURNING {DELIVERY_COLUMNS}",
            [new_event_id(), found.id, TEST, body(TEST, data, now), now, now],
        )
        await audit(tx, actor, "subscription.test", f"sub:{found.id}", {}, at=now)
    return _delivery(rows[0])
