"""The duplicate finder on SQLite and PostgreSQL: a seeded workspace with planted duplicates of
every reason and look-alikes; ranking, pages, dismissal, merged and deleted contacts."""

from __future__ import annotations

import pytest

from gateway.provision import known_kinds
from store import contacts, duplicates, merge
from store.access import Actor
from store.channels import upsert_channel
from store.duplicates import Reason
from store.errors import Forbidden, Invalid, NotFound
from store.setup import get_workspace
from tests import dupes_seed
from tests import helpers as h

ORDER = [  # score, then the newest pair first
    ("ines_a", "ines_b"),  # identifier + name and city: 90
    ("mail_form", "mail_chan"),  # 70 each, newest first
    ("br_nine", "br_old"),
    ("ar_intl", "ar_home"),
    ("mx_new", "mx_wa"),
    ("crm_a", "crm_b"),  # 60
    ("jose_acme", "jose_ACME"),  # 40
    ("maria_quito", "maria_QUITO"),  # 30
]


async def seeded(slug: str = "acme", role: str = "admin") -> tuple[Actor, dict[str, int]]:
    """The seeded workspace and an actor of `role` on it."""
    await h.workspace(slug)
    mail = await upsert_channel(
        slug, "email", f"email-{slug}", {"signing_key": "k" * 16}, known_kinds=known_kinds()
    )
    ws = (await get_workspace(slug)).id
    return Actor(ws, f"token:{role}", "api", role), await dupes_seed.seed(ws, mail)


def found(page: duplicates.DuplicatePage) -> dict[tuple[int, int], list[tuple[str, str]]]:
    return {(p.a.id, p.b.id): [(r.kind, r.value) for r in p.reasons] for p in page.pairs}


async def test_finds_every_planted_pair_and_nothing_else(orm: str) -> None:
    actor, ids = await seeded()
    page = await duplicates.find(actor, limit=100)
    planted = dupes_seed.expected(ids)
    pairs = found(page)
    assert set(pairs) & set(planted) == set(planted)  # found = planted
    assert set(pairs) - set(planted) == set()  # wrongly paired = 0
    assert pairs == planted  # with exactly the planted reasons
    assert (page.total, page.next_cursor) == (8, None)


async def test_ranked_by_score_then_newest_with_both_contacts(orm: str) -> None:
    actor, ids = await seeded()
    page = await duplicates.find(actor)
    order = [(p.a.id, p.b.id) for p in page.pairs]
    assert order == [tuple(sorted((ids[x], ids[y]))) for x, y in ORDER]
    assert [p.score for p in page.pairs] == [90, 70, 70, 70, 70, 60, 40, 30]
    first = page.pairs[0]
    assert (first.a.name, first.b.name, first.a.city) == ("Inés Mora", "Ines Mora", "Cuenca")
    assert first.reasons == [Reason("identifier", "X-1"), Reason("name_city", "Inés Mora, Cuenca")]


async def test_pages_follow_the_cursor_to_the_end(orm: str) -> None:
    actor, ids = await seeded()
    seen, cursor, pages = [], None, 0
    while True:
        page = await duplicates.find(actor, limit=3, cursor=cursor)
        seen += [(p.a.id, p.b.id) for p in page.pairs]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == [tuple(sorted((ids[x], ids[y]))) for x, y in ORDER]
    for bad in ("x", "1.2.3", "9.9.9.9.9", "-1.0.0.0"):
        with pytest.raises(NotFound):
            await duplicates.find(actor, cursor=bad)
    with pytest.raises(Invalid):
        await duplicates.find(actor, limit=0)


async def test_a_dismissed_pair_never_comes_back(orm: str) -> None:
    actor, ids = await seeded()
    a, b = sorted((ids["jose_acme"], ids["jose_ACME"]))
    done = await duplicates.dismiss(actor, b, a)  # either order: stored lower id first
    assert done == duplicates.Dismissed(a, b, already=False)
    assert await duplicates.dismiss(actor, a, b) == duplicates.Dismissed(a, b, already=True)
    pairs = found(await duplicates.find(actor, limit=100))
    assert (a, b) not in pairs and len(pairs) == 7
    audit = await h.rows(
        "SELECT actor, target FROM audit_log WHERE action = ?", "duplicate.dismiss"
    )
    assert [(r["actor"], r["target"]) for r in audit] == [("token:admin", f"#{a}")]
    stored = await h.rows(
        "SELECT contact_a_id, contact_b_id, dismissed_by FROM duplicate_dismissal"
    )
    assert [tuple(r.values()) for r in stored] == [(a, b, "token:admin")]


async def test_dismiss_is_for_admins_and_names_two_contacts(orm: str) -> None:
    actor, ids = await seeded()
    agent = Actor(actor.workspace_id, "token:agent", "api", "agent")
    with pytest.raises(Forbidden):
        await duplicates.dismiss(agent, ids["crm_a"], ids["crm_b"])
    assert len((await duplicates.find(agent, limit=100)).pairs) == 8  # agents may list
    with pytest.raises(Invalid):
        await duplicates.dismiss(actor, ids["crm_a"], ids["crm_a"])
    with pytest.raises(NotFound):
        await duplicates.dismiss(actor, ids["crm_a"], 999_999)
    assert await h.rows("SELECT id FROM duplicate_dismissal") == []


async def test_merged_and_deleted_contacts_are_never_in_a_pair(orm: str) -> None:
    actor, ids = await seeded()
    await merge.merge(actor, ids["crm_a"], ids["crm_b"])
    await contacts.delete(actor, ids["mx_wa"])
    a, b = sorted((ids["ar_intl"], ids["ar_home"]))
    await duplicates.dismiss(actor, a, b)
    await contacts.delete(actor, ids["ar_home"])  # its dismissals go with it
    pairs = found(await duplicates.find(actor, limit=100))
    gone = {ids["crm_b"], ids["mx_wa"], ids["ar_home"]}
    assert len(pairs) == 5 and not {i for pair in pairs for i in pair} & gone
    assert await h.rows("SELECT id FROM duplicate_dismissal") == []


async def test_workspaces_do_not_mix(orm: str) -> None:
    actor, _ids = await seeded()
    other, _ = await seeded("globex")
    assert len((await duplicates.find(actor, limit=100)).pairs) == 8
    assert len((await duplicates.find(other, limit=100)).pairs) == 8
    with pytest.raises(NotFound):
        await duplicates.dismiss(other, _ids["crm_a"], _ids["crm_b"])
