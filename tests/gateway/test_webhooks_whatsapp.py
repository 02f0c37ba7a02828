"""WhatsApp Cloud API webhooks through real HTTP: every captured notification, batches, bad
bodies, and business-scoped user ids (BSUID). Meta's signature and GET handshake, the same for
every Meta kind: tests/gateway/test_webhooks_meta_hub.py."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway.channels import whatsapp
from store import plan
from tests import helpers as h
from tests.gateway.test_webhooks_common import (
    EMPTY,
    NOTHING,
    OK,
    acme,
    answer,
    at,
    counts,
    identities,
    messages,
    status_metrics,
    stored,
)
from tests.gateway.test_webhooks_common import deliver_fixture as post
from tests.gateway.test_webhooks_common import inbound_metrics as metrics
from tests.signing import FIXTURES, load_fixture

SHEENA = "15551234567"
OMAR = "15557654321"
BSUID = "US.13491208655302741918"
OUR_MESSAGE = "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBIzQTg0RkY0QkJFRUE1NjlEMTQA"  # one the business sent
SHEENA_IDENTITY = {
    "channel": "whatsapp",
    "external_id": SHEENA,
    "scoped_id": None,
    "username": None,
    "display_name": "Sheena Nelson",
    "phone": "+15551234567",
}
SHEENA_CONTACT = {
    "name": "Sheena Nelson",
    "phone": "+15551234567",
    "email": None,
    "source": "inbound",
}


def wamid(n: int) -> str:
    """The id of the n-th captured message from Sheena."""
    return f"wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzRUIwQzc2NUQ5{n:06d}QTFGMDAA"


def lookaside(media_id: str) -> str:
    """The download URL Meta sends with a media id."""
    return (
        f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}"
        "&ext=1767348000&hash=ATtkPlaceholderHash"
    )


def message(n: int, type_: str, sent_at: Any, **fields: Any) -> dict[str, Any]:
    """A stored inbound message row from Sheena; `text`, `media` and `meta` default to None."""
    return {
        "direction": "in",
        "provider_message_id": wamid(n),
        "type": type_,
        "text": fields.get("text"),
        "media": fields.get("media"),
        "meta": fields.get("meta"),
        "sent_at": sent_at,
        "sender": SHEENA,
    }


GRACE_CARD = {
    "addresses": [
        {
            "city": "Menlo Park",
            "country": "United States",
            "country_code": "us",
            "state": "CA",
            "street": "1 Hacker Way",
            "type": "WORK",
            "zip": "94025",
        }
    ],
    "birthday": "1990-04-12",
    "emails": [{"email": "grace@example.com", "type": "WORK"}],
    "name": {"formatted_name": "Grace Hopper", "first_name": "Grace", "last_name": "Hopper"},
    "org": {"company": "Example Corp", "department": "Purchasing", "title": "Buyer"},
    "phones": [{"phone": "+1 (555) 765-4321", "wa_id": "15557654321", "type": "CELL"}],
    "urls": [{"url": "https://example.com/grace", "type": "WORK"}],
}
STORED = {
    "text": message(1, "text", at(10, 0), text="Hi, has my order #1001 shipped?"),
    "image": message(
        2,
        "image",
        at(10, 1),
        text="The box arrived broken",
        media=[
            {
                "kind": "image",
                "id": "1479537139650973",
                "mime_type": "image/jpeg",
                "sha256": "bJ3mFKf3VZ8q2oQ9Jd1x4GzYw8c1ZxN2kR7tH5pLs0E=",
                "url": lookaside("1479537139650973"),
            }
        ],
    ),
    "audio": message(
        3,
        "audio",
        at(10, 2),
        media=[
            {
                "kind": "audio",
                "id": "1003383421387256",
                "mime_type": "audio/ogg; codecs=opus",
                "sha256": "4o9Zy3qS7rVbA2gJ0fK1wXnL8cT5mE6hD3pR0uYiQvM=",
                "url": lookaside("1003383421387256"),
            }
        ],
        meta={"voice": True},
    ),
    "video": message(
        4,
        "video",
        at(10, 3),
        text="See the scratch",
        media=[
            {
                "kind": "video",
                "id": "1166846181421424",
                "mime_type": "video/mp4",
                "sha256": "H7a9Kq2vL0xR5sT8uW1yZ3bC6dE9fG2hJ4kL7mN0pQ8=",
                "url": lookaside("1166846181421424"),
            }
        ],
    ),
    "document": message(
        5,
        "document",
        at(10, 4),
        text="Invoice attached",
        media=[
            {
                "kind": "document",
                "id": "1376223850470265",
                "mime_type": "application/pdf",
                "sha256": "Zq1W2e3R4t5Y6u7I8o9P0aSdFgHjKlZxCvBnM1q2W3e=",
                "filename": "invoice-1001.pdf",
                "url": lookaside("1376223850470265"),
            }
        ],
    ),
    "sticker": message(
        6,
        "sticker",
        at(10, 5),
        media=[
            {
                "kind": "sticker",
                "id": "1228233668179112",
                "mime_type": "image/webp",
                "sha256": "Qm9vbGVhblN0aWNrZXJIYXNoVmFsdWVGb3JUZXN0cw0=",
                "url": lookaside("1228233668179112"),
            }
        ],
    ),
    "location": message(
        7,
        "location",
        at(10, 6),
        meta={
            "latitude": 37.483307,
            "longitude": -122.148981,
            "name": "Philz Coffee",
            "address": "1 Hacker Way, Menlo Park, CA 94025",
        },
    ),
    "contacts": message(8, "contact", at(10, 7), meta={"cards": [GRACE_CARD]}),
    "reaction": message(9, "reaction", at(10, 8), meta={"reaction_to": OUR_MESSAGE, "emoji": "👍"}),
    "reaction__removed": message(
        10, "reaction", at(10, 9), meta={"reaction_to": OUR_MESSAGE, "emoji": ""}
    ),
    "interactive__button_reply": message(
        11,
        "interactive",
        at(10, 10),
        text="Track my order",
        meta={"reply_to": OUR_MESSAGE, "interactive": "button_reply", "id": "track-order"},
    ),
    "interactive__list_reply": message(
        12,
        "interactive",
        at(10, 11),
        text="Size L",
        meta={
            "reply_to": OUR_MESSAGE,
            "interactive": "list_reply",
            "id": "size-l",
            "description": "Chest 104-110 cm",
        },
    ),
    "button": message(
        13,
        "interactive",
        at(10, 12),
        text="Stop promotions",
        meta={"reply_to": OUR_MESSAGE, "interactive": "button", "payload": "STOP_PROMOTIONS"},
    ),
    "unsupported": message(
        14,
        "unsupported",
        at(10, 13),
        meta={
            "kind": "unsupported",
            "errors": [
                {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."},
                }
            ],
            "unsupported_type": "poll_creation",
        },
    ),
    "edit": message(
        15,
        "text",
        at(10, 14),
        text="Hi, has my order #1002 shipped?",
        meta={"edit_of": wamid(1), "edited_at": "2026-01-01T10:14:00+00:00"},
    ),
}
IGNORED = ["revoke"]
# Statuses of messages we sent: here for messages we do not know; applied in
# tests/gateway/api/test_statuses.py.
STATUSES = {
    "status__sent": "sent",
    "status__delivered": "delivered",
    "status__read": "read",
    "status__failed": "failed",
}
# Fixtures whose whole expected result is written in a test of their own below.
OWN_TESTS = [
    "account_update",
    "batch__two_messages",
    "text__bsuid_with_phone",
    "text__bsuid_without_phone",
    "text__brazil_without_ninth_digit",  # tests/gateway/test_phone_variants.py
    "text__mexico_521",  # tests/gateway/test_phone_variants.py
]


def batch_of(*texts: tuple[str, str, str]) -> bytes:
    """A notification with one text message per (sender, wamid, text)."""
    people = {
        sender: {"profile": {"name": f"Client {sender}"}, "wa_id": sender} for sender, *_ in texts
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": list(people.values()),
        "messages": [
            {"from": s, "id": i, "timestamp": "1767261600", "type": "text", "text": {"body": t}}
            for s, i, t in texts
        ],
    }
    change = {"field": "messages", "value": value}
    entry = {"id": "102290129340398", "changes": [change]}
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [entry]})


def test_every_whatsapp_fixture_has_an_expected_result() -> None:
    names = sorted(p.stem for p in (FIXTURES / "whatsapp").iterdir())
    assert names == sorted([*STORED, *IGNORED, *STATUSES, *OWN_TESTS])


@pytest.mark.parametrize("name", STORED)
async def test_message_notification_is_stored(client: TestClient, name: str) -> None:
    wa = await acme("whatsapp")
    assert await answer(await post(client, wa, name)) == OK
    assert await stored() == {
        "messages": [STORED[name]],
        "identities": [SHEENA_IDENTITY],
        "contacts": [SHEENA_CONTACT],
        "held": 0,
    }


@pytest.mark.parametrize("name", STATUSES)
async def test_status_of_a_message_we_do_not_know_is_acknowledged_and_counted(
    client: TestClient, name: str
) -> None:
    wa = await acme("whatsapp")
    assert await answer(await post(client, wa, name)) == OK
    assert await stored() == EMPTY
    assert await metrics(client) == []
    assert await status_metrics(client) == [
        f'contactgate_status_total{{channel="whatsapp",outcome="unknown_message",'
        f'status="{STATUSES[name]}"}} 1.0'
    ]


@pytest.mark.parametrize("name", IGNORED)
async def test_revoke_is_acknowledged_and_not_recorded(client: TestClient, name: str) -> None:
    wa = await acme("whatsapp")
    assert await answer(await post(client, wa, name)) == OK
    assert await stored() == EMPTY
    assert await metrics(client) == [
        'contactgate_inbound_messages_total{channel="whatsapp",outcome="ignored"} 1.0'
    ]


async def test_account_update_is_acknowledged_and_counted_as_unsupported(
    client: TestClient,
) -> None:
    wa = await acme("whatsapp")
    assert await answer(await post(client, wa, "account_update")) == OK
    assert await stored() == EMPTY
    assert await metrics(client) == [
        'contactgate_inbound_messages_total{channel="whatsapp",outcome="unsupported"} 1.0'
    ]


BATCH_MESSAGES = [
    message(19, "text", at(10, 20), text="First message"),
    message(
        21,
        "reaction",
        at(10, 20, 2),
        meta={"reaction_to": OUR_MESSAGE, "emoji": "🙏"},
    ),
    message(22, "text", at(10, 20, 5), text="Second account"),
    {
        "direction": "in",
        "provider_message_id": "wamid.HBgLMTU1NTc2NTQzMjEVAgASGBQzRUIwQzc2NUQ5000020QTFGMDAA",
        "type": "text",
        "text": "مرحبا، أين طلبي؟",
        "media": None,
        "meta": None,
        "sent_at": at(10, 20, 1),
        "sender": OMAR,
    },
]


async def test_batch_stores_every_message_of_every_entry(client: TestClient) -> None:
    wa = await acme("whatsapp")
    assert await answer(await post(client, wa, "batch__two_messages")) == OK
    assert await stored() == {
        "messages": BATCH_MESSAGES,
        "identities": [
            SHEENA_IDENTITY,
            {
                "channel": "whatsapp",
                "external_id": OMAR,
                "scoped_id": None,
                "username": None,
                "display_name": "عمر الفاروق",
                "phone": "+15557654321",
            },
        ],
        "contacts": [
            SHEENA_CONTACT,
            {"name": "عمر الفاروق", "phone": "+15557654321", "email": None, "source": "inbound"},
        ],
        "held": 0,
    }
    assert await metrics(client) == [
        'contactgate_inbound_messages_total{channel="whatsapp",outcome="stored"} 4.0',
    ]
    assert await status_metrics(client) == [
        'contactgate_status_total{channel="whatsapp",outcome="unknown_message",status="delivered"}'
        " 1.0",
        'contactgate_status_total{channel="whatsapp",outcome="unknown_message",status="sent"} 1.0',
    ]


async def test_batch_redelivered_after_one_message_was_stored_stores_the_rest_once(
    client: TestClient,
) -> None:
    wa = await acme("whatsapp")
    first = batch_of((SHEENA, wamid(19), "First message"))
    assert await answer(await h.send_whatsapp(client, wa.key, first)) == OK
    for _ in range(2):
        assert await answer(await post(client, wa, "batch__two_messages")) == OK
    found = [(m["provider_message_id"], m["sender"]) for m in await messages()]
    assert found == [(m["provider_message_id"], m["sender"]) for m in BATCH_MESSAGES]
    assert await counts() == {"contact": 2, "identity": 2, "message": 4, "held_message": 0}


# --- business-scoped user ids -----------------------------------------------------------------


async def test_bsuid_with_phone_is_keyed_by_phone_and_keeps_the_bsuid(client: TestClient) -> None:
    wa = await acme("whatsapp")
    assert await answer(await post(client, wa, "text__bsuid_with_phone")) == OK
    assert await stored() == {
        "messages": [message(17, "text", at(10, 18), text="Hello again")],
        "identities": [SHEENA_IDENTITY | {"scoped_id": BSUID}],
        "contacts": [SHEENA_CONTACT],
        "held": 0,
    }


async def test_bsuid_without_phone_is_keyed_by_the_bsuid(client: TestClient) -> None:
    wa = await acme("whatsapp")
    assert await answer(await post(client, wa, "text__bsuid_without_phone")) == OK
    assert await stored() == {
        "messages": [
            message(18, "text", at(10, 19), text="Hi, I use a username now") | {"sender": BSUID}
        ],
        "identities": [
            {
                "channel": "whatsapp",
                "external_id": BSUID,
                "scoped_id": BSUID,
                "username": "sheena.nelson",
                "display_name": "Sheena Nelson",
                "phone": None,
            }
        ],
        "contacts": [{"name": "Sheena Nelson", "phone": None, "email": None, "source": "inbound"}],
        "held": 0,
    }


async def test_phone_then_bsuid_only_is_one_identity_counted_once(client: TestClient) -> None:
    wa = await acme("whatsapp")
    for name in ("text__bsuid_with_phone", "text__bsuid_without_phone"):
        assert await answer(await post(client, wa, name)) == OK
    assert await identities() == [SHEENA_IDENTITY | {"scoped_id": BSUID}]
    assert [(m["provider_message_id"], m["sender"]) for m in await messages()] == [
        (wamid(17), SHEENA),
        (wamid(18), SHEENA),
    ]
    assert (await plan.usage("acme")).used == 1


async def test_bsuid_only_then_phone_is_one_identity_counted_once(client: TestClient) -> None:
    wa = await acme("whatsapp")
    for name in ("text__bsuid_without_phone", "text__bsuid_with_phone"):
        assert await answer(await post(client, wa, name)) == OK
    assert [(i["external_id"], i["scoped_id"]) for i in await identities()] == [(BSUID, BSUID)]
    assert [(m["provider_message_id"], m["sender"]) for m in await messages()] == [
        (wamid(17), BSUID),
        (wamid(18), BSUID),
    ]
    assert (await plan.usage("acme")).used == 1


async def test_phone_identity_learns_the_bsuid_so_bsuid_only_messages_join_it(
    client: TestClient,
) -> None:
    wa = await acme("whatsapp")
    for name in ("text", "text__bsuid_with_phone", "text__bsuid_without_phone"):
        assert await answer(await post(client, wa, name)) == OK
    assert await identities() == [SHEENA_IDENTITY | {"scoped_id": BSUID}]
    assert [(m["provider_message_id"], m["sender"]) for m in await messages()] == [
        (wamid(1), SHEENA),
        (wamid(17), SHEENA),
        (wamid(18), SHEENA),
    ]
    assert (await plan.usage("acme")).used == 1


# --- bad bodies -------------------------------------------------------------------------------

AT = "entry[0].changes[0].value.messages[0]"


def _one_message(**fields: Any) -> bytes:
    """A notification of one text message with `fields` instead of the valid ones."""
    valid = {"from": SHEENA, "id": "wamid.X", "timestamp": "1767261600", "type": "text"}
    message = valid | {"text": {"body": "hola"}} | fields
    value = {"messages": [{k: v for k, v in message.items() if v is not None}]}
    entry = {"id": "1", "changes": [{"field": "messages", "value": value}]}
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [entry]})


MALFORMED = {
    "empty": (
        b"",
        "body is not valid JSON: Input is a zero-length, empty document: line 1 column 1 (char 0)",
    ),
    "truncated": (
        b'{"object": "whatsapp_business_account", "entry": [',
        "body is not valid JSON: unexpected end of data: line 1 column 51 (char 50)",
    ),
    "array": (b"[]", "body must be a JSON object, got an array"),
    "other-object": (
        b'{"object": "page", "entry": []}',
        "object must be whatsapp_business_account, got 'page'",
    ),
    "no-entry": (b'{"object": "whatsapp_business_account"}', "missing entry"),
    "entry-object": (
        b'{"object": "whatsapp_business_account", "entry": {}}',
        "entry must be an array, got an object",
    ),
    "change-integer": (
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [7]}]}',
        "entry[0].changes[0] must be an object, got an integer",
    ),
    "body-integer": (
        _one_message(text={"body": 42}),
        f"{AT}.text.body must be a string, got an integer",
    ),
    "text-string": (_one_message(text="hola"), f"{AT}.text must be an object, got a string"),
    "no-sender": (_one_message(**{"from": None}), f"missing {AT}.from and {AT}.from_user_id"),
    "float-timestamp": (
        _one_message(timestamp=1.5),
        f"{AT}.timestamp must be a Unix timestamp, got a number",
    ),
    "latitude-word": (
        _one_message(type="location", location={"latitude": "north", "longitude": 1}),
        f"{AT}.location.latitude must be a number, got a string",
    ),
    "no-id": (_one_message(id=None), f"missing {AT}.id"),
}


async def test_malformed_notifications_are_400s_naming_the_field_and_store_nothing(
    client: TestClient,
) -> None:
    wa = await acme("whatsapp")
    answers = {
        case: await answer(await h.send_whatsapp(client, wa.key, body))
        for case, (body, _) in MALFORMED.items()
    }
    assert answers == {
        case: (400, {"error": "rejected", "detail": detail})
        for case, (_, detail) in MALFORMED.items()
    }
    assert await counts() == NOTHING


async def test_bad_message_anywhere_in_a_batch_stores_none_of_it(client: TestClient) -> None:
    wa = await acme("whatsapp")
    payload = orjson.loads(load_fixture("whatsapp", "batch__two_messages"))
    payload["entry"][1]["changes"][0]["value"]["messages"][0]["text"] = {"body": None}
    resp = await h.send_whatsapp(client, wa.key, orjson.dumps(payload))
    assert await answer(resp) == (
        400,
        {"error": "rejected", "detail": "missing entry[1].changes[0].value.messages[0].text.body"},
    )
    assert await counts() == NOTHING


async def test_three_megabyte_batch_is_stored(client: TestClient) -> None:
    wa = await acme("whatsapp")
    texts = [(SHEENA, wamid(900 + n), f"{n}" + "ñ" * 500_000) for n in range(3)]
    body = batch_of(*texts)
    assert 3_000_000 < len(body) < whatsapp.MAX_BODY
    assert await answer(await h.send_whatsapp(client, wa.key, body)) == OK
    found = [(m["sender"], m["provider_message_id"], m["text"]) for m in await messages()]
    assert found == texts
