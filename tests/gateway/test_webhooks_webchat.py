"""Web chat through the app into the database, on both backends: every documented request,
the identity rules (a valid identifier_hash joins, an unverified detail never does), auth
failures, duplicates, bad input, the cap and held queue. CORS and rate limits:
tests/gateway/test_webchat_http.py."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.channels import webchat
from gateway.provision import known_kinds
from store import plan
from store.channels import upsert_channel
from store.errors import Invalid
from store.models import Channel, Contact, Workspace
from tests import helpers as h
from tests.gateway.test_webhooks_common import counts, inbound_metrics, messages
from tests.signing import load_fixture

HMAC_SECRET = "wc-hmac-secret-4b7e9f1c2d"  # the secret of the fixtures' identifier_hash
ORIGIN = "https://shop.example.com"
SECRETS = {"hmac_secret": HMAC_SECRET, "allowed_origins": f"{ORIGIN} https://www.example.com"}
KEY = "wc-acme-key-0001"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ANON = "5f0e4c1a-2b7d-4c55-9a61-0c8f3e2d1b7a"  # message__text's visitor
SIGNED = "c2b3f7de-8a41-4b0f-b6f5-7d3e9a1c4e20"  # message__identified's visitor
NOTHING = {"contact": 0, "identity": 0, "message": 0, "held_message": 0}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webchat, "utc_now", lambda: NOW)


async def acme(cap: int = 1000) -> str:
    """Workspace acme (region EC) with a web chat channel; returns its key."""
    await h.workspace(cap=cap)
    info = await upsert_channel("acme", "webchat", KEY, SECRETS, known_kinds=known_kinds())
    return info.key


async def send(
    client: TestClient, body: bytes | dict[str, Any], *, origin: str | None = ORIGIN, **headers: str
) -> ClientResponse:
    """POST as the widget's fetch() does: JSON with the page's Origin."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    sent = {"Content-Type": "application/json", **headers}
    if origin is not None:
        sent["Origin"] = origin
    return await client.post(f"/webhooks/{KEY}", data=data, headers=sent)


