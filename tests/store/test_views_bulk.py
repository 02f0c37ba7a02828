"""Saved views and bulk tag/untag/delete by filter (store.views, store.bulk) on both databases."""

from __future__ import annotations

import pytest

from store import bulk, contacts, query, tags, views
from store.access import Actor
from store.db import ClientTx
from store.errors import Conflict, Forbidden, Invalid, NotFound
from store.setup import get_workspace
from tests import helpers

PEOPLE = [
    ("Ana", "EC", ["vip"]),
    ("Beto", "PE", ["vip", "Borrar"]),
    ("Cris", "EC", []),
    ("Dora", "CO", ["vip"]),
    ("Eloy", "PE", []),
]


async def _seed() -> tuple[Actor, Actor, dict[str, int]]:
    await helpers.workspace("acme", region="EC")
    ws = (await get_workspace("acme")).id
    admin, agent = Actor(ws, "token:a", "api", "admin"), Actor(ws, "token:g", "api", "agent")
    ids = {}
    for name, country, names in PEOPLE:
        made, _ = await contacts.upsert(admin, {"name": name, "country": country})
        if names:
            await tags.add(admin, made.id, names)
        ids[name] = made.id
    return admin, agent, ids


def _names(page: query.Page) -> list[str | None]:
    return [c.name for c in page.contacts]


async def test_views_save_list_run_delete(orm: str) -> None:
    admin, agent, _ids = await _seed()
    saved = await views.save(
        admin, "Vip EC/PE", filter="tag:vip (country:EC OR country:PE)", columns=["tags", "city"],
        sort="-name",
    )  # fmt: skip
    assert (saved.name, saved.columns, saved.sort) == (
        "Vip EC/PE",
        ["name", "tags", "city"],
        "-name",
    )
    assert _names(await views.run(agent, "Vip EC/PE")) == ["Beto", "Ana"]
    assert [v.name for v in await views.list_views(agent)] == ["Vip EC/PE"]
    assert (await views.get(agent, "Vip EC/PE")).filter == saved.filter
    with pytest.raises(Conflict, match="exists"):
        await views.save(admin, "Vip EC/PE", filter="tag:vip")
    await views.save(admin, "Vip EC/PE", filter="tag:vip", replace=True)
    assert _names(await views.run(agent, "Vip EC/PE")) == ["Ana", "Beto", "Dora"]
    with pytest.raises(Forbidden):
        await views.delete(agent, "Vip EC/PE")
    await views.delete(admin, "Vip EC/PE")
    with pytest.raises(NotFound):
        await views.run(agent, "Vip EC/PE")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter": "country:"}, "position"),
        ({"columns": ["shoe"]}, "unknown column 'shoe'"),
        ({"sort": "shoe"}, "cannot sort by"),
    ],
)
async def test_a_bad_view_is_refused(orm: str, kwargs: dict[str, object], message: str) -> None:
    admin, _agent, _ids = await _seed()
    with pytest.raises(Invalid, match=message):
        await views.save(admin, "bad", **kwargs)  # type: ignore[arg-type]
    assert await views.list_views(admin) == []


async def test_bulk_tag_and_untag_by_filter_return_the_count(orm: str) -> None:
    admin, agent, _ids = await _seed()
    assert await bulk.bulk_tag(admin, filter="country:PE", add=["Seguimiento"]) == 2
    found = await query.list_contacts(agent, filter="tag:seguimiento", sort="name")
    assert _names(found) == ["Beto", "Eloy"]
    assert await bulk.bulk_tag(admin, filter="tag:vip", remove=["VIP"]) == 3
    assert [t.name for t in await tags.list_tags(agent) if t.contacts] == ["Borrar", "Seguimiento"]
    with pytest.raises(Forbidden):
        await bulk.bulk_tag(agent, filter="country:PE", add=["x"])
    with pytest.raises(Invalid, match="name tags"):
        await bulk.bulk_tag(admin, filter="country:PE")


async def test_bulk_delete_needs_the_confirmed_count(orm: str) -> None:
    admin, agent, _ids = await _seed()
    with pytest.raises(Invalid, match="needs a filter"):
        await bulk.bulk_delete(admin, filter=None)
    with pytest.raises(Conflict, match="2 contacts match now, not the 3 confirmed"):
        await bulk.bulk_delete(admin, filter="country:PE", expected=3)
    assert await bulk.bulk_delete(admin, filter="country:PE", expected=2) == 2
    assert _names(await query.list_contacts(agent, sort="name")) == ["Ana", "Cris", "Dora"]
    rows = await ClientTx().fetch("SELECT COUNT(*) FROM contact_tag")
    assert rows == [(2,)]  # Ana and Dora's vip links are all that is left
