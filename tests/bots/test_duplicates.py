"""`duplicates` (`duplicados`) in chat: the command core on both databases, then the real
Telegram and Slack adapters: pairs in words, Merge… opening the merge preview, Not duplicates."""

from __future__ import annotations

from typing import Any

from bots.core import Reply
from gateway.provision import known_kinds
from store.channels import upsert_channel
from store.setup import get_workspace
from tests import dupes_seed
from tests import helpers as h
from tests.bots.chat import ADMIN, AGENT, Chat, TelegramChat, labels
from tests.bots.slack_support import SlackHarness
from tests.bots.test_slack_commands import ask, press


async def seeded() -> dict[str, int]:
    mail = await upsert_channel(
        "acme", "email", "email-acme", {"signing_key": "k" * 16}, known_kinds=known_kinds()
    )
    return await dupes_seed.seed((await get_workspace("acme")).id, mail)


def first_page(ids: dict[str, int]) -> str:
    i = {k: f"`#{v}`" for k, v in ids.items()}
    return "\n".join(
        [
            "*Likely duplicates: 8 pairs*",
            f"{i['ines_a']} *Inés Mora* and {i['ines_b']} *Ines Mora* (score 90): same identifier"
            " (X-1); same name and city (Inés Mora, Cuenca)",
            f"{i['mail_form']} *Marta Díaz* and {i['mail_chan']} *Marta* (score 70): same email"
            " (marta@example.com)",
            f"{i['br_nine']} *Beatriz Souza* and {i['br_old']} *Bia* (score 70): same phone under"
            " a variant (+551187654321)",
            f"{i['ar_intl']} *Pablo Ruiz* and {i['ar_home']} *P. Ruiz* (score 70): same phone"
            " under a variant (+541123456789)",
            f"{i['mx_new']} *Laura Gómez* and {i['mx_wa']} *Lau* (score 70): same phone under a"
            " variant (+525512345678)",
        ]
    )


async def test_agents_read_the_pairs_in_words_and_page_on(chat: Chat) -> None:
    assert (await chat.one("duplicates", AGENT)).text == "No likely duplicates."
    ids = await seeded()
    listed = await chat.one("duplicados", AGENT)
    assert listed.text == first_page(ids)
    assert labels(listed) == ["Next page"]  # merging and dismissing are for admins
    [more] = await chat.press(listed, "Next page", AGENT)
    assert more.text.splitlines() == [
        f"`#{ids['crm_a']}` *Tomás Vera* and `#{ids['crm_b']}` *T. Vera* (score 60): same"
        " identifier (CRM-77)",
        f"`#{ids['jose_acme']}` *José Pérez* and `#{ids['jose_ACME']}` *jose perez* (score 40):"
        " same name and company (José Pérez, Acme S.A.)",
        f"`#{ids['maria_quito']}` *María López* and `#{ids['maria_QUITO']}` *Maria Lopez*"
        " (score 30): same name and city (María López, Quito)",
    ]
    assert (await chat.one("duplicates now", AGENT)).text == (
        "Duplicates takes no arguments.\nUsage: `/duplicates`"
    )


async def test_merge_opens_the_merge_preview_and_not_duplicates_dismisses(chat: Chat) -> None:
    ids = await seeded()
    listed = await chat.one("duplicates", ADMIN)
    a, b = ids["mail_form"], ids["mail_chan"]
    assert labels(listed)[2:4] == [f"Merge #{b} into #{a}…", f"Not duplicates #{a}/#{b}"]
    assert len(labels(listed)) == 11
    [preview] = await chat.press(listed, f"Merge #{b} into #{a}", ADMIN)
    assert preview.text.splitlines()[0] == (
        f"*Merge #{b} into #{a}?* #{a} stays; #{b}'s 1 identity, 0 messages, 0 notes and no tags"
        " move to it."
    )
    assert labels(preview)[-2:] == ["Merge", "Cancel"]
    [merged] = await chat.press(preview, "Merge", ADMIN)
    assert merged.text == f"Merged #{b} into #{a} Marta Díaz. No tag moved."
    c, d = ids["ines_a"], ids["ines_b"]
    assert await chat.press(listed, f"Not duplicates #{c}/#{d}", ADMIN) == [
        Reply(f"Marked #{c} and #{d} as not duplicates; they will not be listed again.")
    ]
    assert await chat.press(listed, f"Not duplicates #{c}/#{d}", ADMIN) == [
        Reply(f"#{c} and #{d} were already marked as not duplicates.")
    ]
    after = await chat.one("duplicates", AGENT)
    assert after.text.splitlines()[0] == "*Likely duplicates: 6 pairs*"
    assert f"`#{c}`" not in after.text and f"`#{b}`" not in after.text
    assert await h.rows(
        "SELECT actor, action FROM audit_log WHERE action IN ('contact.merge',"
        " 'duplicate.dismiss') ORDER BY id"
    ) == [
        {"actor": "telegram:200", "action": "contact.merge"},
        {"actor": "telegram:200", "action": "duplicate.dismiss"},
    ]


async def test_telegram_lists_pairs_and_the_merge_button_opens_the_preview(
    tg: TelegramChat,
) -> None:
    ids = await seeded()
    [listed] = await tg.command("/duplicados", 200)
    text = listed.params["text"]
    assert "Likely duplicates: 8 pairs" in text and "same email (marta@example.com)" in text
    a, b = ids["mail_form"], ids["mail_chan"]
    [preview] = await tg.press(listed, f"Merge #{b} into #{a}", 200)
    assert preview.method == "sendMessage"
    assert f"Merge #{b} into #{a}?" in preview.params["text"]
    assert [label for label, _data in preview.buttons()][-2:] == ["Merge", "Cancel"]
    [dismissed] = await tg.press(listed, f"Not duplicates #{ids['ines_a']}/", 200)
    assert dismissed.params["text"].startswith(f"Marked #{ids['ines_a']} and #{ids['ines_b']}")
    [agent] = await tg.command("/duplicates", 300)
    assert "Likely duplicates: 7 pairs" in agent.params["text"]
    assert [label for label, _data in agent.buttons()] == ["Next page"]


async def test_slack_lists_pairs_and_the_merge_button_opens_the_preview(
    slack: SlackHarness,
) -> None:
    admin = "U0ADMIN01"
    await slack.bind("admin", admin)
    ids = await seeded()
    (listed,) = await ask(slack, "duplicados", admin)
    assert listed["text"].startswith("*Likely duplicates: 8 pairs*")
    a, b = ids["mail_form"], ids["mail_chan"]
    answers: list[dict[str, Any]] = await press(slack, listed, f"Merge #{b} into #{a}…", admin)
    assert answers[0]["text"].startswith(f"*Merge #{b} into #{a}?*")
    merged = await press(slack, answers[0], "Merge", admin)
    assert merged[0]["text"] == f"Merged #{b} into #{a} Marta Díaz. No tag moved."
    c, d = ids["br_nine"], ids["br_old"]
    done = await press(slack, listed, f"Not duplicates #{c}/#{d}", admin)
    assert (
        done[0]["text"] == f"Marked #{c} and #{d} as not duplicates; they will not be listed again."
    )
    (after,) = await ask(slack, "duplicates", admin)
    assert after["text"].startswith("*Likely duplicates: 6 pairs*")
