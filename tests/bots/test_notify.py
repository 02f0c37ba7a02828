"""Notifications to admin chats through the Telegram admin bot: each event once per chat, retried
when Telegram fails, never twice (also with two deliverers at once), old news not sent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from bots import notify
from gateway.cli import main
from store import db, events
from tests import helpers as h
from tests.bots.chat import TelegramChat
from tests.bots.fake_telegram import parsed

ADMIN, GROUP = 200, -100200


async def _emit(kind: str, key: str, payload: dict[str, Any], at: datetime | None = None) -> None:
    ws = int(await h.scalar("SELECT id FROM workspace WHERE slug = 'acme'"))
    async with db.raw_transaction() as tx:
        assert await events.emit(tx, ws, kind, key, payload, at or datetime.now(UTC))


def _texts(tg: TelegramChat) -> list[tuple[str, str]]:
    return [(c.params["chat_id"], parsed(c.params["text"])) for c in tg.fake.of("sendMessage")]


CAP = {"period": "2026-11", "used": 800, "cap": 1000}
DONE = {"period": "2026-11", "mode": "tagged", "contacts": 3, "identities": 3, "messages": 12,
        "notes": 1, "export": "/data/reset-exports/acme/2026-11-run1"}  # fmt: skip


async def test_events_reach_each_subscribed_chat_once(tg: TelegramChat) -> None:
    await tg.command("/subscribe", ADMIN, chat_id=GROUP)
    await tg.command("/subscribe", ADMIN)  # the admin's private chat too
    tg.fake.calls.clear()
    await _emit("cap_80", "cap_80:2026-11", CAP)
    await _emit("reset_done", "reset_done:2026-11", DONE)
    assert await notify.deliver() == 4
    assert _texts(tg) == [
        (str(GROUP), "Plan of acme at 80 %: 800 of 1,000 contacts used in November 2026."),
        ("200", "Plan of acme at 80 %: 800 of 1,000 contacts used in November 2026."),
        (str(GROUP), "Monthly reset of acme done (November 2026, the tagged contacts): deleted"
         " 3 contacts, 12 messages and 1 note. Export: /data/reset-exports/acme/2026-11-run1"),
        ("200", "Monthly reset of acme done (November 2026, the tagged contacts): deleted"
         " 3 contacts, 12 messages and 1 note. Export: /data/reset-exports/acme/2026-11-run1"),
    ]  # fmt: skip
    assert await notify.deliver() == 0
    assert await h.scalar("SELECT COUNT(*) FROM event WHERE delivered_at IS NULL") == 0


async def test_a_failed_send_is_retried_later_and_sent_once(tg: TelegramChat) -> None:
    await tg.command("/subscribe", ADMIN, chat_id=GROUP)
    tg.fake.calls.clear()
    await _emit("cap_100", "cap_100:2026-11", {**CAP, "used": 1000})
    tg.fake.fail("sendMessage", 502, "Bad Gateway")
    now = datetime.now(UTC)
    assert await notify.deliver(now) == 0
    assert await h.rows("SELECT attempts, error FROM event_delivery") == [
        {"attempts": 1, "error": "NetworkError: Bad Gateway"}
    ]
    assert await notify.deliver(now + timedelta(seconds=10)) == 0  # not due yet
    assert await h.scalar("SELECT COUNT(*) FROM event WHERE delivered_at IS NULL") == 1
    assert await notify.deliver(now + timedelta(seconds=31)) == 1
    assert await notify.deliver(now + timedelta(hours=2)) == 0
    assert [text for _, text in _texts(tg)] == [
        "Plan of acme is full: 1,000 of 1,000 contacts in November 2026. New people wait in the"
        " held queue until the cap is raised (plan set <cap>) or the next period starts.",
    ] * 2  # the refused attempt, then the one Telegram accepted
    assert await h.scalar("SELECT COUNT(*) FROM event WHERE delivered_at IS NULL") == 0


async def test_two_deliverers_at_once_send_each_event_once(tg: TelegramChat) -> None:
    await tg.command("/subscribe", ADMIN, chat_id=GROUP)
    tg.fake.calls.clear()
    for i in range(5):
        failed = {"period": "2026-11", "mode": "all", "error": "disk full", "attempt": i}
        await _emit("reset_failed", f"reset_failed:2026-11:{i}", failed)
    sent = await asyncio.gather(notify.deliver(), notify.deliver())
    assert sum(sent) == 5
    assert len(tg.fake.of("sendMessage")) == 5
    assert parsed(tg.fake.of("sendMessage")[0].params["text"]) == (
        "Monthly reset of acme failed (November 2026, attempt 0): disk full. It is tried again"
        " automatically; reset status shows the runs."
    )


async def test_old_events_and_workspaces_without_chats_are_left_alone(tg: TelegramChat) -> None:
    await h.workspace("acme", tz="UTC")  # the notification below names a UTC time
    soon = {"period": "2026-11", "mode": "all", "run_at": "2026-11-30T23:00:00+00:00",
            "contacts": 7, "identities": 7, "messages": 9, "notes": 0}  # fmt: skip
    await _emit("reset_soon", "reset_soon:2026-11", soon)
    assert await notify.deliver() == 0  # nobody subscribed: kept for the API and the CLI
    await _emit("cap_80", "cap_80:2026-10", CAP, at=datetime.now(UTC) - timedelta(days=4))
    await tg.command("/subscribe", ADMIN, chat_id=GROUP)
    tg.fake.calls.clear()
    assert await notify.deliver() == 1
    assert _texts(tg) == [
        (str(GROUP), "Monthly reset of acme soon: at Nov 30, 2026 23:00 (UTC) it deletes every"
         " contact, 7 contacts right now. reset preview shows them; reset disable turns it off.")
    ]  # fmt: skip
    assert await h.rows("SELECT key FROM event WHERE delivered_at IS NULL") == [
        {"key": "cap_80:2026-10"}
    ]


def test_the_cli_registers_an_admin_chat(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", f"sqlite://{tmp_path}/cg.db")
    cli = CliRunner()
    assert cli.invoke(main, ["workspace", "create", "acme"]).exit_code == 0
    added = cli.invoke(main, ["admin", "chat", "add", "acme", "telegram", "-100200"])
    assert added.output == "telegram chat -100200 now gets the notifications of acme\n"
    again = cli.invoke(main, ["admin", "chat", "add", "acme", "telegram", "-100200"])
    assert again.output == "telegram chat -100200 already got the notifications of acme\n"
    missing = cli.invoke(main, ["admin", "chat", "add", "nope", "telegram", "1"])
    assert missing.exit_code != 0 and "no workspace 'nope'" in missing.output


async def test_retention_results_reach_the_chats(tg: TelegramChat) -> None:
    await tg.command("/subscribe", ADMIN, chat_id=GROUP)
    tg.fake.calls.clear()
    done = {**DONE, "period": "2026-12-08", "mode": "contacts:365 messages:90",
            "export": "/data/reset-exports/acme/2026-12-08-run4"}  # fmt: skip
    await _emit("retention_done", "retention_done:2026-12-08", done)
    failed = {"period": "2026-12-09", "mode": "messages:90", "error": "disk full", "attempt": 1}
    await _emit("retention_failed", "retention_failed:2026-12-09:1", failed)
    assert await notify.deliver() == 2
    assert [text for _, text in _texts(tg)] == [
        "Retention rules of acme applied (2026-12-08, contacts:365 messages:90): deleted"
        " 3 contacts, 12 messages and 1 note. Export: /data/reset-exports/acme/2026-12-08-run4",
        "Retention run of acme failed (2026-12-09, attempt 1): disk full. It is tried again"
        " automatically.",
    ]
