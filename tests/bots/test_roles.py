"""Every command and button above a user's role is refused politely, audited, and changes
nothing (SPEC section 5: agent < admin < owner)."""

from __future__ import annotations

import bots.commands  # noqa: F401  (registers the commands listed below)
from bots.core import listed
from tests import helpers as h
from tests.bots.chat import ADMIN, AGENT, OWNER, Chat
from tests.bots.people import people

ARGS = {  # arguments that would work for the owner
    "add": "Dana Ruiz, dana@example.com", "set": "#3 city Lima", "data": "#3", "erase": "#3",
    "audit": "#3",
    "delete": "#3", "delete-all": "tag:vip", "export": "", "import": "", "merge": "#1 #2",
    "plan set": "5", "reset disable": "", "reset enable": "all", "reset now": "all",
    "reset preview": "", "reset status": "", "reset time": "22:00", "reset": "",
    "subscribe": "", "unsubscribe": "", "tag-all": "tag:vip x", "untag-all": "tag:vip vip",
    "unmerge": "#1", "view delete": "x", "view save": "x tag:vip",
}  # fmt: skip
REFUSALS = [
    (c.name, who)
    for c in listed()
    for who, role in ((AGENT, "agent"), (ADMIN, "admin"))
    if c.role == "owner" or (c.role == "admin" and role == "agent")
]


async def test_every_command_above_the_role_is_refused(chat: Chat) -> None:
    await people()
    roles = {c.name: c.role for c in listed()}
    for name, who in REFUSALS:
        reply = await chat.one(f"{name} {ARGS[name]}".strip(), who)
        assert (reply.text, reply.buttons, reply.file) == (
            f"Sorry, you cannot do that: this needs the {roles[name]} role.",
            (),
            None,
        ), name
    assert await h.rows(
        "SELECT actor, action, target FROM audit_log WHERE actor LIKE 'telegram:%' ORDER BY id"
    ) == [{"actor": f"telegram:{who}", "action": "bot.refused", "target": name}
          for name, who in REFUSALS]  # fmt: skip
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4
    assert await h.scalar("SELECT COUNT(*) FROM bot_action") == 0
    assert await h.scalar("SELECT COUNT(*) FROM admin_chat") == 0


def test_every_command_above_agent_is_covered() -> None:
    assert {n for n, _ in REFUSALS} == set(ARGS)
    assert len(REFUSALS) == 19 + 6 * 2  # admin commands (agents), owner ones (both)


async def test_buttons_re_check_the_role_of_who_presses(chat: Chat) -> None:
    ids = await people()
    card = await chat.one(f"show #{ids['beto']}", OWNER)
    assert [b.label for b in card.buttons] == ["Tag Borrar", "Delete…"]
    assert [b.label for b in (await chat.one(f"show #{ids['beto']}", AGENT)).buttons] == [
        "Tag Borrar"
    ]
    refused = "Sorry, you cannot do that: this needs the admin role."
    assert [r.text for r in await chat.press(card, "Delete…", AGENT)] == [refused]
    ask = await chat.one("reset now all", OWNER)
    assert [r.text for r in await chat.press(ask, "Run the reset now", ADMIN)] == [
        "Sorry, you cannot do that: this needs the owner role."
    ]
    assert [r.text for r in await chat.press(ask, "Cancel", AGENT)] == [
        "Sorry, you cannot do that: this needs the owner role."
    ]
    assert await h.rows(
        "SELECT actor, target FROM audit_log WHERE action = 'bot.refused' ORDER BY id"
    ) == [
        {"actor": "telegram:300", "target": "del"},
        {"actor": "telegram:200", "target": "reset"},
        {"actor": "telegram:300", "target": "reset"},
    ]
    assert await h.scalar("SELECT COUNT(*) FROM reset_run") == 0
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4
