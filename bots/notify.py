"""Notifications to the admin chats: cap 80/100 %, reset soon/done/failed (store.events).

The scheduler calls `deliver` every tick. Each (event, chat) is claimed by one process, sent
through the sender the platform's adapter registered (bots.core.register_sender), and marked
sent only once the platform accepted it; a refusal is retried later with a growing delay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from bots import render
from bots.core import RUNTIME, Reply, Send
from store import deliveries
from store.deliveries import Due

log = structlog.get_logger("contactgate.notify")


def _at(value: Any) -> str:
    try:
        return render.when(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _mode(payload: dict[str, Any]) -> str:
    return "every contact" if payload.get("mode") == "all" else "the tagged contacts"


def text_of(ws: str, kind: str, p: dict[str, Any]) -> str:
    """An event as a chat message."""
    if kind == "cap_80":
        return (
            f"*Plan of {ws} at 80 %*: {p.get('used')} of {p.get('cap')} contacts used in"
            f" {p.get('period')}."
        )
    if kind == "cap_100":
        return (
            f"*Plan of {ws} is full*: {p.get('used')} of {p.get('cap')} contacts in"
            f" {p.get('period')}. New people wait in the held queue until the cap is raised"
            " (`plan set <cap>`) or the next period starts."
        )
    if kind == "reset_soon":
        return (
            f"*Monthly reset of {ws} soon*: at {_at(p.get('run_at'))} it deletes"
            f" {_mode(p)}, {render.count(int(p.get('contacts', 0)), 'contact')} right now."
            " `reset preview` shows them; `reset disable` turns it off."
        )
    if kind == "reset_done":
        return (
            f"*Monthly reset of {ws} done* ({p.get('period')}, {_mode(p)}): deleted"
            f" {render.count(int(p.get('contacts', 0)), 'contact')},"
            f" {render.count(int(p.get('messages', 0)), 'message')} and"
            f" {render.count(int(p.get('notes', 0)), 'note')}. Export: `{p.get('export')}`"
        )
    if kind == "reset_failed":
        return (
            f"*Monthly reset of {ws} failed* ({p.get('period')}, attempt {p.get('attempt')}):"
            f" {render.plain(p.get('error', ''))}. It is tried again automatically;"
            " `reset status` shows the runs."
        )
    if kind == "retention_done":
        return (
            f"*Retention rules of {ws} applied* ({p.get('period')}, {p.get('mode')}): deleted"
            f" {render.count(int(p.get('contacts', 0)), 'contact')},"
            f" {render.count(int(p.get('messages', 0)), 'message')} and"
            f" {render.count(int(p.get('notes', 0)), 'note')}. Export: `{p.get('export')}`"
        )
    if kind == "retention_failed":
        return (
            f"*Retention run of {ws} failed* ({p.get('period')}, attempt {p.get('attempt')}):"
            f" {render.plain(p.get('error', ''))}. It is tried again automatically."
        )
    return f"*{ws}*: {kind} {render.plain(p)}"


async def deliver(now: datetime | None = None) -> int:
    """Send what is due to the chats of the platforms with a sender; returns how many sent."""
    senders = dict(RUNTIME.senders)
    count = 0
    for item in await deliveries.due(sorted(senders), now):
        if not await deliveries.claim(item.delivery_id, now):
            continue  # another process has it
        count += await _send(item, senders[item.platform], now)
    return count


async def _send(item: Due, send: Send, now: datetime | None) -> int:
    reply = Reply(text_of(item.workspace, item.kind, item.payload))
    try:
        await send(item.chat_id, reply)
    except Exception as exc:  # the platform refused or is away: retried later
        retry = await deliveries.failed(item, f"{type(exc).__name__}: {exc}", now)
        log.warning(
            "notify_failed", event_id=item.event_id, chat=item.chat_id, error=str(exc), retry=retry
        )
        return 0
    await deliveries.sent(item, now)
    log.info("notified", event_id=item.event_id, kind=item.kind, chat=item.chat_id)
    return 1
