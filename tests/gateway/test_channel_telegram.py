"""Telegram channel: verify() and parse() against captured-format Bot API updates."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import telegram
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookRequest,
)
from tests.signing import load_fixture, telegram_headers

SECRETS = {"secret_token": "T0p-secret_token-123"}
ADA: dict[str, Any] = {
    "external_id": "111222333",
    "username": "ada_l",
    "display_name": "Ada Lovelace",
    "language": "en",
}
CHAT = 111222333
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 1, 1, hour, minute, tzinfo=UTC)


def request(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    url = "https://gw.example.com/hooks/telegram/7"
    return WebhookRequest("POST", url, headers or {}, {}, body)


def parse_fixture(name: str) -> ParseResult:
    return telegram.parse("telegram", request(load_fixture("telegram", f"{name}.json")))


def parse_json(update: Any) -> ParseResult:
    return telegram.parse("telegram", request(json.dumps(update).encode()))


# --- verify -----------------------------------------------------------------------------------


def test_verify_accepts_the_configured_secret_token() -> None:
    body = load_fixture("telegram", "message__text.json")
    telegram.verify(SECRETS, request(body, telegram_headers(SECRETS["secret_token"])))


def test_verify_refuses_a_request_without_the_header() -> None:
    with pytest.raises(SignatureError, match="missing X-Telegram-Bot-Api-Secret-Token"):
        telegram.verify(SECRETS, request(b"{}"))


def test_verify_refuses_a_wrong_token() -> None:
    with pytest.raises(SignatureError, match="wrong X-Telegram-Bot-Api-Secret-Token"):
        telegram.verify(SECRETS, request(b"{}", telegram_headers("guess")))


def test_verify_refuses_the_token_of_another_bot() -> None:
    headers = telegram_headers("Other-bot_secret-456")
    with pytest.raises(SignatureError, match="wrong"):
        telegram.verify(SECRETS, request(b"{}", headers))


def test_verify_refuses_every_request_when_no_token_is_configured() -> None:
    with pytest.raises(SignatureError, match="no secret_token configured"):
        telegram.verify({}, request(b"{}", telegram_headers("")))


def test_verify_cannot_see_a_tampered_body() -> None:
    # Telegram's token authenticates the sender only; integrity of the body rests on TLS.
    body = load_fixture("telegram", "message__text.json").replace(b"Hello", b"Hijack")
    telegram.verify(SECRETS, request(body, telegram_headers(SECRETS["secret_token"])))


# --- one test per fixture ---------------------------------------------------------------------


def test_message__text() -> None:
    assert parse_fixture("message__text") == ParseResult(
        messages=[
            Inbound(
                external_id="111222333",
                provider_message_id="900000001",
                type="text",
                sent_at=at(9, 0),
                text="Hello, I need help with my order #1001",
                username="ada_l",
                display_name="Ada Lovelace",
                language="en",
                meta={"message_id": 42, "chat_id": CHAT},
            )
        ],
        ignored=0,
    )


def test_message__reply() -> None:
    assert parse_fixture("message__reply") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000002",
                type="text",
                sent_at=at(9, 2),
                text="The one from Tuesday",
                meta={"message_id": 45, "chat_id": CHAT, "reply_to": 44},
            )
        ]
    )


def test_message__photo() -> None:
    assert parse_fixture("message__photo") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000003",
                type="image",
                sent_at=at(9, 3),
                text="The box arrived broken",
                media=[
                    {"kind": "photo", "file_id": "AgACAgQAAxkBAAIBLmZ1large", "file_size": 81532}
                ],
                meta={"message_id": 46, "chat_id": CHAT},
            )
        ]
    )


def test_message__voice() -> None:
    assert parse_fixture("message__voice") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000004",
                type="audio",
                sent_at=at(9, 4),
                media=[
                    {
                        "kind": "voice",
                        "file_id": "AwACAgQAAxkBAAIBL2Z1voice",
                        "mime_type": "audio/ogg",
                        "file_size": 15872,
                    }
                ],
                meta={"message_id": 47, "chat_id": CHAT},
            )
        ]
    )


def test_message__audio() -> None:
    assert parse_fixture("message__audio") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000005",
                type="audio",
                sent_at=at(9, 5),
                media=[
                    {
                        "kind": "audio",
                        "file_id": "CQACAgQAAxkBAAIBMGZ1audio",
                        "mime_type": "audio/mpeg",
                        "file_name": "hold-music.mp3",
                        "file_size": 2964210,
                    }
                ],
                meta={"message_id": 48, "chat_id": CHAT},
            )
        ]
    )


def test_message__video() -> None:
    assert parse_fixture("message__video") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000006",
                type="video",
                sent_at=at(9, 6),
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
                meta={"message_id": 49, "chat_id": CHAT},
            )
        ]
    )


def test_message__video_note() -> None:
    assert parse_fixture("message__video_note") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000007",
                type="video",
                sent_at=at(9, 7),
                media=[
                    {
                        "kind": "video_note",
                        "file_id": "DQACAgQAAxkBAAIBMmZ1note",
                        "file_size": 412345,
                    }
                ],
                meta={"message_id": 50, "chat_id": CHAT},
            )
        ]
    )


def test_message__document() -> None:
    assert parse_fixture("message__document") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000008",
                type="document",
                sent_at=at(9, 8),
                media=[
                    {
                        "kind": "document",
                        "file_id": "BQACAgQAAxkBAAIBM2Z1doc",
                        "mime_type": "application/pdf",
                        "file_name": "invoice-1001.pdf",
                        "file_size": 48213,
                    }
                ],
                meta={"message_id": 51, "chat_id": CHAT},
            )
        ]
    )


def test_message__animation() -> None:
    assert parse_fixture("message__animation") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000009",
                type="video",
                sent_at=at(9, 9),
                media=[
                    {
                        "kind": "animation",
                        "file_id": "CgACAgQAAxkBAAIBNGZ1gif",
                        "mime_type": "video/mp4",
                        "file_name": "thanks.mp4",
                        "file_size": 98304,
                    }
                ],
                meta={"message_id": 52, "chat_id": CHAT},
            )
        ]
    )


def test_message__sticker() -> None:
    assert parse_fixture("message__sticker") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000010",
                type="sticker",
                sent_at=at(9, 10),
                text="👍",
                media=[
                    {
                        "kind": "sticker",
                        "file_id": "CAACAgIAAxkBAAIBNWZ1stick",
                        "file_size": 22016,
                    }
                ],
                meta={"message_id": 53, "chat_id": CHAT},
            )
        ]
    )


def test_message__location() -> None:
    assert parse_fixture("message__location") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000011",
                type="location",
                sent_at=at(9, 11),
                meta={
                    "message_id": 54,
                    "chat_id": CHAT,
                    "latitude": 52.520008,
                    "longitude": 13.404954,
                },
            )
        ]
    )


def test_message__venue() -> None:
    assert parse_fixture("message__venue") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000012",
                type="location",
                sent_at=at(9, 12),
                meta={
                    "message_id": 55,
                    "chat_id": CHAT,
                    "latitude": 52.516275,
                    "longitude": 13.377704,
                    "title": "Brandenburger Tor",
                    "address": "Pariser Platz, 10117 Berlin",
                },
            )
        ]
    )


def test_message__contact() -> None:
    assert parse_fixture("message__contact") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000013",
                type="contact",
                sent_at=at(9, 13),
                meta={
                    "message_id": 56,
                    "chat_id": CHAT,
                    "card": {
                        "phone_number": "+15551234567",
                        "first_name": "Grace",
                        "last_name": "Hopper",
                        "user_id": 444555666,
                    },
                },
            )
        ]
    )


def test_message__poll() -> None:
    assert parse_fixture("message__poll") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000014",
                type="unsupported",
                sent_at=at(9, 14),
                meta={"message_id": 57, "chat_id": CHAT, "kind": "poll"},
            )
        ]
    )


def test_message__dice() -> None:
    assert parse_fixture("message__dice") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000015",
                type="unsupported",
                sent_at=at(9, 15),
                meta={"message_id": 58, "chat_id": CHAT, "kind": "dice"},
            )
        ]
    )


def test_message__pinned_message() -> None:
    assert parse_fixture("message__pinned_message") == ParseResult(ignored=1)


def test_edited_message__text() -> None:
    assert parse_fixture("edited_message__text") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000017",
                type="text",
                sent_at=at(9, 0),
                text="Hello, I need help with my order #1002",
                meta={
                    "message_id": 42,
                    "chat_id": CHAT,
                    "edit_of": 42,
                    "edited_at": "2026-01-01T09:17:00+00:00",
                },
            )
        ]
    )


def test_message_reaction() -> None:
    assert parse_fixture("message_reaction") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000018",
                type="reaction",
                sent_at=at(9, 18),
                meta={"reaction_to": 60, "chat_id": CHAT, "emoji": ["\u2764"]},
            )
        ]
    )


def test_message_reaction__anonymous() -> None:
    assert parse_fixture("message_reaction__anonymous") == ParseResult(ignored=1)


def test_callback_query(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram, "utc_now", lambda: NOW)
    assert parse_fixture("callback_query") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000020",
                type="interactive",
                sent_at=NOW,
                text="track:1001",
                meta={"callback_query_id": "4382bfdwdsb323b2d9", "message_id": 62, "chat_id": CHAT},
            )
        ]
    )


def test_my_chat_member() -> None:
    assert parse_fixture("my_chat_member") == ParseResult(ignored=1)


def test_group_message() -> None:
    assert parse_fixture("group_message") == ParseResult(
        messages=[
            Inbound(
                **ADA,
                provider_message_id="900000022",
                type="text",
                sent_at=at(9, 22),
                text="Anyone else waiting for a refund?",
                meta={
                    "message_id": 1207,
                    "chat_id": -1001234567890,
                    "chat_type": "supergroup",
                    "chat_title": "Acme customers",
                },
            )
        ]
    )


def test_message__contact__own() -> None:
    [message] = parse_fixture("message__contact__own").messages
    assert (message.external_id, message.phone, message.type) == (
        "111222333",
        "+15551234567",
        "contact",
    )
    assert message.meta["card"]["user_id"] == 111222333


def test_a_message_posted_as_the_group_is_ignored() -> None:
    update = private_message(
        chat={"id": -100, "title": "Acme", "type": "supergroup"},
        sender_chat={"id": -100, "title": "Acme", "type": "supergroup"},
        text="Announcement",
    )
    assert parse_json(update) == ParseResult(ignored=1)


def test_channel_post() -> None:
    assert parse_fixture("channel_post") == ParseResult(ignored=1)


# --- shapes the fixtures do not cover ---------------------------------------------------------


def private_message(**fields: Any) -> dict[str, Any]:
    message = {
        "message_id": 1,
        "from": {"id": 111222333, "is_bot": False, "first_name": "Ada"},
        "chat": {"id": 111222333, "first_name": "Ada", "type": "private"},
        "date": 1767258000,
    }
    return {"update_id": 5, "message": message | fields}


def test_an_update_of_an_unknown_kind_is_unsupported() -> None:
    update = {"update_id": 5, "guest_message": {"text": "hi"}}
    assert parse_json(update) == ParseResult(unsupported=["guest_message"])


def test_an_update_with_no_payload_is_unsupported() -> None:
    assert parse_json({"update_id": 5}) == ParseResult(unsupported=["empty"])


def test_a_service_message_in_a_private_chat_is_ignored() -> None:
    update = private_message(users_shared={"request_id": 1, "users": [{"user_id": 2}]})
    assert parse_json(update) == ParseResult(ignored=1)


def test_a_future_message_kind_is_unsupported_under_its_own_name() -> None:
    [message] = parse_json(private_message(hologram={"id": "h1"})).messages
    assert (message.type, message.meta["kind"]) == ("unsupported", "hologram")


def test_a_callback_query_on_a_group_keyboard_is_ignored() -> None:
    query = {
        "id": "77",
        "from": {"id": 111222333, "is_bot": False, "first_name": "Ada"},
        "message": {"message_id": 3, "chat": {"id": -100, "type": "group"}, "date": 0},
        "chat_instance": "1",
        "data": "x",
    }
    assert parse_json({"update_id": 5, "callback_query": query}) == ParseResult(ignored=1)


def test_a_user_without_names_has_no_display_name() -> None:
    update = private_message(text="hi")
    update["message"]["from"] = {"id": 42, "is_bot": False, "first_name": ""}
    [message] = parse_json(update).messages
    assert (message.external_id, message.display_name, message.username) == ("42", None, None)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks \U0001f64f\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467",
        "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u202eevil\u202c",
        "NUL\x00inside",
        "e\u0301\u0301\u0301 \ufeff zero\u200bwidth",
        "",
    ],
)
def test_odd_unicode_text_is_kept_exactly(text: str) -> None:
    [message] = parse_json(private_message(text=text)).messages
    assert message.text == text


# --- malformed bodies: PayloadError naming the field, never another exception ------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"", "body is not valid JSON"),
        (b"\xff\xfe{}", "body is not valid JSON"),
        (b'{"update_id": 1, "message": {"text": "\\ud800"}}', "body is not valid JSON"),
        (b"[]", "body must be a JSON object, got an array"),
        (b"null", "body must be a JSON object, got null"),
        (b'"update"', "body must be a JSON object, got a string"),
        (b"[" * 5000 + b"]" * 5000, "body is not valid JSON"),
        (b'{"message": {}}', "missing update_id"),
        (b'{"update_id": true, "message": {}}', "update_id must be an integer or a string"),
        (b'{"update_id": 1.5, "message": {}}', "update_id must be an integer or a string"),
        (b'{"update_id": 1e400}', "body is not valid JSON"),
        (b'{"update_id": 1, "message": "hi"}', "message must be an object, got a string"),
        (b'{"update_id": 1, "message": {"text": "hi"}}', "missing message.chat"),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        telegram.parse("telegram", request(body))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"from": "x", "text": "hi"}, "message.from must be an object, got a string"),
        ({"from": None, "text": "hi"}, "missing message.from"),
        ({"from": {"first_name": "Ada"}, "text": "hi"}, "missing message.from.id"),
        ({"from": {"id": [1]}, "text": "hi"}, "message.from.id must be an integer or a string"),
        ({"date": None, "text": "hi"}, "missing message.date"),
        ({"date": "yesterday", "text": "hi"}, "message.date: bad timestamp 'yesterday'"),
        ({"date": 10**17, "text": "hi"}, "message.date: bad timestamp"),
        ({"date": 10**30, "text": "hi"}, "message.date must be a Unix timestamp, got a number"),
        ({"date": -(10**15), "text": "hi"}, "message.date: bad timestamp"),
        ({"chat": {"id": 1}, "text": "hi"}, "missing message.chat.type"),
        ({"chat": {"type": "private", "id": "1"}, "text": "hi"}, "message.chat.id must be"),
        ({"message_id": "1", "text": "hi"}, "message.message_id must be an integer"),
        ({"text": 5}, "message.text must be a string, got an integer"),
        ({"text": "hi", "reply_to_message": {}}, "missing message.reply_to_message.message_id"),
        ({"photo": "big"}, "message.photo must be an array, got a string"),
        ({"photo": ["x"]}, r"message.photo\[0\] must be an object"),
        ({"photo": [{"width": 1}]}, r"missing message.photo\[0\].file_id"),
        ({"voice": {"file_id": 7}}, "message.voice.file_id must be a string"),
        ({"document": {"file_id": "d", "file_size": "big"}}, "message.document.file_size must"),
        ({"location": {"latitude": "52.5", "longitude": 1}}, "message.location.latitude must"),
        ({"venue": {"location": {"latitude": 1, "longitude": 2}}}, "missing message.venue.title"),
        ({"contact": {"first_name": "G"}}, "missing message.contact.phone_number"),
        ({"contact": {"phone_number": "1", "user_id": "9"}}, "message.contact.user_id must be"),
        ({"caption": ["x"], "dice": {}}, "message.caption must be a string, got an array"),
    ],
)
def test_malformed_messages(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_json(private_message(**fields))


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (
            {"update_id": 1, "edited_message": private_message(text="x")["message"]},
            "missing edited_message.edit_date",
        ),
        (
            {"update_id": 1, "message_reaction": {"chat": {"type": "private"}, "user": 7}},
            "message_reaction.user must be an object, got an integer",
        ),
        (
            {
                "update_id": 1,
                "message_reaction": {
                    "chat": {"type": "private", "id": 1},
                    "user": {"id": 1},
                    "message_id": 2,
                    "date": 1767258000,
                    "new_reaction": [{"type": "emoji"}],
                },
            },
            r"missing message_reaction.new_reaction.emoji",
        ),
        ({"update_id": 1, "callback_query": {"from": {"id": 1}}}, "missing callback_query.id"),
        (
            {"update_id": 1, "callback_query": {"id": "q", "from": {"id": 1}, "data": 5}},
            "callback_query.data must be a string",
        ),
    ],
)
def test_malformed_updates(update: dict[str, Any], reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_json(update)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
KEYS = st.sampled_from(["message", "edited_message", "message_reaction", "callback_query"])
FIELDS = st.sampled_from(
    ["from", "chat", "date", "text", "photo", "voice", "venue", "contact", "user", "message_id"]
)


@settings(max_examples=300, deadline=None)
@given(
    key=KEYS,
    fields=st.dictionaries(FIELDS, JSON | st.just({"type": "private", "id": 1})),
    update_id=JSON,
)
def test_any_json_fails_only_with_payload_error(
    key: str, fields: dict[str, Any], update_id: Any
) -> None:
    base = private_message()["message"]
    with contextlib.suppress(PayloadError):
        parse_json({"update_id": update_id, key: base | fields})
