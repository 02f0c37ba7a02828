"""Webhooks of every channel through real HTTP: routing, duplicates, identity rules, odd text.

Also home of the read-backs the per-channel webhook tests share: `stored()` is everything an
inbound message can leave in the database, decoded so that both backends read the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.channels import CHANNELS
from store import plan
from store.models import Channel, Contact, Workspace
from store.types import ChannelInfo
from tests import helpers as h
from tests.signing import load_fixture

EMPTY: dict[str, Any] = {"messages": [], "identities": [], "contacts": [], "held": 0}
NOTHING = {"contact": 0, "identity": 0, "message": 0, "held_message": 0}
OK = (200, "ok")
TWIML = (200, '<?xml version="1.0" encoding="UTF-8"?><Response/>')
ACK = {"telegram": OK, "whatsapp": OK, "twilio_sms": TWIML, "twilio_whatsapp": TWIML}
# One text message per channel kind; all four come from +1 555 123 4567 except Telegram's Ada.
TEXT_FIXTURE = {
    "telegram": "message__text",
    "whatsapp": "text",
    "twilio_sms": "sms__text",
    "twilio_whatsapp": "whatsapp__text",
}
KINDS = list(TEXT_FIXTURE)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    """A time on 2026-01-01 UTC, the day every captured fixture was sent."""
    return datetime(2026, 1, 1, hour, minute, second, tzinfo=UTC)


# --- read-backs shared by the webhook tests ---------------------------------------------------


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def messages() -> list[dict[str, Any]]:
    """Every message, JSON decoded; `sender` is its identity's external id.

    The join also requires the message's contact to be its identity's contact, so a message
    linked inconsistently would be missing here.
    """
    found = await h.rows(
        "SELECT m.direction, m.provider_message_id, m.type, m.text, m.media, m.meta, m.sent_at,"
        " i.external_id AS sender FROM message m"
        " JOIN identity i ON i.id = m.identity_id AND i.contact_id = m.contact_id"
        " ORDER BY m.provider_message_id"
    )
    for row in found:
        row.update(
            media=_json(row["media"]), meta=_json(row["meta"]), sent_at=_time(row["sent_at"])
        )
    return found


async def identities() -> list[dict[str, Any]]:
    """Every identity with its channel kind."""
    return await h.rows(
        "SELECT c.kind AS channel, i.external_id, i.scoped_id, i.username, i.display_name,"
        " i.phone FROM identity i JOIN channel c ON c.id = i.channel_id"
        " ORDER BY c.kind, i.external_id"
    )


async def contacts() -> list[dict[str, Any]]:
    """Every contact, oldest first."""
    return await h.rows("SELECT name, phone, email, source FROM contact ORDER BY id")


async def stored() -> dict[str, Any]:
    """Everything an inbound delivery can write: messages, identities, contacts, held count."""
    return {
        "messages": await messages(),
        "identities": await identities(),
        "contacts": await contacts(),
        "held": await h.scalar("SELECT count(*) AS n FROM held_message"),
    }


async def counts() -> dict[str, int]:
    """Row counts of the tables a delivery writes."""
    tables = ("contact", "identity", "message", "held_message")
    return {t: await h.scalar(f"SELECT count(*) AS n FROM {t}") for t in tables}


async def inbound_metrics(client: TestClient) -> list[str]:
    """The contactgate_inbound_messages_total samples of /metrics."""
    resp = await client.get("/metrics")
    assert resp.status == 200
    prefix = "contactgate_inbound_messages_total{"
    return [line for line in (await resp.text()).splitlines() if line.startswith(prefix)]


async def status_metrics(client: TestClient) -> list[str]:
    """The contactgate_status_total samples of /metrics."""
    resp = await client.get("/metrics")
    assert resp.status == 200
    prefix = "contactgate_status_total{"
    return sorted(line for line in (await resp.text()).splitlines() if line.startswith(prefix))


async def answer(resp: ClientResponse) -> tuple[int, Any]:
    """Status and body: decoded JSON for JSON answers, text otherwise."""
    if resp.content_type == "application/json":
        return resp.status, await resp.json()
    return resp.status, await resp.text()


async def deliver(client: TestClient, ch: ChannelInfo, body: bytes) -> ClientResponse:
    """POST `body` to a channel, signed as its provider signs."""
    if ch.kind == "telegram":
        return await h.send_telegram(client, ch.key, body)
    if ch.kind == "whatsapp":
        return await h.send_whatsapp(client, ch.key, body)
    return await h.send_twilio(client, ch.key, parse_qsl(body.decode(), keep_blank_values=True))


async def deliver_fixture(client: TestClient, ch: ChannelInfo, name: str) -> ClientResponse:
    """POST the fixture `name` of the channel's kind, signed."""
    return await deliver(client, ch, load_fixture(ch.kind, name))