def fixture(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture as a dict, top-level fields replaced."""
    return {**orjson.loads(load_fixture("webchat", name)), **changes}


def token(visitor: str) -> str:
    """The stream token every answer carries (tests/gateway/test_webchat_stream.py)."""
    return webchat.visitor_token(HMAC_SECRET, KEY, visitor)


def message(who: str, client_id: str, text: str = "hola", **fields: Any) -> dict[str, Any]:
    return {"visitor_id": who, "message": {"id": client_id, "text": text}, **fields}


def signed_visitor(identifier: str, **details: str) -> dict[str, str]:
    digest = hmac.new(HMAC_SECRET.encode(), identifier.encode(), hashlib.sha256).hexdigest()
    return {"identifier": identifier, "identifier_hash": digest, **details}


async def reply(resp: ClientResponse) -> tuple[int, Any, str | None]:
    """Status, JSON body and the CORS header a browser checks."""
    return resp.status, await resp.json(), resp.headers.get("Access-Control-Allow-Origin")


async def people() -> dict[str, list[dict[str, Any]]]:
    """Contacts and identities, oldest first."""
    return {
        "contacts": await h.rows(
            "SELECT name, email, phone, identifier, source FROM contact ORDER BY id"
        ),
        "identities": await h.rows(
            "SELECT external_id, scoped_id, display_name, phone, email, contact_id"
            " FROM identity ORDER BY id"
        ),
    }


async def known_contact(**fields: Any) -> int:
    ws = await Workspace.get(slug="acme")
    contact = await Contact.create(workspace=ws, source="import", **fields)
    return contact.id


# --- every documented request -----------------------------------------------------------------


async def test_message__text_is_stored_and_answered_for_the_page(client: TestClient) -> None:
    await acme()
    resp = await send(client, load_fixture("webchat", "message__text"))
    ok = {"ok": True, "status": "accepted", "id": "8d1f3a52-6c0b-4e8e-9f27-41b6a0c3d915",
          "token": token(ANON)}  # fmt: skip
    assert await reply(resp) == (200, ok, ORIGIN)
    assert resp.headers["Vary"] == "Origin"
    assert await messages() == [
        {
            "direction": "in",
            "provider_message_id": f"{ANON}:8d1f3a52-6c0b-4e8e-9f27-41b6a0c3d915",
            "type": "text",
            "text": "Hi! Has order #1001 shipped yet? \U0001f4e6",
            "media": None,
            "meta": {"page_url": "https://shop.example.com/orders/1001"},
            "sent_at": NOW,
            "sender": ANON,
        }
    ]
    assert await people() == {
        "contacts": [
            {"name": None, "email": None, "phone": None, "identifier": None, "source": "inbound"}
        ],
        "identities": [
            {
                "external_id": ANON,
                "scoped_id": None,
                "display_name": None,
                "phone": None,
                "email": None,
                "contact_id": 1,
            }
        ],
    }
    assert (await plan.usage("acme")).used == 1


async def test_message__identified_creates_a_contact_with_the_vouched_details(
    client: TestClient,
) -> None:
    await acme()
    resp = await send(client, load_fixture("webchat", "message__identified"))
    ok = {"ok": True, "status": "accepted", "id": "m-000001", "token": token(SIGNED)}
    assert await reply(resp) == (200, ok, ORIGIN)
    assert await people() == {
        "contacts": [
            {
                "name": "José Pérez",
                "email": "jose.perez@example.com",
                "phone": "+593991234567",  # the workspace's region (EC) reads the local number
                "identifier": "user-1042",
                "source": "inbound",
            }
        ],
        "identities": [
            {
                "external_id": SIGNED,
                "scoped_id": "id:user-1042",
                "display_name": "José Pérez",
                "phone": "+593991234567",
                "email": "jose.perez@example.com",
                "contact_id": 1,
            }
        ],
    }
    [stored] = await messages()
    assert stored["meta"]["visitor"]["verified"] is True


async def test_message__unverified_details_are_kept_on_the_message_only(
    client: TestClient,
) -> None:
    await acme()
    resp = await send(client, load_fixture("webchat", "message__unverified_details"))
    assert (await reply(resp))[0] == 200
    details = await people()
    assert details["contacts"] == [
        {"name": "Ana", "email": None, "phone": None, "identifier": None, "source": "inbound"}
    ]
    assert [(i["scoped_id"], i["phone"], i["email"]) for i in details["identities"]] == [
        (None, None, None)
    ]
    [stored] = await messages()
    assert stored["meta"] == {
        "visitor": {
            "name": "Ana",
            "email": "ana@example.com",
            "phone": "+593 99 765 4321",
            "identifier": "user-7",
            "verified": False,
        }
    }


async def test_typing_is_acknowledged_and_stores_nothing(client: TestClient) -> None:
    await acme()
    resp = await send(client, load_fixture("webchat", "typing"))
    ok = {"ok": True, "status": "ignored", "token": token(ANON)}
    assert await reply(resp) == (200, ok, ORIGIN)
    assert await counts() == NOTHING
    assert 'channel="webchat",outcome="ignored"} 1.0' in "".join(await inbound_metrics(client))


# --- identity rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "known",
    [
        {"email": "jose.perez@example.com"},
        {"phone": "+593991234567"},
        {"identifier": "user-1042"},
    ],
)
async def test_a_valid_hash_joins_the_existing_contact(
    client: TestClient, known: dict[str, str]
) -> None:
    await acme()
    contact_id = await known_contact(name="José (CRM)", **known)
    resp = await send(client, load_fixture("webchat", "message__identified"))
    assert resp.status == 200
    details = await people()
    assert [c["name"] for c in details["contacts"]] == ["José (CRM)"]  # no second contact
    assert [i["contact_id"] for i in details["identities"]] == [contact_id]
    assert (await plan.usage("acme")).used == 1  # still a new identity: it counts


async def test_a_signed_user_cannot_join_a_contact_of_another_identifier(
    client: TestClient,
) -> None:
    await acme()  # the fixture's user-1042 claims the email of the CRM's user-9
    await known_contact(name="Victim", email="jose.perez@example.com", identifier="user-9")
    resp = await send(client, load_fixture("webchat", "message__identified"))
    assert resp.status == 200
    details = await people()
    assert [c["name"] for c in details["contacts"]] == ["Victim", "José Pérez"]
    assert details["contacts"][1]["identifier"] == "user-1042"
    assert details["contacts"][1]["email"] is None  # taken by the other contact: not copied


async def test_unverified_email_phone_and_identifier_join_nothing(client: TestClient) -> None:
    await acme()
    await known_contact(name="Ana (CRM)", email="ana@example.com", identifier="user-7")
    await known_contact(name="Other", phone="+593997654321")
    resp = await send(client, load_fixture("webchat", "message__unverified_details"))
    assert resp.status == 200
    details = await people()
    assert [(c["name"], c["email"], c["phone"]) for c in details["contacts"]] == [
        ("Ana (CRM)", "ana@example.com", None),
        ("Other", None, "+593997654321"),
        ("Ana", None, None),  # a contact of its own, without the claimed details
    ]
    assert [i["contact_id"] for i in details["identities"]] == [3]


async def test_a_signed_in_user_is_one_identity_across_browsers(client: TestClient) -> None:
    await acme()
    first, second = "browser-one-00000001", "browser-two-00000002"
    signed = signed_visitor("user-55", email="u55@example.com")
    anonymous = await send(client, message(first, "m1"))  # before signing in
    on_first = await send(client, message(first, "m2", visitor=signed))
    on_second = await send(client, message(second, "m1", visitor=signed))
    assert [r.status for r in (anonymous, on_first, on_second)] == [200, 200, 200]
    details = await people()
    # The anonymous identity learns the identifier, so the second browser finds it.
    assert [(i["external_id"], i["scoped_id"]) for i in details["identities"]] == [
        (first, "id:user-55")
    ]
    assert [m["sender"] for m in await messages()] == [first, first, first]
    assert (await plan.usage("acme")).used == 1


# --- auth failures ----------------------------------------------------------------------------


async def test_unknown_keys_are_404_and_disabled_ones_410(client: TestClient) -> None:
    await acme()
    body = load_fixture("webchat", "message__text")
    unknown = await client.post("/webhooks/no-such-key", data=body, headers={"Origin": ORIGIN})
    await Channel.filter(key=KEY).update(active=False)
    disabled = await send(client, body)
    assert (unknown.status, await unknown.json()) == (
        404,
        {"error": "not_found", "detail": "no such channel"},
    )
    assert (disabled.status, await disabled.json()) == (
        410,
        {"error": "gone", "detail": "channel disabled"},
    )
    assert await counts() == NOTHING


@pytest.mark.parametrize(
    "visitor",
    [
        {**signed_visitor("user-1042"), "identifier": "user-1043"},  # someone else's identifier
        {**signed_visitor("user-1042"), "identifier_hash": "f" * 64},
    ],
)
async def test_a_bad_identifier_hash_is_401_and_stores_nothing(
    client: TestClient, visitor: dict[str, str]
) -> None:
    await acme()
    await known_contact(name="Victim", email="jose.perez@example.com")
    resp = await send(client, fixture("message__identified", visitor=visitor))
    detail = "wrong visitor.identifier_hash"
    assert await reply(resp) == (401, {"error": "rejected", "detail": detail}, ORIGIN)
    assert await counts() == {**NOTHING, "contact": 1}


# --- duplicates -------------------------------------------------------------------------------


async def test_a_retry_with_the_same_client_id_is_stored_once(client: TestClient) -> None:
    await acme()
    body = load_fixture("webchat", "message__text")
    answers = [(await reply(await send(client, body)))[1]["status"] for _ in "abc"]
    assert answers == ["accepted", "duplicate", "duplicate"]
    assert await counts() == {"contact": 1, "identity": 1, "message": 1, "held_message": 0}


async def test_ten_concurrent_retries_store_one_message(client: TestClient) -> None:
    await acme()
    body = load_fixture("webchat", "message__identified")
    answers = await asyncio.gather(*(send(client, body) for _ in range(10)))
    statuses = sorted([(await reply(r))[1]["status"] for r in answers])
    assert statuses == ["accepted"] + ["duplicate"] * 9
    assert await counts() == {"contact": 1, "identity": 1, "message": 1, "held_message": 0}


async def test_the_same_client_id_from_two_visitors_is_two_messages(client: TestClient) -> None:
    await acme()
    for visitor in ("visitor-aaaaaaaaaaaa", "visitor-bbbbbbbbbbbb"):
        assert (await send(client, message(visitor, "1"))).status == 200
    assert await counts() == {"contact": 2, "identity": 2, "message": 2, "held_message": 0}


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (b'{"visitor_id": ', "application/json", 400, "body is not valid JSON"),
        (b'{"visitor_id": 7}', "application/json", 400, "visitor_id must be a string"),
        (orjson.dumps(message(ANON, "m", text="x" * 5001)), "application/json", 400, "at most"),
        (orjson.dumps(message(ANON, "m")), "text/plain", 415, "Content-Type must be"),
        (b"{" + b" " * 70_000 + b"}", "application/json", 413, "body over 65536 bytes"),
    ],
)
async def test_bad_input_is_refused_readably_and_stores_nothing(
    client: TestClient, body: bytes, content_type: str, status: int, detail: str
) -> None:
    await acme()
    resp = await send(client, body, **{"Content-Type": content_type})
    got_status, answer, cors = await reply(resp)
    assert (got_status, cors) == (status, ORIGIN)  # the widget can read why
    assert detail in answer["detail"]
    assert await counts() == NOTHING


async def test_a_too_large_streamed_body_is_413(client: TestClient) -> None:
    await acme()

    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 4096

    resp = await client.post(
        f"/webhooks/{KEY}",
        data=chunks(),
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
    )
    assert (resp.status, (await resp.json())["error"]) == (413, "too_large")


# --- cap and held queue -----------------------------------------------------------------------


async def test_at_the_cap_a_new_visitor_is_held_and_admitted_on_upgrade(
    client: TestClient,
) -> None:
    await acme(cap=1)
    await known_contact(name="José (CRM)", email="jose.perez@example.com")
    first = await send(client, load_fixture("webchat", "message__text"))
    held = [await send(client, load_fixture("webchat", "message__identified")) for _ in "ab"]
    assert [(await reply(r))[1]["status"] for r in (first, *held)] == [
        "accepted",
        "accepted",  # held: the visitor is not told about the plan
        "duplicate",
    ]
    usage = await plan.usage("acme")
    assert (usage.used, usage.held_messages) == (1, 1)
    assert (await send(client, load_fixture("webchat", "message__text"))).status == 200
    result = await plan.set_cap(await h.owner(), 2)
    assert (result.admitted_now, result.used, result.held_messages) == (1, 2, 0)
    details = await people()  # the held identity kept its vouched details and joins José
    assert [c["name"] for c in details["contacts"]] == ["José (CRM)", None]
    assert [(i["scoped_id"], i["contact_id"]) for i in details["identities"]] == [
        (None, 2),
        ("id:user-1042", 1),
    ]


# --- configuration ----------------------------------------------------------------------------


async def test_a_channel_is_refused_without_its_secrets(orm: str) -> None:
    await h.workspace()
    with pytest.raises(Invalid, match="needs secrets: allowed_origins"):
        await upsert_channel(
            "acme", "webchat", KEY, {"hmac_secret": "s"}, known_kinds=known_kinds()
        )
