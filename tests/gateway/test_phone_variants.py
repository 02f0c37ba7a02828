"""One subscriber, one contact: Latin American phone variants through real HTTP, both databases.

A channel that vouches a phone joins the contact holding any variant of it; search, `phone:`
references and the CSV import find it by any variant; migration 0009's backfill re-canonicalises
stored phones. The rules themselves are tabled in tests/store/test_phones.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from gateway.channels import twilio
from store import db, phones
from tests import helpers as h
from tests.gateway.api.support import Api, error, import_job, tokens
from tests.gateway.test_webhooks_common import deliver_fixture as post

CSV = {"Content-Type": "text/csv"}
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twilio, "utc_now", lambda: NOW)  # Twilio sends no timestamp


async def people() -> list[dict[str, Any]]:
    """Every contact with its stored phone, key, source and the external ids of its identities."""
    found = await h.rows("SELECT id, name, phone, phone_key, source FROM contact ORDER BY id")
    for row in found:
        idents = await h.rows(
            "SELECT external_id FROM identity WHERE contact_id = ? ORDER BY id", row.pop("id")
        )
        row["identities"] = [i["external_id"] for i in idents]
    return found


def person(name: str, phone: str, key: str, source: str, *ids: str) -> dict[str, Any]:
    """One expected row of people()."""
    return {"name": name, "phone": phone, "phone_key": key, "source": source, "identities": [*ids]}


async def test_whatsapp_cloud_521_joins_the_imported_mexican_contact(client: TestClient) -> None:
    api = Api(client, await tokens(region="MX"))
    data = "name,phone\nLupita Hernández,+52 55 1234 5678\n".encode()
    imported = await import_job(api, "/imports", data=data, headers=CSV)
    assert (imported.status, imported.body["created"]) == (200, 1)
    wa = await h.channel("whatsapp")
    assert (await post(client, wa, "text__mexico_521")).status == 200
    assert await people() == [
        person("Lupita Hernández", "+525512345678", "+525512345678", "import", "5215512345678")
    ]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("011 15 4444-5555", "+5491144445555"),
        ("11 15 4444-5555", "+5491144445555"),
        ("+54 11 4444 5555", "+541144445555"),  # the 9 left out: another form, the same key
    ],
)
async def test_twilio_whatsapp_549_joins_the_argentine_contact_typed_at_home(
    client: TestClient, typed: str, stored: str
) -> None:
    api = Api(client, await tokens(region="AR"))
    made = await api("POST", "/contacts", json={"name": "Martín Gómez", "phone": typed})
    assert (made.status, made.body["phone"]) == (201, stored)
    tw = await h.channel("twilio_whatsapp")
    assert (await post(client, tw, "whatsapp__text_argentina")).status == 200
    assert await people() == [
        person("Martín Gómez", stored, "+541144445555", "api", "+5491144445555")
    ]


async def test_brazilian_wa_id_without_the_ninth_digit_joins_the_contact_with_it(
    client: TestClient,
) -> None:
    api = Api(client, await tokens(region="BR"))
    made = await api("POST", "/contacts", json={"name": "João Silva", "phone": "(11) 98765-4321"})
    assert (made.status, made.body["phone"]) == (201, "+5511987654321")
    wa = await h.channel("whatsapp")
    assert (await post(client, wa, "text__brazil_without_ninth_digit")).status == 200
    assert await people() == [
        person("João Silva", "+5511987654321", "+551187654321", "api", "551187654321")
    ]


async def test_a_new_sender_from_a_variant_stores_the_canonical_phone(client: TestClient) -> None:
    await tokens(region="EC")
    wa = await h.channel("whatsapp")
    assert (await post(client, wa, "text__mexico_521")).status == 200
    assert (await post(client, wa, "text__brazil_without_ninth_digit")).status == 200
    assert await people() == [
        person("Lupita Hernández", "+525512345678", "+525512345678", "inbound", "5215512345678"),
        person("João Silva", "+5511987654321", "+551187654321", "inbound", "551187654321"),
    ]


SUBSCRIBERS = {  # phone as created -> variants that name the same subscriber
    "+52 55 1234 5678": ["5215512345678", "+52 1 55 1234 5678", "+525512345678"],
    "+54 11 4444 5555": ["+5491144445555", "+54 9 11 4444-5555", "+541144445555"],
    "+55 11 98765-4321": ["+55 11 8765-4321", "+551187654321", "+5511987654321"],
}


async def _three(api: Api) -> dict[str, int]:
    ids = {}
    for n, phone in enumerate(SUBSCRIBERS):
        made = await api("POST", "/contacts", json={"name": f"Person {n}", "phone": phone})
        ids[phone] = made.body["id"]
    return ids


async def test_search_and_phone_references_find_a_contact_by_any_variant(
    client: TestClient,
) -> None:
    api = Api(client, await tokens(region="EC"))
    ids = await _three(api)
    for phone, variants in SUBSCRIBERS.items():
        for variant in variants:
            found = await api("GET", "/contacts", params={"q": variant})
            assert [c["id"] for c in found.body["contacts"]] == [ids[phone]], variant
            ref = await api("GET", f"/contacts/{quote('phone:' + variant)}")
            assert (ref.status, ref.body["id"]) == (200, ids[phone]), variant


async def test_a_partial_search_finds_the_number_without_its_mobile_digit(
    client: TestClient,
) -> None:
    api = Api(client, await tokens(region="EC"))
    ids = await _three(api)
    for q, phone in (("1144445555", "+54 11 4444 5555"), ("1187654321", "+55 11 98765-4321")):
        found = await api("GET", "/contacts", params={"q": q})
        assert [c["id"] for c in found.body["contacts"]] == [ids[phone]], q


async def test_import_matches_a_variant_instead_of_creating_a_second_contact(
    client: TestClient,
) -> None:
    api = Api(client, await tokens(region="EC"))
    ids = await _three(api)
    data = (
        "name,phone,city\n"
        "Person 0,+5215512345678,CDMX\n"
        "Person 1,+54 9 11 4444-5555,Buenos Aires\n"
        "Person 2,+55 11 8765-4321,São Paulo\n"
    ).encode()
    imported = await import_job(api, "/imports", data=data, headers=CSV)
    assert (imported.status, imported.body["created"], imported.body["updated"]) == (200, 0, 3)
    rows = await h.rows("SELECT id, phone, phone_key, city FROM contact ORDER BY id")
    assert rows == [
        {"id": ids["+52 55 1234 5678"], "phone": "+525512345678"}
        | {"phone_key": "+525512345678", "city": "CDMX"},
        {"id": ids["+54 11 4444 5555"], "phone": "+541144445555"}
        | {"phone_key": "+541144445555", "city": "Buenos Aires"},
        {"id": ids["+55 11 98765-4321"], "phone": "+5511987654321"}
        | {"phone_key": "+551187654321", "city": "São Paulo"},
    ]


async def test_a_variant_of_another_contacts_phone_is_a_conflict(client: TestClient) -> None:
    api = Api(client, await tokens(region="EC"))
    ids = await _three(api)
    other = await api("POST", "/contacts", json={"name": "Someone else"})
    patched = await api(
        "PATCH", f"/contacts/{other.body['id']}", json={"phone": "+54 9 11 4444 5555"}
    )
    owner = ids["+54 11 4444 5555"]
    assert (patched.status, patched.body) == (
        409,
        error("conflict", f"phone +5491144445555 already belongs to contact #{owner}"),
    )


async def test_backfill_canonicalises_stored_phones_and_keys_them(client: TestClient) -> None:
    api = Api(client, await tokens(region="EC"))
    legacy = ["+551187654321", "+5491144445555", "+558187654321", "+5581987654321"]
    ids = []
    for n, _phone in enumerate(legacy):
        ids.append((await api("POST", "/contacts", json={"name": f"Legacy {n}"})).body["id"])
    for cid, phone in zip(ids, legacy, strict=True):  # as rows written before 0009 look
        await h.rows("UPDATE contact SET phone = ?, phone_key = NULL WHERE id = ?", phone, cid)
    await phones.backfill(db.client(), db.dialect() == "postgres")
    assert await h.rows("SELECT phone, phone_key FROM contact ORDER BY id") == [
        {"phone": "+5511987654321", "phone_key": "+551187654321"},  # gained its ninth digit
        {"phone": "+5491144445555", "phone_key": "+541144445555"},
        {"phone": "+558187654321", "phone_key": "+558187654321"},  # its 9 form is taken: kept
        {"phone": "+5581987654321", "phone_key": "+558187654321"},
    ]
    found = await api("GET", "/contacts", params={"q": "1187654321"})
    assert [c["id"] for c in found.body["contacts"]] == [ids[0]]


async def test_a_phone_filter_matches_any_variant(client: TestClient) -> None:
    api = Api(client, await tokens(region="EC"))
    ids = await _three(api)
    for phone, variants in SUBSCRIBERS.items():
        for variant in (v for v in variants if v.startswith("+")):  # a filter is typed, no wa_id
            leaf = {"field": "phone", "op": "eq", "value": variant}
            found = await api("POST", "/contacts/search", json={"filter": {"and": [leaf]}})
            assert found.status == 200, found.body
            assert [c["id"] for c in found.body["contacts"]] == [ids[phone]], variant
