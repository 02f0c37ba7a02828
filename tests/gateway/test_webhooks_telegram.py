"""Telegram webhooks through real HTTP: every captured update, the secret token, bad bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway.channels import telegram
from tests import helpers as h
from tests.gateway.test_webhooks_common import EMPTY, NOTHING, OK, acme, answer, at, counts, stored
from tests.gateway.test_webhooks_common import deliver_fixture as post
from tests.gateway.test_webhooks_common import inbound_metrics as metrics
from tests.signing import FIXTURES, load_fixture, telegram_headers

ADA = "111222333"
CHAT = 111222333
ADA_IDENTITY = {
    "channel": "telegram",
    "external_id": ADA,
    "scoped_id": None,
    "username": "ada_l",
    "display_name": "Ada Lovelace",
    "phone": None,
}
ADA_CONTACT = {"name": "Ada Lovelace", "phone": None, "email": None, "source": "inbound"}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def message(update_id: int, type_: str, sent_at: Any, **fields: Any) -> dict[str, Any]:
    """A stored inbound message row from Ada; `text`, `media` and `meta` default to None."""
    return {
        "direction": "in",
        "provider_message_id": str(update_id),
        "type": type_,
        "text": fields.get("text"),
        "media": fields.get("media"),
        "meta": fields.get("meta"),
        "sent_at": sent_at,
        "sender": ADA,
    }


def in_chat(message_id: int, **meta: Any) -> dict[str, Any]:
    """Meta of a message in Ada's private chat."""
    return {"message_id": message_id, "chat_id": CHAT, **meta}


STORED = {
    "message__text": message(
        900000001, "text", at(9, 0), text="Hello, I need help with my order #1001", meta=in_chat(42)
    ),
    "message__reply": message(
        900000002, "text", at(9, 2), text="The one from Tuesday", meta=in_chat(45, reply_to=44)
    ),
    "message__photo": message(
        900000003,
        "image",
        at(9, 3),
        text="The box arrived broken",
        media=[{"kind": "photo", "file_id": "AgACAgQAAxkBAAIBLmZ1large", "file_size": 81532}],
        meta=in_chat(46),
    ),
    "message__voice": message(
        900000004,
        "audio",
        at(9, 4),
        media=[
            {
                "kind": "voice",
                "file_id": "AwACAgQAAxkBAAIBL2Z1voice",
                "mime_type": "audio/ogg",
                "file_size": 15872,
            }
        ],
        meta=in_chat(47),
    ),
    "message__audio": message(
        900000005,
        "audio",
        at(9, 5),
        media=[
            {
                "kind": "audio",
                "file_id": "CQACAgQAAxkBAAIBMGZ1audio",
                "mime_type": "audio/mpeg",
                "file_name": "hold-music.mp3",
                "file_size": 2964210,
            }
        ],
        meta=in_chat(48),
    ),
    "message__video": message(
        900000006,
        "video",
        at(9, 6),
        text="See the scratch at 0:05",
        media=[
            {
                "kind": "video",
                "file_id": "BAACAgQAAxkBAAIBMWZ1video",
                "mime_type": "video/mp4",
                "file_name": "unboxing.mp4",
                "file_size": 3145728,
            }
        ],
        meta=in_chat(49),
    ),
    "message__video_note": message(
        900000007,
        "video",
        at(9, 7),
        media=[{"kind": "video_note", "file_id": "DQACAgQAAxkBAAIBMmZ1note", "file_size": 412345}],
        meta=in_chat(50),
    ),
    "message__document": message(
        900000008,
        "document",
        at(9, 8),
        media=[
            {
                "kind": "document",
                "file_id": "BQACAgQAAxkBAAIBM2Z1doc",
                "mime_type": "application/pdf",
                "file_name": "invoice-1001.pdf",
                "file_size": 48213,
            }
        ],
        meta=in_chat(51),
    ),
    "message__animation": message(
        900000009,
        "video",
        at(9, 9),
        media=[
            {
                "kind": "animation",
                "file_id": "CgACAgQAAxkBAAIBNGZ1gif",
                "mime_type": "video/mp4",
                "file_name": "thanks.mp4",
                "file_size": 98304,
            }
        ],
        meta=in_chat(52),
    ),
    "message__sticker": message(
        900000010,
        "sticker",
        at(9, 10),
        text="👍",
        media=[{"kind": "sticker", "file_id": "CAACAgIAAxkBAAIBNWZ1stick", "file_size": 22016}],
        meta=in_chat(53),
    ),
    "message__location": message(
        900000011,
        "location",
        at(9, 11),
        meta=in_chat(54, latitude=52.520008, longitude=13.404954),
    ),
    "message__venue": message(
        900000012,
        "location",
        at(9, 12),
        meta=in_chat(
            55,
            latitude=52.516275,
            longitude=13.377704,
            title="Brandenburger Tor",
            address="Pariser Platz, 10117 Berlin",
        ),
    ),
    "message__contact": message(
        900000013,
        "contact",
        at(9, 13),
        meta=in_chat(
            56,
            card={
                "phone_number": "+15551234567",
                "first_name": "Grace",
                "last_name": "Hopper",
                "user_id": 444555666,
            },
        ),
    ),
    "message__poll": message(900000014, "unsupported", at(9, 14), meta=in_chat(57, kind="poll")),
    "message__dice": message(900000015, "unsupported", at(9, 15), meta=in_chat(58, kind="dice")),
    "edited_message__text": message(
        900000017,
        "text",
        at(9, 0),
        text="Hello, I need help with my order #1002",
        meta=in_chat(42, edit_of=42, edited_at="2026-01-01T09:17:00+00:00"),
    ),
    "message_reaction": message(
        900000018,
        "reaction",
        at(9, 18),
        meta={"reaction_to": 60, "chat_id": CHAT, "emoji": ["❤"]},
    ),
    "callback_query": message(
        900000020,
        "interactive",
        at(12, 0),  # a callback query has no date: received "now", frozen below
        text="track:1001",
        meta={"callback_query_id": "4382bfdwdsb323b2d9", "message_id": 62, "chat_id": CHAT},
    ),
    "group_message": message(
        900000022,
        "text",
        at(9, 22),
        text="Anyone else waiting for a refund?",
        meta={
            "message_id": 1207,
            "chat_id": -1001234567890,
            "chat_type": "supergroup",
            "chat_title": "Acme customers",
        },
    ),
}
# Stored too, and the sender's own card vouches their phone: tests/gateway/test_channel_details.py
VOUCHING = ["message__contact__own"]
# Service messages, channel posts, the bot's own membership, anonymous reactions.
IGNORED = [
    "message__pinned_message",
    "channel_post",
    "my_chat_member",
    "message_reaction__anonymous",
]


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram, "utc_now", lambda: at(12, 0))


