"""Search, sorting with empty values last, and cursor pages (store.query) on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store import contacts, query, tags
from store.access import Actor
from store.db import raw_transaction
from store.errors import Conflict, Forbidden, Invalid, NotFound
from store.setup import get_workspace
from tests import helpers

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PEOPLE: list[dict[str, Any]] = [
    {"name": "José Pérez", "phone": "+593991234567", "city": "Quito", "country": "EC"},
    {"name": "maria lopez", "email": "maria@example.com", "company": "Acme", "country": "PE"},
    {"name": "MARÍA Núñez", "city": "São Paulo", "custom": {"plan": "oro", "seats": 12}},
    {"name": "Zoë Adams", "phone": "+12025550100", "company": "zeta"},
    {"name": None, "email": "anon@example.org"},
    {"name": "Ana", "phone": "+3725123456", "identifier": "crm-77"},
    {"name": "ana", "email": "ana.b@example.com", "company": "Acme"},
]


async def _seed(orm: str) -> tuple[Actor, list[int]]:
    await helpers.workspace("acme", region="EC")
    ws = (await get_workspace("acme")).id
    ids = []
    async with raw_transaction() as tx:
        for i, person in enumerate(PEOPLE):
            fields = {k: v for k, v in person.items() if v is not None}
            cid = await contacts.insert(tx, ws, fields, "manual")
            await tx.execute(
                "UPDATE contact SET created_at = ?, last_activity_at = ? WHERE id = ?",
                [T0 + timedelta(days=i), T0 + timedelta(hours=i) if i % 3 else None, cid],
            )
            ids.append(cid)
        vip = await tags.ensure(tx, ws, ["VIP"])
        await tags.link(tx, [ids[3]], vip.values())
    return Actor(ws, "token:test", "api", "agent"), ids


def names(page: query.Page) -> list[str | None]:
    return [c.name for c in page.contacts]


async def test_search_is_case_and_accent_insensitive(orm: str) -> None:
    actor, _ids = await _seed(orm)
    found = await query.list_contacts(actor, q="jose", sort="name")
    assert names(found) == ["José Pérez"]
    found = await query.list_contacts(actor, q="MARÍA", sort="name")
    assert names(found) == ["maria lopez", "MARÍA Núñez"]
    assert names(await query.list_contacts(actor, q="sao", sort="name")) == ["MARÍA Núñez"]
    assert names(await query.list_contacts(actor, q="oro", sort="name")) == ["MARÍA Núñez"]
    assert names(await query.list_contacts(actor, q="vip", sort="name")) == ["Zoë Adams"]
    assert names(await query.list_contacts(actor, q="crm-77")) == ["Ana"]
    assert names(await query.list_contacts(actor, q="maria acme")) == ["maria lopez"]
    assert names(await query.list_contacts(actor, q="nobody-like-this")) == []


@pytest.mark.parametrize("typed", ["+593 99 123 4567", "0991234567", "099-123-4567", "99123"])
async def test_search_finds_phone_in_any_common_format(orm: str, typed: str) -> None:
    actor, _ids = await _seed(orm)
    assert names(await query.list_contacts(actor, q=typed)) == ["José Pérez"]


async def test_exact_email_ranks_first(orm: str) -> None:
    actor, ids = await _seed(orm)
    page = await query.list_contacts(actor, q="ana.b@example.com")
    assert [c.id for c in page.contacts] == [ids[6]]
    page = await query.list_contacts(actor, q="ana", sort="name")
    assert [c.id for c in page.contacts] == [ids[5], ids[6]]  # "ana" is no exact email


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Ana", "ana", "José Pérez", "maria lopez", "MARÍA Núñez", "Zoë Adams", None]),
        ("-name", ["Zoë Adams", "MARÍA Núñez", "maria lopez", "José Pérez", "ana", "Ana", None]),
        ("phone", ["Ana", "Zoë Adams", "José Pérez", "maria lopez", "MARÍA Núñez", None, "ana"]),
        ("-phone", ["José Pérez", "Zoë Adams", "Ana", "maria lopez", "MARÍA Núñez", None, "ana"]),
        ("company", ["maria lopez", "ana", "Zoë Adams", "José Pérez", "MARÍA Núñez", None, "Ana"]),
        ("created", ["José Pérez", "maria lopez", "MARÍA Núñez", "Zoë Adams", None, "Ana", "ana"]),
        (
            "-last_activity_at",
            ["Ana", None, "MARÍA Núñez", "maria lopez", "José Pérez", "Zoë Adams", "ana"],
        ),
    ],
)
async def test_sort_orders_with_empty_values_last(
    orm: str, sort: str, expected: list[str | None]
) -> None:
    actor, _ids = await _seed(orm)
    # ties on the key go by id (in the sort's direction); the empty phase by id ascending
    assert names(await query.list_contacts(actor, sort=sort)) == expected


@pytest.mark.parametrize("sort", ["name", "-name", "phone", "-created_at", "city", "-company"])
async def test_cursor_pages_visit_every_contact_once(orm: str, sort: str) -> None:
    actor, _ids = await _seed(orm)
    whole = names(await query.list_contacts(actor, sort=sort))
    seen: list[str | None] = []
    cursor = None
    for _ in range(10):
        page = await query.list_contacts(actor, sort=sort, limit=2, cursor=cursor)
        seen += names(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == whole and len(seen) == len(PEOPLE)


async def test_count_and_limits(orm: str) -> None:
    actor, _ids = await _seed(orm)
    page = await query.list_contacts(actor, q="example", count=True, limit=1)
    assert page.total == 3 and len(page.contacts) == 1 and page.next_cursor
    with pytest.raises(Invalid, match="between 1 and 500"):
        await query.list_contacts(actor, limit=501)
    with pytest.raises(Invalid, match="cannot sort by 'shoe size'"):
        await query.list_contacts(actor, sort="shoe size")


async def test_a_cursor_is_bound_to_its_query(orm: str) -> None:
    actor, _ids = await _seed(orm)
    page = await query.list_contacts(actor, sort="name", limit=2)
    assert page.next_cursor
    with pytest.raises(Conflict, match="another query"):
        await query.list_contacts(actor, sort="-name", cursor=page.next_cursor)
    with pytest.raises(NotFound, match="not one this server gave out"):
        await query.list_contacts(actor, sort="name", cursor="%%%garbage")


async def test_hostile_search_text_is_literal(orm: str) -> None:
    actor, _ids = await _seed(orm)
    for hostile in [
        '"',
        "' OR 1=1 --",
        "%",
        "_",
        "\\",
        'a" OR "b',
        "NEAR(",
        "x" * 5000,
        "zz\x00zz",
    ]:
        assert names(await query.list_contacts(actor, q=hostile)) == []
    assert len((await query.list_contacts(actor, q="\x00 ")).contacts) == len(PEOPLE)


async def test_unknown_role_cannot_list(orm: str) -> None:
    actor, _ids = await _seed(orm)
    with pytest.raises(Forbidden):
        await query.list_contacts(Actor(actor.workspace_id, "x", "api", "nobody"))


async def test_short_words_match_prefixes_alone_and_substrings_next_to_longer_ones(
    orm: str,
) -> None:
    actor, _ids = await _seed(orm)
    assert names(await query.list_contacts(actor, q="an", sort="name")) == ["Ana", "ana", None]
    assert names(await query.list_contacts(actor, q="zo", sort="name")) == ["Zoë Adams"]
    assert names(await query.list_contacts(actor, q="rez jo", sort="name")) == ["José Pérez"]
