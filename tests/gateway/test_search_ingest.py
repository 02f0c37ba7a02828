"""Contacts made by webhooks are found by the search box: names, handles, ids, phones."""

from __future__ import annotations

import orjson
from aiohttp.test_utils import TestClient

from store import contacts, query
from store.access import Actor
from store.setup import get_workspace
from tests import helpers


def _telegram(user_id: int, username: str, first_name: str) -> bytes:
    body = orjson.loads(helpers.telegram_update(user_id))
    body["message"]["from"].update(username=username, first_name=first_name)
    return orjson.dumps(body)


async def _names(actor: Actor, q: str) -> list[str | None]:
    return [c.name for c in (await query.list_contacts(actor, q=q, sort="name")).contacts]


async def test_webhook_contacts_are_searchable(client: TestClient) -> None:
    await helpers.workspace("acme", region="EC")
    tg = await helpers.channel("telegram")
    wa = await helpers.channel("whatsapp")
    actor = Actor((await get_workspace("acme")).id, "t", "api", "agent")
    assert (
        await helpers.send_telegram(client, tg.key, _telegram(555, "juanito_ec", "Juañito"))
    ).status == 200
    assert (
        await helpers.send_whatsapp(
            client, wa.key, helpers.whatsapp_text("593991234567", name="José")
        )
    ).status == 200
    for q in ("juanito", "@juanito_ec", "JUANITO", "555"):
        assert await _names(actor, q) == ["Juañito"], q
    for q in ("jose", "0991234567", "+593 99 123 4567", "whatsapp"):
        assert await _names(actor, q) == ["José"], q
    assert await _names(actor, "telegram") == ["Juañito"]


async def test_a_provider_name_filling_an_empty_name_is_searchable(client: TestClient) -> None:
    await helpers.workspace("acme", region="EC")
    wa = await helpers.channel("whatsapp")
    ws = (await get_workspace("acme")).id
    admin = Actor(ws, "t", "api", "admin")
    made, _ = await contacts.upsert(admin, {"phone": "0987654321"})
    assert made.name is None
    sent = await helpers.send_whatsapp(
        client, wa.key, helpers.whatsapp_text("593987654321", name="Rosa Ñ")
    )
    assert sent.status == 200
    assert await _names(admin, "rosa n") == ["Rosa Ñ"]
    page = await query.list_contacts(admin, sort="name")
    assert [(c.id, c.name) for c in page.contacts] == [(made.id, "Rosa Ñ")]
