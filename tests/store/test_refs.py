"""Contact references (store/refs.py): the grammar table of both surfaces, and resolution."""

from __future__ import annotations

import pytest

from store import contacts, refs
from store import merge as merging
from store.access import Actor
from store.errors import Invalid, NotFound
from store.refs import Ambiguous, Ref
from store.setup import get_workspace
from tests import helpers

# text -> (what the typed grammar reads, what chat reads); an exception type: it refuses.
GRAMMAR: dict[str, tuple[Ref | type[Exception], Ref | type[Exception]]] = {
    "#12": (Ref("id", "12"), Ref("id", "12")),
    "12": (Ref("id", "12"), Ref("id", "12")),
    " id:12 ": (Ref("id", "12"), Ref("id", "12")),
    "99999999999": (Ref("id", "99999999999"), Ref("phone", "99999999999", or_id=True)),
    "1234567890123456": (Ref("id", "1234567890123456"), Ref("phrase", "1234567890123456")),
    "0991234567": (Ref("id", "0991234567"), Ref("phone", "0991234567", or_id=True)),
    "id:abc": (Invalid, Ref("phrase", "id:abc")),
    "#abc": (Invalid, Ref("phrase", "#abc")),
    "²": (Invalid, Ref("phrase", "²")),
    "email:Ana@X.org": (Ref("email", "Ana@X.org"), Ref("email", "Ana@X.org")),
    "phone: +593 99 123 4567": (
        Ref("phone", "+593 99 123 4567"),
        Ref("phone", "+593 99 123 4567"),
    ),
    "identifier:crm-7": (Ref("identifier", "crm-7"), Ref("identifier", "crm-7")),
    "username:anap": (Ref("username", "anap"), Ref("username", "anap")),
    "@anap": (Ref("username", "anap"), Ref("username", "anap")),
    "@ana p": (Ref("username", "ana p"), Ref("phrase", "@ana p")),
    "email:": (Invalid, Invalid),
    "ana@example.com": (Invalid, Ref("email", "ana@example.com")),
    "+593 99 123 4567": (Invalid, Ref("phone", "+593 99 123 4567")),
    "(099) 123-4567": (Invalid, Ref("phone", "(099) 123-4567")),
    "099 123": (Invalid, Ref("phrase", "099 123")),
    "shoe:42": (Invalid, Ref("phrase", "shoe:42")),
    "Ana Pérez": (Invalid, Ref("phrase", "Ana Pérez")),
}


@pytest.mark.parametrize("text", list(GRAMMAR))
def test_the_grammar_of_both_surfaces(text: str) -> None:
    for parse, expected in zip((refs.parse, refs.parse_chat), GRAMMAR[text], strict=True):
        if isinstance(expected, Ref):
            assert parse(text) == expected, (parse.__name__, text)
        else:
            with pytest.raises(expected):
                parse(text)


def test_refusals_say_what_to_write() -> None:
    with pytest.raises(Invalid, match=r"^a contact id is a number, not 'id:abc'$"):
        refs.parse("id:abc")
    with pytest.raises(Invalid, match=r"^cannot read contact reference 'zebra': use #id"):
        refs.parse("zebra")


async def _actor(role: str = "admin") -> Actor:
    await helpers.workspace("acme", region="EC")
    return Actor((await get_workspace("acme")).id, f"token:{role}", "api", role)


async def test_resolution_follows_merges_but_an_id_as_written_stays(orm: str) -> None:
    actor = await _actor()
    kept, _ = await contacts.upsert(actor, {"name": "Ana", "email": "ana@example.com"})
    gone, _ = await contacts.upsert(actor, {"name": "Ana M", "phone": "0991234567"})
    await merging.merge(actor, kept.id, gone.id)
    by_id = Ref("id", str(gone.id))
    assert (await refs.contact(actor, by_id)).id == kept.id
    assert await refs.contact_id(actor, by_id) == gone.id  # what unmerge needs
    phone = refs.parse_chat("099 123 4567")
    assert await refs.contact_id(actor, phone, "EC") == kept.id
    with pytest.raises(NotFound, match=r"^no contact #99999999999$"):
        await refs.contact_id(actor, refs.parse("99999999999"))


async def test_a_long_number_is_a_phone_else_an_id(orm: str) -> None:
    actor = await _actor()
    made, _ = await contacts.upsert(actor, {"name": "Bea", "phone": "0991112222"})
    assert (await refs.contact(actor, refs.parse_chat("0991112222"), "EC")).id == made.id
    assert (await refs.contact(actor, Ref("id", str(made.id)), "EC")).id == made.id
    with pytest.raises(NotFound, match=r"^no contact #1234567$"):
        await refs.contact(actor, refs.parse_chat("1234567"), "EC")
    with pytest.raises(NotFound, match=r"^no contact with phone '\+593 90 000 0000'$"):
        await refs.contact(actor, refs.parse_chat("+593 90 000 0000"), "EC")


async def test_a_phrase_names_one_contact_or_lists_the_candidates(orm: str) -> None:
    actor = await _actor()
    for i in range(refs.MAX_CHOICES + 1):
        await contacts.upsert(actor, {"name": f"Zed {i:02d}"})
    only, _ = await contacts.upsert(actor, {"name": "Yolanda"})
    assert (await refs.contact(actor, Ref("phrase", "yolanda"))).id == only.id
    with pytest.raises(NotFound, match=r"^no contact matches 'Xavier'$"):
        await refs.contact(actor, Ref("phrase", "Xavier"))
    with pytest.raises(Ambiguous) as several:
        await refs.contact(actor, Ref("phrase", "zed"))
    assert (several.value.phrase, len(several.value.contacts), several.value.more) == (
        "zed",
        refs.MAX_CHOICES,
        True,
    )
