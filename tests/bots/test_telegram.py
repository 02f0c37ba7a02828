"""The Telegram admin bot end to end: real python-telegram-bot inside our aiohttp app, updates
posted to the webhook with the secret token, replies read from a fake Bot API."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests import helpers as h
from tests.bots import updates as u
from tests.bots.chat import TelegramChat
from tests.bots.fake_telegram import USERNAME
from tests.bots.people import people

OWNER, ADMIN, AGENT, STRANGER = 100, 200, 300, 999


async def test_the_webhook_needs_the_secret_token_and_an_update(tg: TelegramChat) -> None:
    update = u.command("/whoami", OWNER)
    assert (await tg.post(update, secret="wrong")).status == 401
    assert (await tg.post(update, secret="")).status == 401
    bad = await tg.client.post(
        u.PATH, data=b"{nope", headers={"X-Telegram-Bot-Api-Secret-Token": u.SECRET}
    )
    assert bad.status == 400
    assert (await tg.post({"message": {}})).status == 400
    methods = [c.method for c in tg.fake.calls]  # the menus, once per language; nothing sent
    assert methods == ["getMe", "setMyCommands", "setMyCommands", "setMyCommands"]
    menus = {c.params.get("language_code"): c.params["commands"] for c in tg.fake.calls[1:]}
    assert list(menus) == ["es", "en", None]  # None: Telegram's menu for any other language
    menu = orjson.loads(menus["en"])
    assert [m["command"] for m in menu] == [
        "add", "audit", "borrar", "data", "delete", "delete_all", "duplicates", "erase",
        "export", "filter", "help", "import", "lang", "merge", "note", "plan", "reset", "search",
        "send", "set", "show", "subscribe", "tag", "tag_all",
        "tags",
        "unmerge", "unsubscribe", "untag", "untag_all", "view", "whoami",
    ]  # fmt: skip
    assert menu[2] == {
        "command": "borrar",
        "description": "Mark a contact for deletion at the monthly reset",
    }
    assert menus[None] == menus["es"]  # the product's default language, Spanish
    assert await tg.texts("/whoami", OWNER) == [
        "You are <code>telegram:100</code> (Owner): <b>owner</b> of workspace <b>acme</b>."
    ]


async def test_without_a_token_there_is_no_admin_bot(client: TestClient) -> None:
    response = await client.post(u.PATH, json=u.command("/whoami", OWNER))
    assert response.status in (404, 405)


async def test_commands_by_name_by_contacts_prefix_and_addressed_in_a_group(
    tg: TelegramChat,
) -> None:
    await people()
    first = "Search <code>díaz</code>: 1 contact"
    assert (await tg.texts("/search díaz", AGENT))[0].splitlines()[0] == first
    assert (await tg.texts("/contacts search díaz", AGENT))[0].splitlines()[0] == first
    group = await tg.command(f"/search@{USERNAME} díaz", AGENT, chat_id=-100200)
    assert [(c.params["chat_id"], c.params["text"].splitlines()[0]) for c in group] == [
        ("-100200", first)
    ]
    assert await tg.command("/search@some_other_bot díaz", AGENT, chat_id=-100200) == []
    assert await tg.texts("/tag_all country:EC zona", AGENT) == [
        "Sorry, you cannot do that: this needs the admin role."
    ]
    assert await tg.texts("/frob", AGENT) == [
        "I do not know the command <code>frob</code>. Send <code>/help</code> for the list."
    ]
    assert (await tg.texts("/start", STRANGER)) == [
        "Lo siento, aún no te conozco. Pide a un propietario de tu espacio de trabajo que"
        " vincule tu id de usuario de Telegram <code>999</code> (contactgate admin add)."
    ]
    assert await h.rows(
        "SELECT actor, surface, target FROM audit_log WHERE action = 'bot.refused' ORDER BY id"
    ) == [
        {"actor": "telegram:300", "surface": "telegram", "target": "tag-all"},
        {"actor": "telegram:999", "surface": "telegram", "target": "start"},
    ]


EVERY_COMMAND = [  # (command, user, first line of the first message the bot sends)
    ("/help", AGENT, "<b>Commands for you (agent of acme)</b>"),
    ("/whoami", ADMIN, "You are <code>telegram:200</code> (Admin): <b>admin</b> of workspace"
     " <b>acme</b>."),
    ("/tags", AGENT, "<b>Tags</b>"),
    ("/search ana", AGENT, "Search <code>ana</code>: 2 contacts"),
    ("/show @anap", AGENT, "<b>#1 Ana Pérez</b>"),
    ("/tag #3 gold", AGENT, "Tagged #3 Beto Díaz: gold. Tags now: gold, vip."),
    ("/untag #3 gold", AGENT, "Untagged #3 Beto Díaz: gold. Tags now: vip."),
    ("/borrar #4", AGENT, "Tagged #4 Cris Lara: Borrar. Tags now: Borrar. The Borrar tag does"
     " nothing until the monthly reset is enabled for tagged contacts (<code>/reset enable"
     " tagged</code>)."),
    ("/note #4 llamar", AGENT, "Note 1 added to #4 Cris Lara."),
    ("/filter country:EC", AGENT, "Filter <code>country:EC</code>: 2 contacts"),
    ("/tag_all country:EC zona", ADMIN, "2 contacts match <code>country:EC</code>. Tag them"
     " all with <b>zona</b>?"),
    ("/untag_all tag:vip vip", ADMIN, "1 contact matches <code>tag:vip</code>. Take <b>vip</b>"
     " off them all?"),
    ("/delete_all tag:vip", ADMIN, "1 contact matches <code>tag:vip</code>. Delete them all"
     " with their messages, notes and tags? This cannot be undone."),
    ("/view save ec country:EC", ADMIN, "Saved view <b>ec</b>. Run it: <code>/view run"
     " ec</code>."),
    ("/view list", AGENT, "<b>Saved views</b>"),
    ("/view run ec", AGENT, "View <b>ec</b>: 2 contacts"),
    ("/view delete ec", ADMIN, "Deleted view <b>ec</b>."),
    ("/merge #1 #2", ADMIN, "<b>Merge #2 into #1?</b> #1 stays; #2's 0 identities, 0 messages,"
     " 0 notes and no tags move to it."),
    ("/unmerge #2", ADMIN, "Contact #2 has no merge to undo."),
    ("/duplicates", AGENT, "No likely duplicates."),
    ("/delete #4", ADMIN, "Delete <b>#4 Cris Lara</b> with all its messages, notes and tags?"
     " This cannot be undone."),
    ("/import", ADMIN, "Send me the CSV file (Telegram: as a document, or reply /import to one;"
     " Slack: share the file and point at it)"),
    ("/plan", AGENT, "<b>Plan of acme, "),
    ("/plan set 900", OWNER, "The cap is now 900."),
    ("/reset", ADMIN, "<b>Monthly reset of acme, "),
    ("/reset status", ADMIN, "<b>Monthly reset of acme, "),
    ("/reset preview all", ADMIN, "A reset of every contact now would delete 4 contacts"
     " (1 message, 1 note, 1 identity)."),
    ("/reset enable all", OWNER, "Enable the monthly reset of every contact?"),
    ("/reset now all", OWNER, "Run the reset now? A reset of every contact now would delete"
     " 4 contacts (1 message, 1 note, 1 identity)."),
    ("/reset time 22:00", OWNER, "The reset runs at 22:00 (UTC)."),
    ("/reset disable", OWNER, "Monthly reset turned off, from now on ("),
    ("/subscribe", ADMIN, "This chat will get the notifications of <b>acme</b>: plan at 80 %"
     " and 100 %, reset coming, done or failed."),
    ("/unsubscribe", ADMIN, "No more notifications here."),
    ("/lang en", AGENT, "From now on I answer you in English."),
]  # fmt: skip


async def test_every_command_answers_through_telegram(tg: TelegramChat) -> None:
    await h.workspace("acme", tz="UTC")  # the replies name the zone
    await people()
    seen = {}
    for text, user, first in EVERY_COMMAND:
        sent = await tg.command(text, user)
        assert sent, text
        shown = sent[0].params.get("text") or sent[0].params.get("caption", "")
        seen[text] = first if shown.splitlines()[0].startswith(first) else shown
    assert seen == {text: first for text, _, first in EVERY_COMMAND}
    exported = await tg.command("/export", ADMIN)
    assert [(c.method, c.params.get("caption")) for c in exported] == [
        ("sendDocument", "Exported 4 contacts.")
    ]
    covered = {t.split()[0].lstrip("/").replace("_", "-") for t, _, _ in EVERY_COMMAND}
    import bots.commands  # noqa: F401
    from bots.core import listed

    # export: just above; the others: tests/bots/test_sending.py, test_editing.py,
    # test_person_commands.py
    others = {"export", "send", "add", "set", "data", "erase", "audit"}
    assert {c.name.split()[0] for c in listed()} - covered == others


async def test_slow_work_is_acknowledged_at_once_and_answered_when_done(
    tg: TelegramChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bots.telegram.ACK_SECONDS", 0.0)
    before = len(tg.fake.calls)
    response = await tg.post(u.command("/whoami", ADMIN))
    assert (response.status, await response.json()) == (200, {"ok": True})
    for _ in range(100):
        if tg.fake.of("sendMessage"):
            break
        await asyncio.sleep(0.05)
    assert [c.method for c in tg.fake.calls[before:]] == ["sendMessage"]


async def test_while_telegram_is_unreachable_updates_get_503(
    aiohttp_client: Any, settings: Settings
) -> None:
    offline = settings.model_copy(
        update={
            "telegram_admin_bot_token": "1:offline",
            "telegram_admin_webhook_secret": u.SECRET,
            "telegram_api_url": "http://127.0.0.1:9",
        }
    )
    client = await aiohttp_client(create_app(offline))
    headers = {"X-Telegram-Bot-Api-Secret-Token": u.SECRET}
    response = await client.post(u.PATH, json=u.command("/whoami", OWNER), headers=headers)
    assert response.status == 503
