"""Contact references in chat: #id, phones in common formats, email, @username, a phrase."""

from __future__ import annotations

import pytest

from bots.refs import take_ref
from tests.bots.chat import Chat, button
from tests.bots.people import people


@pytest.mark.parametrize(
    ("text", "ref", "rest"),
    [
        ("#12 vip", "#12", "vip"),
        ("+593 99 123 4567 vip gold", "+593 99 123 4567", "vip gold"),
        ("(099) 123-4567 vip", "(099) 123-4567", "vip"),
        ("099 123 4567", "099 123 4567", ""),
        ("12 34", "12", "34"),  # too few digits for a phone: an id and a tag
        ('"Ana Pérez" vip', "Ana Pérez", "vip"),
        ("“Ana Pérez” vip", "Ana Pérez", "vip"),
        ("ana@example.com x", "ana@example.com", "x"),
        ("", "", ""),
    ],
)
def test_take_ref_splits_the_reference_from_the_rest(text: str, ref: str, rest: str) -> None:
    assert take_ref(text) == (ref, rest)


REFS = [
    "#1", "1", "id:1", "+593991234567", "+593 99 123 4567", "099-123-4567", "0991234567",
    "(099) 123 4567", "593991234567", "ana@example.com", "ANA@Example.com",
    "email:ana@example.com", "@anap", "@ANAP", "@5551", "username:anap", "Pérez", "perez",
    '"Ana Pérez"',
]  # fmt: skip


async def test_every_reference_form_finds_the_contact(chat: Chat) -> None:
    ids = await people()
    assert ids["ana"] == 1
    found = {}
    for ref in REFS:
        reply = await chat.one(f"show {ref}")
        found[ref] = (reply.text.splitlines()[0], reply.contact_id)
    assert found == dict.fromkeys(REFS, ("*#1 Ana Pérez*", 1))


async def test_no_match_and_several_matches(chat: Chat) -> None:
    await people()
    assert (await chat.one("show Zoe")).text == "No contact matches 'Zoe'."
    assert (await chat.one("show +593 90 000 0000")).text == (
        "No contact with phone '+593 90 000 0000'."
    )
    assert (await chat.one("show nobody@example.com")).text == (
        "No contact with email 'nobody@example.com'."
    )
    several = await chat.one("tag ana vip")
    assert several.text == (
        "Several contacts match 'ana'; name one by its #id:\n"
        "`#1` *Ana Pérez* · +593991234567 · ana@example.com\n"
        "`#2` *Ana Gómez* · gomez@example.com"
    )
    assert [b.label for b in several.buttons] == ["Show #1", "Show #2"]
    shown = await chat.press(several, "Show #2")
    assert [(r.text.splitlines()[0], r.contact_id) for r in shown] == [("*#2 Ana Gómez*", 2)]
    assert button(several, "Show #1") != button(several, "Show #2")


async def test_a_reply_to_a_contact_names_it(chat: Chat) -> None:
    ids = await people()
    tagged = await chat.one("tag gold", contact=ids["cris"])
    assert (tagged.text, tagged.contact_id) == (
        "Tagged #4 Cris Lara: gold. Tags now: gold.",
        ids["cris"],
    )
    assert (await chat.one("borrar", contact=ids["cris"])).text == (
        "Tagged #4 Cris Lara: Borrar. Tags now: Borrar, gold. "
        "The Borrar tag does nothing until the monthly reset is enabled for tagged contacts"
        " (`/reset enable tagged`)."
    )
    assert (await chat.one("show", contact=ids["cris"])).contact_id == ids["cris"]
