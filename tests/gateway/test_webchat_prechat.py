"""The widget's pre-chat form (channel setting `prechat = "true"`), on both backends: what the
visitor typed fills their contact's empty email and phone, marked unverified, audited; it never
overwrites, and never joins another contact that already holds that email or phone."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from gateway.provision import known_kinds
from store.channels import upsert_channel
from store.models import Contact, Workspace
from tests import helpers as h
from tests.signing import load_fixture

KEY = "wc-acme-prechat-1"
ORIGIN = "https://shop.example.com"
ANA = "9a7d2c41-5e3b-4f60-8c1d-2b9e6f0a7c33"  # message__unverified_details's visitor


async def channel(prechat: str = "true") -> None:
    await h.workspace()
    secrets = {"hmac_secret": "s", "allowed_origins": ORIGIN, "prechat": prechat}
    await upsert_channel("acme", "webchat", KEY, secrets, known_kinds=known_kinds())


async def post(client: TestClient, body: dict[str, Any]) -> None:
    resp = await client.post(f"/webhooks/{KEY}", data=orjson.dumps(body),
                             headers={"Content-Type": "application/json"})  # fmt: skip
    assert resp.status == 200, await resp.text()


def ana(**visitor: str) -> dict[str, Any]:
    """message__unverified_details (Ana, ana@example.com, +593 99 765 4321), details changed."""
    body = orjson.loads(load_fixture("webchat", "message__unverified_details"))
    body["visitor"] |= visitor
    return dict(body)


async def contacts() -> list[dict[str, Any]]:
    rows = await h.rows("SELECT id, name, email, phone, custom FROM contact ORDER BY id")
    for row in rows:
        if isinstance(row["custom"], str | bytes):
            row["custom"] = orjson.loads(row["custom"])
    return rows


async def fills() -> list[tuple[Any, ...]]:
    rows = await h.rows("SELECT actor, surface, action, target, detail FROM audit_log"
                        " WHERE action = 'contact.fill_unverified' ORDER BY id")  # fmt: skip
    return [(r["actor"], r["surface"], r["target"], orjson.loads(r["detail"])
             if isinstance(r["detail"], str | bytes) else r["detail"]) for r in rows]  # fmt: skip


async def test_the_form_fills_the_empty_fields_marked_unverified(client: TestClient) -> None:
    await channel()
    await post(client, ana())
    assert await contacts() == [
        {"id": 1, "name": "Ana", "email": "ana@example.com", "phone": "+593997654321",
         "custom": {"unverified": "email phone"}},
    ]  # fmt: skip
    assert await fills() == [
        (f"webchat:{ANA}", "system", "#1", {"fields": ["email", "phone"], "channel": 1})
    ]


async def test_what_is_filled_is_never_overwritten(client: TestClient) -> None:
    await channel()
    await post(client, ana())
    second = ana(email="other@example.com", phone="+593 99 000 1111")
    second["message"]["id"] = "m-000002"
    await post(client, second)
    [contact] = await contacts()
    assert (contact["email"], contact["phone"]) == ("ana@example.com", "+593997654321")
    assert len(await fills()) == 1


async def test_a_detail_another_contact_holds_never_joins_it(client: TestClient) -> None:
    await channel()
    ws = await Workspace.get(slug="acme")
    await Contact.create(workspace=ws, source="import", name="Real Ana", email="ana@example.com")
    await post(client, ana())
    assert await contacts() == [
        {"id": 1, "name": "Real Ana", "email": "ana@example.com", "phone": None, "custom": {}},
        {"id": 2, "name": "Ana", "email": None, "phone": "+593997654321",
         "custom": {"unverified": "phone"}},
    ]  # fmt: skip


async def test_without_the_form_typed_details_stay_on_the_message(client: TestClient) -> None:
    await channel(prechat="false")
    await post(client, ana())
    assert await contacts() == [
        {"id": 1, "name": "Ana", "email": None, "phone": None, "custom": {}}
    ]
    assert await fills() == []
