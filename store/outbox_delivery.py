"""Delivering the outbox: claim due events, record each attempt, retry with back-off, give up.

A claim takes up to `limit` due events for LEASE, at most one per (subscription, contact): an
event waits until every earlier event of its contact for that subscription is delivered or
given up, so a receiver sees each contact's events in order. On PostgreSQL the claim locks
its rows FOR UPDATE SKIP LOCKED, so processes delivering at once never take the same event; on
SQLite one process owns the file and BEGIN IMMEDIATE serialises claims. An event is retried on
BACKOFF for up to GIVE_UP; a subscription failing that long is disabled and the admin chats are
told (store.events kind `subscription_disabled`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from store import events
from store.contacts import as_datetime, stamp
from store.db import ClientTx, RawTx, raw_transaction
from store.outbox_render import render_received
from store.serial import iso

LEASE = timedelta(seconds=60)  # an event claimed by a process that died is taken over after this
GIVE_UP = timedelta(days=3)
# Seconds before retry N (Standard Webhooks' suggested schedule), then every 10 hours.
BACKOFF = (5, 300, 1800, 7200, 18000, 36000)
ERROR_MAX = 500
CLAIM = (
    "SELECT o.id, o.event_id, o.subscription_id, s.workspace_id, s.url, o.payload, s.secret,"
    " s.previous_secret, s.previous_until, o.attempts, o.created_at, o.message_id"
    " FROM outbox_event o JOIN event_subscription s ON s.id = o.subscription_id"
    " WHERE o.state = 'pending' AND o.next_try_at <= ? AND s.active"
    " AND (o.claimed_until IS NULL OR o.claimed_until < ?)"
    " AND NOT EXISTS (SELECT 1 FROM outbox_event p WHERE p.subscription_id = o.subscription_id"
    " AND p.contact_id = o.contact_id AND p.state = 'pending' AND p.id < o.id)"
    " ORDER BY o.id LIMIT ?"
)

ANY_DUE = "SELECT 1 FROM outbox_event WHERE state = 'pending' AND next_try_at <= ? LIMIT 1"


@dataclass(frozen=True, slots=True)
class Due:
    """One event to send to one subscription now."""

    id: int
    event_id: str  # the webhook-id
    subscription_id: int
    workspace_id: int
    url: str
    payload: str
    secrets: tuple[str, ...]  # the current secret, then a previous one still in its overlap
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Result:
    """What one attempt got: the HTTP status (None when no answer came) and an error text."""

    due: Due
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer delivers the event."""
        return self.status is not None and 200 <= self.status < 300


async def claim(limit: int, now: datetime | None = None) -> list[Due]:
    """Take up to `limit` due events for this process for LEASE (oldest first)."""
    now = now or datetime.now(UTC)
    # A read first: an idle deliverer takes no write lock (SQLite has one for the whole file).
    if not await ClientTx().fetch(ANY_DUE, [now]):
        return []
    async with raw_transaction() as tx:
        lock = " FOR UPDATE OF o SKIP LOCKED" if tx.dialect == "postgres" else ""
        rows = await tx.fetch(CLAIM + lock, [now, now, limit])
        if not rows:
            return []
        ids = [int(r[0]) for r in rows]
        await tx.execute(
            f"UPDATE outbox_event SET claimed_until = ? WHERE id IN ({','.join('?' * len(ids))})",
            [now + LEASE, *ids],
        )
        bodies = await _render(tx, rows)
    return [_due(row, bodies.get(int(row[0])), now) for row in rows]


async def _render(tx: RawTx, rows: Sequence[Sequence[Any]]) -> dict[int, str]:
    """Bodies of the claimed events written by reference, rendered now and kept."""
    refs = [(int(r[0]), int(r[11]), stamp(r[10])) for r in rows if r[5] is None and r[11]]
    if not refs:
        return {}
    rendered = await render_received(tx, refs)
    await tx.executemany("UPDATE outbox_event SET payload = ? WHERE id = ?", rendered)
    return {oid: text for text, oid in rendered}


def _due(row: Sequence[Any], rendered: str | None, now: datetime) -> Due:
    oid, event_id, sub, ws, url, payload, secret, previous, until, attempts, created = row[:11]
    payload = payload if payload is not None else rendered
    keep = previous is not None and (as_datetime(until) or now) > now
    secrets = (str(secret), str(previous)) if keep else (str(secret),)
    return Due(int(oid), str(event_id), int(sub), int(ws), str(url), str(payload), secrets,
               int(attempts), stamp(created))  # fmt: skip


