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
from bots.i18n import N_, Lang, lang
from store import deliveries
from store.deliveries import Due

log = structlog.get_logger("contactgate.notify")


def _at(t: Lang, value: Any) -> str:
    try:
        return t.when(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _mode(t: Lang, payload: dict[str, Any]) -> str:
    return t._("every contact") if payload.get("mode") == "all" else t._("the tagged contacts")


def _month(t: Lang, period: Any) -> str:
    try:
        return t.month(str(period))
    except ValueError:
        return str(period)


def text_of(t: Lang, ws: str, kind: str, p: dict[str, Any]) -> str:
    """An event as a chat message, in the workspace's language and timezone."""
    words = {
        "ws": ws,
        "month": _month(t, p.get("period")),
        "used": t.number(int(p.get("used", 0))),
        "cap": t.number(int(p.get("cap", 0))),
        "contacts": t.n_("{n} contact", "{n} contacts", int(p.get("contacts", 0))),
        "messages": t.n_("{n} message", "{n} messages", int(p.get("messages", 0))),
        "notes": t.n_("{n} note", "{n} notes", int(p.get("notes", 0))),
        "mode": _mode(t, p),
        "when": _at(t, p.get("run_at")),
        "export": p.get("export"),
        "attempt": p.get("attempt"),
        "error": render.plain(p.get("error", "")),
        "day": str(p.get("period", "")),
        "rules": str(p.get("mode", "")),
    }
    text = TEXTS.get(kind)
    if text is None:
        return f"*{ws}*: {kind} {render.plain(p)}"
    return t._(text, **words)


TEXTS = {
    "cap_80": N_("*Plan of {ws} at 80 %*: {used} of {cap} contacts used in {month}."),
    "cap_100": N_(
        "*Plan of {ws} is full*: {used} of {cap} contacts in {month}. New people wait in the"
        " held queue until the cap is raised (`plan set <cap>`) or the next period starts."
    ),
    "reset_soon": N_(
        "*Monthly reset of {ws} soon*: at {when} it deletes {mode}, {contacts} right now."
        " `reset preview` shows them; `reset disable` turns it off."
    ),
    "reset_done": N_(
        "*Monthly reset of {ws} done* ({month}, {mode}): deleted {contacts}, {messages} and"
        " {notes}. Export: `{export}`"
    ),
    "reset_failed": N_(
        "*Monthly reset of {ws} failed* ({month}, attempt {attempt}): {error}. It is tried"
        " again automatically; `reset status` shows the runs."
    ),
    "retention_done": N_(
        "*Retention rules of {ws} applied* ({day}, {rules}): deleted {contacts}, {messages} and"
        " {notes}. Export: `{export}`"
    ),
    "retention_failed": N_(
        "*Retention run of {ws} failed* ({day}, attempt {attempt}): {error}. It is tried again"
        " automatically."
    ),
}


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
    said = lang(item.language, item.timezone)
    reply = Reply(text_of(said, item.workspace, item.kind, item.payload))
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