async def acme(kind: str, cap: int = 1000) -> ChannelInfo:
    """Workspace acme (region EC) with one channel of `kind`."""
    await h.workspace(cap=cap)
    return await h.channel(kind)


def text_body(kind: str, text: str) -> bytes:
    """A text message of `kind` from the usual sender carrying `text`."""
    if kind == "telegram":
        return h.telegram_update(111222333, text=text, update_id=1)
    if kind == "whatsapp":
        payload = orjson.loads(load_fixture("whatsapp", "text"))
        message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        message["text"]["body"] = text
        return orjson.dumps(payload)
    params = dict(parse_qsl(load_fixture(kind, TEXT_FIXTURE[kind]).decode()))
    params["Body"] = text
    return urlencode(params).encode()


# --- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_channel_key_is_a_json_404(client: TestClient, method: str) -> None:
    await acme("whatsapp")
    resp = await client.request(method, "/webhooks/no-such-channel", data=b"{}")
    assert await answer(resp) == (404, {"error": "not_found", "detail": "no such channel"})
    assert await counts() == NOTHING


async def test_disabled_channel_is_a_json_410(client: TestClient) -> None:
    tg = await acme("telegram")
    await Channel.filter(key=tg.key).update(active=False)
    resp = await deliver_fixture(client, tg, "message__text")
    assert await answer(resp) == (410, {"error": "gone", "detail": "channel disabled"})
    assert await counts() == NOTHING


# --- duplicates -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_same_delivery_three_times_stores_one_message(client: TestClient, kind: str) -> None:
    ch = await acme(kind)
    answers = [await answer(await deliver_fixture(client, ch, TEXT_FIXTURE[kind])) for _ in "abc"]
    assert answers == [ACK[kind]] * 3
    assert await counts() == {"contact": 1, "identity": 1, "message": 1, "held_message": 0}


@pytest.mark.parametrize("kind", KINDS)
async def test_same_delivery_ten_times_at_once_stores_one_message(
    client: TestClient, kind: str
) -> None:
    ch = await acme(kind)
    sends = (deliver_fixture(client, ch, TEXT_FIXTURE[kind]) for _ in range(10))
    answers = [await answer(resp) for resp in await asyncio.gather(*sends)]
    assert answers == [ACK[kind]] * 10
    assert await counts() == {"contact": 1, "identity": 1, "message": 1, "held_message": 0}
    assert (await plan.usage("acme")).used == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_duplicate_of_a_held_message_is_held_once(client: TestClient, kind: str) -> None:
    ch = await acme(kind, cap=0)
    answers = [await answer(await deliver_fixture(client, ch, TEXT_FIXTURE[kind])) for _ in "ab"]
    assert answers == [ACK[kind]] * 2
    assert await counts() == {"contact": 0, "identity": 0, "message": 0, "held_message": 1}
    usage = await plan.usage("acme")
    assert (usage.used, usage.held_messages, usage.held_senders) == (0, 1, 1)


# --- identity rules ---------------------------------------------------------------------------


async def test_whatsapp_joins_the_contact_that_has_its_phone_and_keeps_its_name(
    client: TestClient,
) -> None:
    wa = await acme("whatsapp")
    ws = await Workspace.get(slug="acme")
    await Contact.create(workspace=ws, name="Sheena (VIP)", phone="+15551234567", source="manual")
    assert await answer(await deliver_fixture(client, wa, "text")) == OK
    assert await contacts() == [
        {"name": "Sheena (VIP)", "phone": "+15551234567", "email": None, "source": "manual"}
    ]
    assert await identities() == [
        {
            "channel": "whatsapp",
            "external_id": "15551234567",
            "scoped_id": None,
            "username": None,
            "display_name": "Sheena Nelson",
            "phone": "+15551234567",
        }
    ]
    assert [m["sender"] for m in await messages()] == ["15551234567"]


async def test_sms_then_whatsapp_from_one_phone_is_one_contact_with_two_identities(
    client: TestClient,
) -> None:
    await h.workspace()
    sms, wa = await h.channel("twilio_sms"), await h.channel("whatsapp")
    assert await answer(await deliver_fixture(client, sms, "sms__text")) == TWIML
    assert await answer(await deliver_fixture(client, wa, "text")) == OK
    # SMS carries no name; the WhatsApp profile name then fills the empty contact name.
    assert await contacts() == [
        {"name": "Sheena Nelson", "phone": "+15551234567", "email": None, "source": "inbound"}
    ]
    assert await identities() == [
        {
            "channel": "twilio_sms",
            "external_id": "+15551234567",
            "scoped_id": None,
            "username": None,
            "display_name": None,
            "phone": "+15551234567",
        },
        {
            "channel": "whatsapp",
            "external_id": "15551234567",
            "scoped_id": None,
            "username": None,
            "display_name": "Sheena Nelson",
            "phone": "+15551234567",
        },
    ]
    assert (await plan.usage("acme")).used == 2


