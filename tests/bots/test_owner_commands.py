"""What owners do in chat: the plan cap, the monthly reset, and where notifications go."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from bots import core
from bots.core import Reply
from tests import helpers as h
from tests.bots.chat import ADMIN, AGENT, CHAT_ID, Chat, labels
from tests.bots.people import people


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False)
async def test_plan_shows_usage_and_the_owner_sets_the_cap(chat: Chat) -> None:
    await h.workspace("acme", tz="UTC")  # the replies below are written for a UTC workspace
    await people()
    assert (await chat.one("plan", AGENT)).text == (
        "*Plan of acme, November 2026*\n"
        "Contacts this period: 1 of 1,000 (0 %), 0 carried over\n"
        "Held (waiting for room): 0 people, 0 messages\n"
        "Next period in 10.5 days\n"
        "*Per channel*\n"
        "telegram `telegram-acme-key`: 1 new, 0 carried over"
    )
    changed = await chat.one("plan set 1,500")
    assert changed.text.splitlines()[:3] == [
        "The cap is now 1,500.",
        "*Plan of acme, November 2026*",
        "Contacts this period: 1 of 1,500 (0 %), 0 carried over",
    ]
    assert await h.rows(
        "SELECT actor, surface, action FROM audit_log WHERE action = 'plan.set_cap'"
    ) == [{"actor": "telegram:100", "surface": "telegram", "action": "plan.set_cap"}]
    assert (await chat.one("plan set -3")).text.startswith("Give the new cap as a whole number")
    assert (await chat.one("plan frob")).text.startswith("Unknown plan subcommand 'frob'")


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False)
async def test_reset_status_preview_enable_disable_and_time(chat: Chat) -> None:
    await h.workspace("acme", tz="UTC")  # the replies below are written for a UTC workspace
    await people()
    await chat.one("borrar #4", AGENT)
    assert (await chat.one("reset", ADMIN)).text == (
        "*Monthly reset of acme, November 2026: off*\n"
        "Runs at 23:00 (UTC) on the month's last day\n"
        "Next run: none due\n"
        "A change that deletes more counts for this month until November 28, 2026"
    )
    assert (await chat.one("reset preview tagged", ADMIN)).text == (
        "A reset of contacts tagged Borrar now would delete 1 contact (0 messages, 0 notes,"
        " 0 identities).\n`#4` Cris Lara"
    )
    assert (await chat.one("reset preview", ADMIN)).text == (
        "The reset is off; preview a mode: `/reset preview [all|tagged]`."
    )
    ask = await chat.one("reset enable tagged")
    assert (ask.text.splitlines()[0], labels(ask)) == (
        "Enable the monthly reset of contacts tagged Borrar?",
        ["Enable (tagged)", "Cancel"],
    )
    [done] = await chat.press(ask, "Enable (tagged)")
    assert done.replace and done.text.splitlines()[:2] == [
        "Monthly reset will delete the contacts tagged Borrar, starting with November 2026:"
        " next run 2026-11-30 23:00 UTC.",
        "*Monthly reset of acme, November 2026: contacts tagged Borrar*",
    ]
    assert (await chat.one("reset time 21:30")).text.splitlines()[0] == (
        "The reset runs at 21:30 (UTC)."
    )
    assert (await chat.one("reset status", ADMIN)).text.splitlines()[1:3] == [
        "Runs at 21:30 (UTC) on the month's last day",
        "Next run: Nov 30, 2026 21:30 (UTC)",
    ]
    assert (await chat.one("reset enable some")).text == (
        "Say `all` or `tagged`.\nUsage: `/reset enable all|tagged`"
    )
    off = await chat.one("reset disable")
    assert (
        off.text.splitlines()[0]
        == "Monthly reset turned off, from now on (November 2026 included)."
    )
    assert await h.rows(
        "SELECT actor, action FROM audit_log WHERE action LIKE 'reset.%' ORDER BY id"
    ) == [
        {"actor": "telegram:100", "action": "reset.mode"},
        {"actor": "telegram:100", "action": "reset.time"},
        {"actor": "telegram:100", "action": "reset.mode"},
    ]


async def test_reset_now_asks_then_runs_in_the_background(chat: Chat) -> None:
    await people()
    await chat.one("borrar #4", AGENT)
    assert (await chat.one("reset now")).text == (
        "The reset is off this month; name a mode: `/reset now [all|tagged]`."
    )
    ask = await chat.one("reset now tagged")
    assert ask.text == (
        "Run the reset now? A reset of contacts tagged Borrar now would delete 1 contact"
        " (0 messages, 0 notes, 0 identities).\n`#4` Cris Lara"
    )
    [started] = await chat.press(ask, "Run the reset now")
    assert started.replace and started.text.startswith("Reset of ")
    assert started.text.endswith(
        "(contacts tagged Borrar) started as run #1. The export is written first; subscribed"
        " chats hear when it is done."
    )
    runner = core.RUNTIME.resets
    assert runner is not None
    await runner.join()  # type: ignore[attr-defined]
    assert await h.rows("SELECT state, trigger, requested_by FROM reset_run") == [
        {"state": "done", "trigger": "manual", "requested_by": "telegram:100"}
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact WHERE id = 4") == 0
    assert await h.rows("SELECT kind FROM event") == [{"kind": "reset_done"}]
    again = await chat.one("reset now tagged")
    [refused] = await chat.press(again, "Run the reset now")
    assert refused.text.startswith("The reset of 20") and "already ran (run 1," in refused.text


async def test_subscribe_and_unsubscribe_this_chat(chat: Chat) -> None:
    assert await chat.say("subscribe", ADMIN) == [
        Reply(
            "This chat will get the notifications of *acme*: plan at 80 % and 100 %, reset"
            " coming, done or failed."
        )
    ]
    assert (await chat.one("here", ADMIN)).text == "This chat already gets the notifications."
    assert await h.rows("SELECT platform, chat_id FROM admin_chat") == [
        {"platform": "telegram", "chat_id": CHAT_ID}
    ]
    assert (await chat.one("unsubscribe", ADMIN)).text == "No more notifications here."
    assert (await chat.one("unsubscribe", ADMIN)).text == "This chat got no notifications."
    assert await h.rows(
        "SELECT actor, action, target FROM audit_log WHERE action LIKE 'admin_chat.%' ORDER BY id"
    ) == [
        {"actor": "telegram:200", "action": "admin_chat.add", "target": f"telegram:{CHAT_ID}"},
        {"actor": "telegram:200", "action": "admin_chat.remove", "target": f"telegram:{CHAT_ID}"},
    ]