def test_every_telegram_fixture_has_an_expected_result() -> None:
    names = sorted(p.stem for p in (FIXTURES / "telegram").iterdir())
    assert names == sorted([*STORED, *IGNORED, *VOUCHING])


@pytest.mark.parametrize("name", STORED)
async def test_message_update_is_stored(client: TestClient, name: str) -> None:
    tg = await acme("telegram")
    assert await answer(await post(client, tg, name)) == OK
    assert await stored() == {
        "messages": [STORED[name]],
        "identities": [ADA_IDENTITY],
        "contacts": [ADA_CONTACT],
        "held": 0,
    }


@pytest.mark.parametrize("name", IGNORED)
async def test_ignorable_update_is_acknowledged_and_not_recorded(
    client: TestClient, name: str
) -> None:
    tg = await acme("telegram")
    assert await answer(await post(client, tg, name)) == OK
    assert await stored() == EMPTY
    assert await metrics(client) == [
        'contactgate_inbound_messages_total{channel="telegram",outcome="ignored"} 1.0'
    ]


async def test_unknown_update_kind_is_acknowledged_and_counted_as_unsupported(
    client: TestClient,
) -> None:
    tg = await acme("telegram")
    body = orjson.dumps({"update_id": 900000099, "guest_message": {"message_id": 1}})
    assert await answer(await h.send_telegram(client, tg.key, body)) == OK
    assert await stored() == EMPTY
    assert await metrics(client) == [
        'contactgate_inbound_messages_total{channel="telegram",outcome="unsupported"} 1.0'
    ]


# --- secret token -----------------------------------------------------------------------------

