"""What agents do in chat: search, filter (paged), show, tag, untag, borrar, note, tags."""

from __future__ import annotations

import pytest

from bots.core import Reply
from store import db
from store import outbound as records
from store.channels import channel_by_key
from store.inbound import write_batch
from store.statuses import apply_statuses
from store.types import Inbound, Item, StatusUpdate
from tests import helpers as h
from tests.bots.chat import AGENT, Chat, labels
from tests.bots.people import SENT, admin_actor, people, telegram_person


async def test_search_and_filter_count_and_page_with_a_next_button(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    await people()
    monkeypatch.setattr("bots.commands.common.MAX_INLINE_LINES", 2)
    first = await chat.one("filter country:EC OR country:PE", AGENT)
    assert (first.text, labels(first)) == (
        "Filter `country:EC OR country:PE`: 3 contacts\n"
        "`#2` *Ana Gómez* · gomez@example.com\n"
        "`#3` *Beto Díaz* · +593987654321 · [vip]",
        ["Next page"],
    )
    second = await chat.press(first, "Next page", AGENT)
    assert second == [Reply("Filter `country:EC OR country:PE`, more:\n`#4` *Cris Lara*")]
    again = await chat.press(first, "Next page", AGENT)  # a page button works more than once
    assert again == second
    assert (await chat.one("search díaz", AGENT)).text == (
        "Search `díaz`: 1 contact\n`#3` *Beto Díaz* · +593987654321 · [vip]"
    )
    assert (await chat.one("search zzz", AGENT)).text == "Search `zzz`: no contacts match."
    assert (await chat.one("filter bogus:1", AGENT)).text.startswith("Unknown field")
    assert (await chat.one('filter {"field": "tag"', AGENT)).text.startswith(
        "That filter is not valid JSON"
    )
    found = await chat.one('filter {"field": "tag", "op": "any", "value": ["vip"]}', AGENT)
    assert found.text.splitlines()[0].endswith(": 1 contact")


async def test_show_is_a_full_card(chat: Chat) -> None:
    ids = await people()
    await chat.one(f"note #{ids['ana']} Called her *twice*", AGENT)
    card = await chat.one("show @anap", AGENT)
    lines = card.text.splitlines()
    assert lines[:5] == [
        "*#1 Ana Pérez*",
        "Phone: +593991234567",
        "Email: ana@example.com",
        "Channels: telegram",
        "Tags: none",
    ]
    assert lines[5].startswith("Created ")
    assert lines[6:9] == [
        "*Last messages*",
        "← Nov 2, 2026 12:00 (UTC) telegram: hola",
        "*Notes*",
    ]
    assert lines[9].endswith(" telegram:300: Called her \u2217twice\u2217")
    assert (card.contact_id, labels(card)) == (ids["ana"], ["Tag Borrar"])


async def test_tag_untag_borrar_and_note_are_audited_as_the_chat_user(chat: Chat) -> None:
    ids = await people()
    tagged = await chat.one('tag +593 98 765 4321 gold "key account"', AGENT)
    assert tagged == Reply(
        "Tagged #3 Beto Díaz: gold, key account. Tags now: gold, key account, vip.",
        contact_id=ids["beto"],
    )
    assert (await chat.one("untag #3 vip gold", AGENT)).text == (
        "Untagged #3 Beto Díaz: vip, gold. Tags now: key account."
    )
    assert (await chat.one("borrar Cris", AGENT)).text == (
        "Tagged #4 Cris Lara: Borrar. Tags now: Borrar. "
        "The Borrar tag does nothing until the monthly reset is enabled for tagged contacts"
        " (`/reset enable tagged`)."
    )
    card = await chat.one("show #2", AGENT)
    assert await chat.press(card, "Tag Borrar", AGENT) == [
        Reply(
            "Tagged #2 Ana Gómez: Borrar. Tags now: Borrar. The Borrar tag does nothing until"
            " the monthly reset is enabled for tagged contacts (`/reset enable tagged`).",
            contact_id=2,
        )
    ]
    note = await chat.one("note gomez@example.com llamar el lunes", AGENT)
    assert note.text.startswith("Note ") and note.text.endswith(" added to #2 Ana Gómez.")
    assert await h.rows(
        "SELECT actor, surface, action, target FROM audit_log WHERE actor LIKE 'telegram:%'"
        " ORDER BY id"
    ) == [
        {"actor": "telegram:300", "surface": "telegram", "action": a, "target": t}
        for a, t in (
            ("tag.add", "#3"), ("tag.remove", "#3"), ("tag.add", "#4"), ("tag.add", "#2"),
            ("note.add", "#2"),
        )
    ]  # fmt: skip
    assert await h.scalar("SELECT body FROM note") == "llamar el lunes"
    assert (await chat.one("tags", AGENT)).text == (
        "*Tags*\nBorrar: 2\ngold: 0\nkey account: 1\nvip: 0"
    )


async def test_tag_and_note_need_something_to_add(chat: Chat) -> None:
    await people()
    assert (await chat.one("tag #3", AGENT)).text.startswith("Say what to do with the contact")
    assert (await chat.one("note #3", AGENT)).text.startswith("Say what to do with the contact")
    assert (await chat.one("tag", AGENT, contact=3)).text == "Name at least one tag."


async def test_a_card_says_in_words_what_each_message_carries(chat: Chat) -> None:
    await telegram_person("5552", "lia", "Lía Mora", text="first words")
    channel = await channel_by_key("telegram-acme-key")
    assert channel is not None
    sent = [
        ("text", "old words", {"message_id": 5, "chat_id": 5552}),
        ("location", None, {"latitude": 52.516275, "longitude": 13.377704,
                            "title": "Brandenburger Tor", "address": "Pariser Platz"}),
        ("reaction", None, {"reaction_to": 7, "emoji": ["👍"]}),
        ("contact", None, {"card": {"phone_number": "+15551234567", "first_name": "Grace"}}),
        ("image", "broken box", {}),
        ("text", "better words", {"edit_of": 5, "chat_id": 5552, "edited_at": SENT.isoformat()}),
    ]  # fmt: skip
    items = [
        Item(channel, Inbound(external_id="5552", provider_message_id=f"x{n}", type=type_,
                              sent_at=SENT, text=text, meta=meta))
        for n, (type_, text, meta) in enumerate(sent)
    ]  # fmt: skip
    async with db.raw_transaction() as tx:
        assert await write_batch(tx, items) == ["stored"] * 6
    card = await chat.one("show @lia", AGENT)
    lines = card.text.splitlines()
    start = lines.index("*Last messages*")
    assert lines[start + 1 :] == [
        "← Nov 2, 2026 12:00 (UTC) telegram: 📎 Image: broken box",
        "← Nov 2, 2026 12:00 (UTC) telegram: 👤 Contact: Grace +15551234567",
        "← Nov 2, 2026 12:00 (UTC) telegram: Reacted 👍 to a message",
        "← Nov 2, 2026 12:00 (UTC) telegram: 📍 Location: Brandenburger Tor, Pariser Platz"
        " (52.516275, 13.377704)",
        "← Nov 2, 2026 12:00 (UTC) telegram: better words (edited)",
    ]


async def test_a_card_says_why_an_outbound_message_failed(chat: Chat) -> None:
    cid = await telegram_person("5553", "mia", "Mía Ruiz")
    admin = await admin_actor()
    to = await records.target(admin, cid)
    delivered = await records.begin(admin, to, "¿Le llegó el pedido?")
    await records.complete(admin, to, delivered.id, records.Attempt("sent", "5553:41"))
    refused = await records.begin(admin, to, "¿Sigue ahí?")
    await records.complete(admin, to, refused.id, records.Attempt("sent", "5553:42"))
    await h.rows("UPDATE message SET sent_at = ? WHERE direction = 'out'", SENT)
    channel = await channel_by_key("telegram-acme-key")
    assert channel is not None
    failed = StatusUpdate(
        "failed", SENT, "5553:42", error_code="131047", error_title="Re-engagement message"
    )
    applied = await apply_statuses(channel, [StatusUpdate("read", SENT, "5553:41"), failed])
    assert [(c.message_id, c.previous, c.status) for c in applied.changes] == [
        (delivered.id, "sent", "read"),
        (refused.id, "sent", "failed"),
    ]
    card = await chat.one("show @mia", AGENT)
    lines = card.text.splitlines()
    start = lines.index("*Last messages*")
    assert lines[start + 1 :] == [
        "→ Nov 2, 2026 12:00 (UTC) telegram: ¿Sigue ahí? ⚠️ failed: Re-engagement message"
        " (code 131047)",
        "→ Nov 2, 2026 12:00 (UTC) telegram: ¿Le llegó el pedido?",
        "← Nov 2, 2026 12:00 (UTC) telegram: hola",
    ]