async def test_telegram_user_never_joins_a_contact_by_phone(client: TestClient) -> None:
    tg = await acme("telegram")
    ws = await Workspace.get(slug="acme")
    await Contact.create(workspace=ws, name="Grace", phone="+15551234567", source="manual")
    # Ada shares a contact card with that very phone: a card is content, not her identity.
    assert await answer(await deliver_fixture(client, tg, "message__contact")) == OK
    assert await contacts() == [
        {"name": "Grace", "phone": "+15551234567", "email": None, "source": "manual"},
        {"name": "Ada Lovelace", "phone": None, "email": None, "source": "inbound"},
    ]
    assert [(i["external_id"], i["phone"]) for i in await identities()] == [("111222333", None)]


async def test_a_later_profile_name_does_not_rename_the_contact(client: TestClient) -> None:
    wa = await acme("whatsapp")
    for name in ("Sheena", "Sheena Nelson-Smith"):
        resp = await deliver(client, wa, h.whatsapp_text("15551234567", name=name))
        assert await answer(resp) == OK
    assert [c["name"] for c in await contacts()] == ["Sheena"]
    assert [i["display_name"] for i in await identities()] == ["Sheena"]


# --- odd text ---------------------------------------------------------------------------------

ODD_TEXT = (
    "שלום 👋🏽 مرحبا e\u0301 \u200f\u202e\ufeff \U0001d518\U0001d52b\U0001d526 👨‍👩‍👧 \U0010fffd"
)


@pytest.mark.parametrize("kind", KINDS)
async def test_odd_unicode_is_stored_exactly(client: TestClient, kind: str) -> None:
    ch = await acme(kind)
    assert await answer(await deliver(client, ch, text_body(kind, ODD_TEXT))) == ACK[kind]
    assert [m["text"] for m in await messages()] == [ODD_TEXT]


@pytest.mark.parametrize("kind", KINDS)
async def test_nul_byte_in_text_is_acknowledged_and_stored_without_it(
    client: TestClient, kind: str
) -> None:
    # PostgreSQL text cannot hold U+0000; the same message must be stored alike on both backends.
    ch = await acme(kind)
    assert await answer(await deliver(client, ch, text_body(kind, "before\x00after"))) == ACK[kind]
    assert [m["text"] for m in await messages()] == ["beforeafter"]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_body_over_the_channel_limit_is_a_413(client: TestClient, kind: str) -> None:
    ch = await acme(kind)
    limit = CHANNELS[kind].MAX_BODY  # 1 MiB; WhatsApp's batches 4 MiB
    resp = await deliver(client, ch, text_body(kind, "x" * limit))
    assert await answer(resp) == (413, {"error": "too_large", "detail": f"body over {limit} bytes"})
    assert await counts() == NOTHING


async def test_nul_bytes_in_names_and_meta_are_stripped_too(client: TestClient) -> None:
    wa = await acme("whatsapp")
    payload = orjson.loads(load_fixture("whatsapp", "location"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"]["name"] = "Sheena\x00 Nelson"
    value["messages"][0]["location"]["name"] = "Philz\x00 Coffee"
    assert await answer(await deliver(client, wa, orjson.dumps(payload))) == OK
    assert [m["meta"]["name"] for m in await messages()] == ["Philz Coffee"]
    assert [i["display_name"] for i in await identities()] == ["Sheena Nelson"]
    assert [c["name"] for c in await contacts()] == ["Sheena Nelson"]


async def test_provider_name_longer_than_the_column_is_cut_and_the_message_stored(
    client: TestClient,
) -> None:
    tg = await acme("telegram")
    body = orjson.loads(h.telegram_update(5, update_id=1))
    body["message"]["from"] |= {"first_name": "N" * 300, "username": "u" * 300}
    assert await answer(await deliver(client, tg, orjson.dumps(body))) == OK
    assert [(i["display_name"], i["username"]) for i in await identities()] == [
        ("N" * 255, "u" * 255)
    ]
    assert [c["name"] for c in await contacts()] == ["N" * 255]
    assert [m["text"] for m in await messages()] == ["hola"]