# Telegram's token is a shared secret, not a signature of the body: there is no tampering case.
TOKEN_CASES = {
    "missing": ({}, "missing X-Telegram-Bot-Api-Secret-Token"),
    "empty": ({SECRET_HEADER: ""}, "wrong X-Telegram-Bot-Api-Secret-Token"),
    "wrong-value": ({SECRET_HEADER: "tg-secret-tokeN"}, "wrong X-Telegram-Bot-Api-Secret-Token"),
    "another-secret": (
        telegram_headers("another-bots-secret"),
        "wrong X-Telegram-Bot-Api-Secret-Token",
    ),
}


async def test_requests_without_the_secret_token_are_401s_and_store_nothing(
    client: TestClient,
) -> None:
    tg = await acme("telegram")
    body = load_fixture("telegram", "message__text")
    url = f"/webhooks/{tg.key}"
    answers = {
        case: await answer(await client.post(url, data=body, headers=headers))
        for case, (headers, _) in TOKEN_CASES.items()
    }
    assert answers == {
        case: (401, {"error": "rejected", "detail": detail})
        for case, (_, detail) in TOKEN_CASES.items()
    }
    assert await counts() == NOTHING


async def test_get_on_a_telegram_channel_is_405(client: TestClient) -> None:
    tg = await acme("telegram")
    resp = await client.get(f"/webhooks/{tg.key}", params={"hub.challenge": "1"})
    assert await answer(resp) == (
        405,
        {"error": "method_not_allowed", "detail": "telegram has no GET handshake"},
    )


# --- bad bodies -------------------------------------------------------------------------------


def _private(**fields: Any) -> bytes:
    """An update whose private-chat message has `fields` instead of the valid ones."""
    valid = {"message_id": 9, "date": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 5}}
    return orjson.dumps({"update_id": 1, "message": valid | {"text": "hola"} | fields})


MALFORMED = {
    "empty": (
        b"",
        "body is not valid JSON: Input is a zero-length, empty document: line 1 column 1 (char 0)",
    ),
    "truncated": (
        b'{"update_id": 1,',
        "body is not valid JSON: unexpected end of data: line 1 column 17 (char 16)",
    ),
    "array": (b"[1, 2]", "body must be a JSON object, got an array"),
    "string": (b'"update"', "body must be a JSON object, got a string"),
    "no-update-id": (b"{}", "missing update_id"),
    "bool-update-id": (
        b'{"update_id": true, "message": {}}',
        "update_id must be an integer or a string, got a boolean",
    ),
    "message-string": (
        b'{"update_id": 1, "message": "hola"}',
        "message must be an object, got a string",
    ),
    "text-array": (_private(text=["hola"]), "message.text must be a string, got an array"),
    "date-word": (_private(date="soon"), "message.date: bad timestamp 'soon'"),
    "from-id-object": (
        _private(**{"from": {"id": {}}}),
        "message.from.id must be an integer or a string, got an object",
    ),
    "no-chat-type": (_private(chat={"id": 5}), "missing message.chat.type"),
}


async def test_malformed_updates_are_400s_naming_the_problem_and_store_nothing(
    client: TestClient,
) -> None:
    tg = await acme("telegram")
    answers = {
        case: await answer(await h.send_telegram(client, tg.key, body))
        for case, (body, _) in MALFORMED.items()
    }
    assert answers == {
        case: (400, {"error": "rejected", "detail": detail})
        for case, (_, detail) in MALFORMED.items()
    }
    assert await counts() == NOTHING


async def test_chunked_body_over_one_mebibyte_is_a_413(client: TestClient) -> None:
    tg = await acme("telegram")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b" " * 65536

    headers = telegram_headers(h.TG_SECRET)
    resp = await client.post(f"/webhooks/{tg.key}", data=chunks(), headers=headers)
    assert await answer(resp) == (
        413,
        {"error": "too_large", "detail": "body over 1048576 bytes"},
    )
    assert await counts() == NOTHING


async def test_body_just_under_the_limit_is_stored(client: TestClient) -> None:
    tg = await acme("telegram")
    text = "x" * (telegram.MAX_BODY - 300)
    body = h.telegram_update(5, text=text, update_id=7)
    assert len(body) <= telegram.MAX_BODY
    assert await answer(await h.send_telegram(client, tg.key, body)) == OK
    assert [(m["provider_message_id"], m["text"]) for m in (await stored())["messages"]] == [
        ("7", text)
    ]
