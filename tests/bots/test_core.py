"""bots.core: command lookup, dispatch, refusals (audited), usage replies, buttons, splitting."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bots import buttons, core
from bots.buttons import Expired, Forged, sign_action, verify_action
from bots.core import COMMANDS, Reply, find, listed, split_text
from tests import helpers as h
from tests.bots.chat import ADMIN, AGENT, OWNER, STRANGER, Chat, button, user
from tests.bots.people import people


def test_find_reads_aliases_subcommands_telegram_names_and_the_contacts_prefix() -> None:
    import bots.commands  # noqa: F401

    assert find("search", "ana") == (COMMANDS["search"], "ana")
    assert find("/S@ContactsBot", " ana ") == (COMMANDS["search"], "ana")
    assert find("tag_all", "tag:vip x") == (COMMANDS["tag-all"], "tag:vip x")
    assert find("view", "save vip tag:vip") == (COMMANDS["view save"], "vip tag:vip")
    assert find("views", "RUN vip") == (COMMANDS["view run"], "vip")
    assert find("view", "") == (COMMANDS["view"], "")
    assert find("contacts", "plan set 10") == (COMMANDS["plan set"], "10")
    assert find("contacts", "") == (COMMANDS["help"], "")
    assert find("nope", "x") is None
    assert find("note", "#3 first line\nsecond") == (COMMANDS["note"], "#3 first line\nsecond")
    assert find("contacts", "view\nsave x y") == (COMMANDS["view save"], "x y")


def test_every_command_has_help_usage_and_a_known_role() -> None:
    import bots.commands  # noqa: F401

    names = [c.name for c in listed()]
    assert names == [
        "add", "audit", "borrar", "data", "delete", "delete-all", "duplicates", "erase",
        "export", "filter", "help", "import", "lang", "merge", "note",
        "plan", "plan set", "reset", "reset disable", "reset enable", "reset now",
        "reset preview", "reset status", "reset time", "search", "send", "set", "show",
        "subscribe", "tag",
        "tag-all", "tags", "unmerge", "unsubscribe", "untag", "untag-all", "view",
        "view delete", "view list", "view run", "view save", "whoami",
    ]  # fmt: skip
    assert all(c.brief and c.es and c.role in ("agent", "admin", "owner") for c in listed())
    agent_may = {c.name for c in listed("agent")}
    assert agent_may == {
        "borrar", "duplicates", "filter", "help", "lang", "note", "plan", "search", "send",
        "show", "tag", "tags",
        "untag", "view", "view list", "view run", "whoami",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("short", ["short"]),
        ("aaa\nbbb\nccc", ["aaa\nbbb", "ccc"]),
        ("a" * 12, ["a" * 8, "a" * 4]),
        ("aa\n" + "b" * 10 + "\ncc", ["aa", "b" * 8, "bb\ncc"]),
        ("x\n\ny", ["x\n\ny"]),
    ],
)
def test_split_text_keeps_lines_whole_and_every_part_within_the_limit(
    text: str, parts: list[str]
) -> None:
    assert split_text(text, 8) == parts
    assert all(len(p) <= 8 for p in split_text(text, 8))


def test_button_data_is_signed_per_workspace_short_and_expires() -> None:
    buttons.set_key(b"k" * 32)
    data = sign_action(7, "p:123456789:f12", timedelta(minutes=15), now=1_800_000_000)
    assert len(data.encode()) <= 64
    assert verify_action(7, data, now=1_800_000_000) == "p:123456789:f12"
    with pytest.raises(Forged, match="not for your workspace"):
        verify_action(8, data, now=1_800_000_000)
    action, expiry, mac = data.split(".")
    with pytest.raises(Forged, match="not one of mine"):
        verify_action(7, f"p:123456788:f12.{expiry}.{mac}", now=1_800_000_000)
    with pytest.raises(Forged, match="not one of mine"):
        verify_action(7, f"{action}.zzzzzz.{mac}", now=1_800_000_000)
    with pytest.raises(Forged, match="not one of mine"):
        verify_action(7, "garbage", now=1_800_000_000)
    with pytest.raises(Expired, match="expired"):
        verify_action(7, data, now=1_800_000_000 + 15 * 60 + 1)
    buttons.set_key(b"j" * 32)  # another key (a rotated secret): old buttons are forged
    with pytest.raises(Forged):
        verify_action(7, data, now=1_800_000_000)


def test_the_key_is_derived_from_the_secrets_and_required() -> None:
    assert buttons.derive_key("a", None) == buttons.derive_key("a", None)
    assert buttons.derive_key("a", None) != buttons.derive_key(None, "a")
    with pytest.raises(ValueError, match="no secret"):
        buttons.derive_key(None, "")


async def _audit() -> list[dict[str, object]]:
    return await h.rows(
        "SELECT workspace_id, actor, surface, action, target FROM audit_log"
        " WHERE action LIKE 'bot.%' ORDER BY id"
    )


async def test_an_unknown_user_is_refused_politely_and_audited(chat: Chat) -> None:
    reply = await chat.one("delete #1", STRANGER)  # no workspace, no language: the default
    assert reply.text == (
        "Lo siento, aún no te conozco. Pide a un propietario de tu espacio de trabajo que"
        " vincule tu id de usuario de Telegram `999` (contactgate admin add)."
    )
    assert await _audit() == [
        {"workspace_id": None, "actor": "telegram:999", "surface": "telegram",
         "action": "bot.refused", "target": "delete"},
    ]  # fmt: skip
    pressed = await core.press(user(STRANGER), "show:1.zz.abc", "c", "en-US")
    assert pressed[0].text.startswith("Sorry, I do not know you yet.")


async def test_unknown_command_and_usage_mistakes_answer_with_help(chat: Chat) -> None:
    assert (await chat.one("frobnicate x")).text == (
        "I do not know the command `frobnicate`. Send `/help` for the list."
    )
    assert (await chat.one("contacts frob x")).text == (
        "I do not know the command `frob`. Send `/help` for the list."
    )
    assert (await chat.one("tag")).text == (
        'Name a contact first.\nUsage: `/tag <contact> <tag> [tag…] (quote "two words")`'
    )
    assert (await chat.one('tag "ana')).text == (
        "Cannot read that: a quote is not closed.\n"
        'Usage: `/tag <contact> <tag> [tag…] (quote "two words")`'
    )
    assert (await chat.one("show #999")).text == "No contact #999."
    assert (await chat.one("plan set lots")).text == (
        "Give the new cap as a whole number, e.g. `/plan set 2000`.\nUsage: `/plan set <cap>`"
    )


async def test_an_unexpected_error_is_logged_and_answered(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("store.plan.usage", broken)
    assert (await chat.one("plan")).text == (
        "Something went wrong on our side; it has been logged. Try again later."
    )


async def test_help_lists_what_the_role_may_and_explains_one_command(chat: Chat) -> None:
    agent_help = (await chat.one("help", AGENT)).text
    assert agent_help.splitlines()[0] == "*Commands for you (agent of acme)*"
    assert "`/search <words, phone or email>`: Find contacts" in agent_help
    assert "`/delete <contact>`" not in agent_help and "`/reset" not in agent_help
    assert "`/reset now [all|tagged]`" in (await chat.one("help", OWNER)).text
    assert (await chat.one("help borrar", AGENT)).text == (
        "`/borrar <contact>`\n"
        "Mark a contact for deletion at the monthly reset\n"
        "Names: borrar, forget. Role: agent or above."
    )
    assert (await chat.one("help view save")).text.startswith("`/view save <name> <filter>`")
    assert (await chat.one("whoami", ADMIN)).text == (
        "You are `telegram:200` (Admin): *admin* of workspace *acme*."
    )


async def test_a_forged_or_expired_button_changes_nothing(chat: Chat) -> None:
    ids = await people()
    card = await chat.one(f"show #{ids['beto']}")
    data = button(card, "Delete…")
    _action, expiry, mac = data.split(".")
    other = f"del:{ids['ana']}.{expiry}.{mac}"
    assert (await core.press(user(OWNER), other, "c"))[0].text == (
        "Sorry, you cannot do that: this button is not one of mine (or not for your workspace)."
    )
    ws = int(await h.scalar("SELECT id FROM workspace WHERE slug = 'acme'"))
    old = sign_action(ws, f"del:{ids['beto']}", timedelta(seconds=-1))
    assert (await core.press(user(OWNER), old, "c"))[0].text == (
        "This button has expired; run the command again."
    )
    assert (await _audit())[-1] == {
        "workspace_id": ws, "actor": "telegram:100", "surface": "telegram",
        "action": "bot.refused", "target": "button",
    }  # fmt: skip
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4


async def test_a_confirmation_runs_once_and_cancel_changes_nothing(chat: Chat) -> None:
    ids = await people()
    ask = await chat.one(f"delete #{ids['beto']}", ADMIN)
    assert [b.style for b in ask.buttons] == ["danger", None]
    assert await chat.press(ask, "Cancel", ADMIN) == [
        Reply("Cancelled; nothing changed.", replace=True)
    ]
    assert await chat.press(ask, "Delete", ADMIN) == [
        Reply("That was already done or cancelled.", replace=True)
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact WHERE id = ?", ids["beto"]) == 1
    ask = await chat.one(f"delete #{ids['beto']}", ADMIN)
    assert await chat.press(ask, "Delete", OWNER) == [Reply("Deleted #3 Beto Díaz.", replace=True)]
    assert await chat.press(ask, "Delete", ADMIN) == [
        Reply("That was already done or cancelled.", replace=True)
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact WHERE id = ?", ids["beto"]) == 0
    assert await h.rows(
        "SELECT actor, surface, action, target FROM audit_log WHERE action = 'contact.delete'"
    ) == [{"actor": "telegram:100", "surface": "telegram", "action": "contact.delete",
           "target": f"#{ids['beto']}"}]  # fmt: skip


async def test_a_stored_action_expires(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await people()
    ask = await chat.one(f"delete #{ids['beto']}")
    await h.rows("UPDATE bot_action SET expires_at = ?", datetime(2000, 1, 1, tzinfo=UTC))
    assert await chat.press(ask, "Delete") == [
        Reply("This button has expired; run the command again.")
    ]
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)  # the data itself expired too
    assert (await chat.press(ask, "Delete"))[0].text == (
        "This button has expired; run the command again."
    )
    assert await h.scalar("SELECT COUNT(*) FROM contact WHERE id = ?", ids["beto"]) == 1
