"""Contacts, tags and notes in store/: create-or-update, references, conflicts, roles, audit."""

from __future__ import annotations

import pytest

from store import contacts, notes, refs, tags
from store.access import Actor
from store.db import ClientTx
from store.errors import Conflict, Forbidden, Invalid, NotFound
from store.setup import get_workspace
from tests import helpers


async def _actor(role: str = "admin", slug: str = "acme") -> Actor:
    await helpers.workspace(slug, region="EC")
    return Actor((await get_workspace(slug)).id, f"token:{role}", "api", role)


async def _audit() -> list[tuple[str, str | None]]:
    rows = await ClientTx().fetch(
        "SELECT action, target FROM audit_log WHERE action LIKE ? ORDER BY id", ["contact.%"]
    )
    return [(str(a), t) for a, t in rows]


async def test_upsert_creates_then_updates_by_identifier_email_phone(orm: str) -> None:
    actor = await _actor()
    first, created = await contacts.upsert(
        actor, {"name": " Ana ", "email": "ANA@Example.com", "phone": "099 123 4567"}
    )
    assert created and (first.name, first.email, first.phone) == (
        "Ana",
        "ana@example.com",
        "+593991234567",
    )
    assert first.source == "api" and first.tags == [] and first.display_name == "Ana"
    again, created = await contacts.upsert(actor, {"phone": "+593991234567", "city": "Quito"})
    assert not created and again.id == first.id and again.city == "Quito"
    by_email, created = await contacts.upsert(actor, {"email": "ana@example.com", "company": "X"})
    assert not created and by_email.id == first.id and by_email.company == "X"
    await contacts.patch(actor, first.id, {"identifier": "crm-1"})
    by_id, created = await contacts.upsert(actor, {"identifier": "crm-1", "custom": {"plan": 1}})
    assert not created and by_id.id == first.id and by_id.custom == {"plan": 1}
    assert await _audit() == [
        ("contact.create", f"#{first.id}"),
        ("contact.update", f"#{first.id}"),
        ("contact.update", f"#{first.id}"),
        ("contact.update", f"#{first.id}"),
        ("contact.update", f"#{first.id}"),
    ]


async def test_unique_email_owned_by_another_contact_is_a_conflict_naming_it(orm: str) -> None:
    actor = await _actor()
    owner, _ = await contacts.upsert(actor, {"name": "Owner", "email": "o@example.com"})
    other, _ = await contacts.upsert(actor, {"name": "Other", "identifier": "id-2"})
    with pytest.raises(
        Conflict, match=f"email o@example.com already belongs to contact #{owner.id}"
    ):
        await contacts.upsert(actor, {"identifier": "id-2", "email": "o@example.com"})
    with pytest.raises(Conflict, match=f"#{owner.id}"):
        await contacts.patch(actor, other.id, {"email": "O@example.com"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email"}, "not a valid address"),
        ({"phone": "12"}, "not a valid phone number"),
        ({"name": 5}, "name must be a string"),
        ({"shoe": "42"}, "unknown field"),
        ({"name": "x" * 300}, "longer than 255"),
        ({"name": "a\x00b"}, "NUL"),
        ({"custom": ["a"]}, "custom must be an object"),
        ({"custom": {"k": {"deep": 1}}}, "custom.k must be a string"),
        ({"company": "Acme"}, "at least one of name, email, phone, identifier"),
    ],
)
async def test_bad_fields_are_refused_and_nothing_is_written(
    orm: str, data: dict[str, object], message: str
) -> None:
    actor = await _actor()
    with pytest.raises(Invalid, match=message):
        await contacts.upsert(actor, data)
    assert await ClientTx().fetch("SELECT COUNT(*) FROM contact") == [(0,)]


async def test_find_by_typed_reference(orm: str) -> None:
    actor = await _actor("agent")
    admin = await _actor("admin")
    made, _ = await contacts.upsert(
        admin, {"name": "Bea", "email": "bea@x.org", "phone": "0991112222", "identifier": "b-1"}
    )
    for ref in (
        f"#{made.id}",
        str(made.id),
        "email:BEA@x.org",
        "phone:+593 99 111 2222",
        "phone:0991112222",
        "identifier:b-1",
    ):
        assert (await refs.contact(actor, refs.parse(ref), "EC")).id == made.id, ref
    with pytest.raises(NotFound, match=r"no contact with email 'nobody@x\.org'"):
        await refs.contact(actor, refs.parse("email:nobody@x.org"))
    with pytest.raises(Invalid, match="cannot read contact reference"):
        await refs.contact(actor, refs.parse("shoe:42"))
    with pytest.raises(NotFound):
        await contacts.get(actor, 999999)


async def test_contacts_of_another_workspace_are_invisible(orm: str) -> None:
    acme = await _actor()
    other = await _actor(slug="other")
    made, _ = await contacts.upsert(acme, {"name": "Acme person"})
    with pytest.raises(NotFound):
        await contacts.get(other, made.id)
    with pytest.raises(NotFound):
        await tags.add(other, made.id, ["x"])


async def test_tags_fold_case_and_accents_into_one(orm: str) -> None:
    actor = await _actor("agent")
    admin = await _actor("admin")
    made, _ = await contacts.upsert(admin, {"name": "Carla"})
    after = await tags.add(actor, made.id, ["Borrar", "borrar", "BORRAR", "Árbol"])
    assert after.tags == ["Árbol", "Borrar"]
    await tags.add(actor, made.id, ["arbol"])
    assert [(t.name, t.contacts) for t in await tags.list_tags(actor)] == [
        ("Árbol", 1),
        ("Borrar", 1),
    ]
    after = await tags.remove(actor, made.id, ["BORRAR", "never-there"])
    assert after.tags == ["Árbol"]
    with pytest.raises(Invalid, match="empty"):
        await tags.add(actor, made.id, ["  "])
    with pytest.raises(Forbidden, match="admin"):
        await tags.delete_tag(actor, "Árbol")
    assert await tags.delete_tag(admin, "ARBOL") == 1
    assert (await contacts.get(actor, made.id)).tags == []


async def test_notes_have_author_and_newest_first(orm: str) -> None:
    agent = await _actor("agent")
    admin = await _actor("admin")
    made, _ = await contacts.upsert(admin, {"name": "Dani"})
    first = await notes.add(agent, made.id, "called, no answer")
    second = await notes.add(admin, made.id, " wants a quote ")
    listed = await notes.list_notes(agent, made.id)
    assert [(n.id, n.author, n.body) for n in listed] == [
        (second.id, "token:admin", "wants a quote"),
        (first.id, "token:agent", "called, no answer"),
    ]
    await notes.delete(agent, first.id)
    assert [n.id for n in await notes.list_notes(agent, made.id)] == [second.id]
    with pytest.raises(NotFound):
        await notes.delete(agent, first.id)
    with pytest.raises(Invalid):
        await notes.add(agent, made.id, "   ")


async def test_delete_needs_admin_and_removes_everything(orm: str) -> None:
    agent = await _actor("agent")
    admin = await _actor("admin")
    made, _ = await contacts.upsert(admin, {"name": "Eva"})
    await tags.add(agent, made.id, ["vip"])
    await notes.add(agent, made.id, "hello")
    with pytest.raises(Forbidden):
        await contacts.delete(agent, made.id)
    assert await contacts.delete(admin, made.id) == made.id
    for table in ("contact", "contact_tag", "note"):
        assert await ClientTx().fetch(f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    assert (await _audit())[-1] == ("contact.delete", f"#{made.id}")