def retry_at(due: Due, now: datetime) -> datetime | None:
    """When a failed event is tried again; None when it is given up (past GIVE_UP)."""
    delay = timedelta(seconds=BACKOFF[min(due.attempts, len(BACKOFF) - 1)])
    return None if now + delay > due.created_at + GIVE_UP else now + delay


async def record(results: Sequence[Result], now: datetime | None = None) -> list[int]:
    """Record a round of attempts in one transaction; returns subscriptions disabled by it."""
    if not results:
        return []
    now = now or datetime.now(UTC)
    async with raw_transaction() as tx:
        await _delivered(tx, [r for r in results if r.ok], now)
        gave_up = await _failed(tx, [r for r in results if not r.ok], now)
        return await _disable_failing(tx, {r.due.subscription_id for r in results}, gave_up, now)


async def _delivered(tx: RawTx, results: Sequence[Result], now: datetime) -> None:
    by_status: dict[int | None, list[int]] = defaultdict(list)
    for r in results:
        by_status[r.status].append(r.due.id)
    for status, ids in by_status.items():
        await tx.execute(
            "UPDATE outbox_event SET state = 'delivered', delivered_at = ?, last_status = ?,"
            " last_error = NULL, attempts = attempts + 1, claimed_until = NULL"
            f" WHERE id IN ({','.join('?' * len(ids))})",
            [now, status, *ids],
        )
    subs = sorted({r.due.subscription_id for r in results})
    if subs:
        await tx.execute(
            "UPDATE event_subscription SET failing_since = NULL"
            f" WHERE id IN ({','.join('?' * len(subs))}) AND failing_since IS NOT NULL",
            subs,
        )


async def _failed(tx: RawTx, results: Sequence[Result], now: datetime) -> dict[int, datetime]:
    """Schedule the retries, give up the events past GIVE_UP; returns, per subscription, the
    oldest event given up."""
    rows, gave_up = [], dict[int, datetime]()
    for r in results:
        again = retry_at(r.due, now)
        error = (r.error or f"HTTP {r.status}")[:ERROR_MAX]
        state = "pending" if again is not None else "failed"
        rows.append((state, again or now, r.status, error, r.due.id))
        if again is None:
            sub = r.due.subscription_id
            gave_up[sub] = min(gave_up.get(sub, r.due.created_at), r.due.created_at)
    await tx.executemany(
        "UPDATE outbox_event SET state = ?, next_try_at = ?, last_status = ?, last_error = ?,"
        " attempts = attempts + 1, claimed_until = NULL WHERE id = ?",
        rows,
    )
    subs = sorted({r.due.subscription_id for r in results})
    if subs:
        await tx.execute(
            "UPDATE event_subscription SET failing_since = ?"
            f" WHERE id IN ({','.join('?' * len(subs))}) AND failing_since IS NULL",
            [now, *subs],
        )
    return gave_up


async def _disable_failing(
    tx: RawTx, subs: set[int], gave_up: dict[int, datetime], now: datetime
) -> list[int]:
    """Disable the subscriptions failing for GIVE_UP, or without a success since an event they
    had to give up was made, and tell the admin chats."""
    marks = ",".join("?" * len(subs))
    failing = await tx.fetch(
        f"SELECT id, failing_since FROM event_subscription WHERE id IN ({marks}) AND active"
        " AND failing_since IS NOT NULL",
        sorted(subs),
    )
    doomed = [
        int(sub)
        for sub, since in failing
        if stamp(since) <= max(now - GIVE_UP, gave_up.get(int(sub), now - GIVE_UP))
    ]
    if not doomed:
        return []
    rows = await tx.fetch(
        "UPDATE event_subscription SET active = ?, disabled_at = ?, disabled_reason = ?"
        f" WHERE id IN ({','.join('?' * len(doomed))})"
        " RETURNING id, workspace_id, url, failing_since",
        [False, now, "failing for 3 days", *doomed],
    )
    for sub, ws, url, since in rows:
        payload = {"subscription": int(sub), "url": str(url), "failing_since": iso(stamp(since))}
        key = f"subscription_disabled:{sub}:{iso(now)}"
        await events.emit(tx, int(ws), "subscription_disabled", key, payload, now)
    return [int(r[0]) for r in rows]
