"""WhatsApp channel: parse() against Cloud API webhook payloads (verify() and handshake(), the
same for every Meta kind: tests/gateway/test_channel_meta_hub.py)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import whatsapp
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    StatusUpdate,
    WebhookRequest,
)
from tests.signing import load_fixture

URL = "https://gw.example.com/hooks/whatsapp/3"
SHEENA: dict[str, Any] = {
    "external_id": "15551234567",
    "phone": "+15551234567",
    "display_name": "Sheena Nelson",
}
BSUID = "US.13491208655302741918"
OUR_MESSAGE = "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBIzQTg0RkY0QkJFRUE1NjlEMTQA"


def wamid(n: int) -> str:
    return f"wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzRUIwQzc2NUQ5{n:06d}QTFGMDAA"


def media_url(media_id: str) -> str:
    return (
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
        f"?mid={media_id}&ext=1767348000&hash=ATtkPlaceholderHash"
    )


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 1, 1, hour, minute, second, tzinfo=UTC)


def post(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest("POST", URL, headers or {}, {}, body)


def parse_fixture(name: str) -> ParseResult:
    return whatsapp.parse("whatsapp", post(load_fixture("whatsapp", f"{name}.json")))


def parse_json(payload: Any) -> ParseResult:
    return whatsapp.parse("whatsapp", post(json.dumps(payload).encode()))


# --- one test per fixture ---------------------------------------------------------------------


def test_text() -> None:
    assert parse_fixture("text") == ParseResult(
        messages=[
            Inbound(
                external_id="15551234567",
                provider_message_id=wamid(1),
                type="text",
                sent_at=at(10, 0),
                text="Hi, has my order #1001 shipped?",
                display_name="Sheena Nelson",
                phone="+15551234567",
            )
        ],
        ignored=0,
    )


def test_image() -> None:
    assert parse_fixture("image") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(2),
                type="image",
                sent_at=at(10, 1),
                text="The box arrived broken",
                media=[
                    {
                        "kind": "image",
                        "id": "1479537139650973",
                        "mime_type": "image/jpeg",
                        "sha256": "bJ3mFKf3VZ8q2oQ9Jd1x4GzYw8c1ZxN2kR7tH5pLs0E=",
                        "url": media_url("1479537139650973"),
                    }
                ],
            )
        ]
    )


def test_audio() -> None:
    assert parse_fixture("audio") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(3),
                type="audio",
                sent_at=at(10, 2),
                media=[
                    {
                        "kind": "audio",
                        "id": "1003383421387256",
                        "mime_type": "audio/ogg; codecs=opus",
                        "sha256": "4o9Zy3qS7rVbA2gJ0fK1wXnL8cT5mE6hD3pR0uYiQvM=",
                        "url": media_url("1003383421387256"),
                    }
                ],
                meta={"voice": True},
            )
        ]
    )


def test_video() -> None:
    assert parse_fixture("video") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(4),
                type="video",
                sent_at=at(10, 3),
                text="See the scratch",
                media=[
                    {
                        "kind": "video",
                        "id": "1166846181421424",
                        "mime_type": "video/mp4",
                        "sha256": "H7a9Kq2vL0xR5sT8uW1yZ3bC6dE9fG2hJ4kL7mN0pQ8=",
                        "url": media_url("1166846181421424"),
                    }
                ],
            )
        ]
    )


def test_document() -> None:
    assert parse_fixture("document") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(5),
                type="document",
                sent_at=at(10, 4),
                text="Invoice attached",
                media=[
                    {
                        "kind": "document",
                        "id": "1376223850470265",
                        "mime_type": "application/pdf",
                        "sha256": "Zq1W2e3R4t5Y6u7I8o9P0aSdFgHjKlZxCvBnM1q2W3e=",
                        "filename": "invoice-1001.pdf",
                        "url": media_url("1376223850470265"),
                    }
                ],
            )
        ]
    )


def test_sticker() -> None:
    assert parse_fixture("sticker") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(6),
                type="sticker",
                sent_at=at(10, 5),
                media=[
                    {
                        "kind": "sticker",
                        "id": "1228233668179112",
                        "mime_type": "image/webp",
                        "sha256": "Qm9vbGVhblN0aWNrZXJIYXNoVmFsdWVGb3JUZXN0cw0=",
                        "url": media_url("1228233668179112"),
                    }
                ],
            )
        ]
    )


def test_location() -> None:
    assert parse_fixture("location") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(7),
                type="location",
                sent_at=at(10, 6),
                meta={
                    "latitude": 37.483307,
                    "longitude": -122.148981,
                    "name": "Philz Coffee",
                    "address": "1 Hacker Way, Menlo Park, CA 94025",
                },
            )
        ]
    )


def test_contacts() -> None:
    card = {
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
    assert parse_fixture("contacts") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(8),
                type="contact",
                sent_at=at(10, 7),
                meta={"cards": [card]},
            )
        ]
    )


def test_reaction() -> None:
    assert parse_fixture("reaction") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(9),
                type="reaction",
                sent_at=at(10, 8),
                meta={"reaction_to": OUR_MESSAGE, "emoji": "\U0001f44d"},
            )
        ]
    )


def test_reaction__removed() -> None:
    assert parse_fixture("reaction__removed") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(10),
                type="reaction",
                sent_at=at(10, 9),
                meta={"reaction_to": OUR_MESSAGE, "emoji": ""},
            )
        ]
    )


def test_interactive__button_reply() -> None:
    assert parse_fixture("interactive__button_reply") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(11),
                type="interactive",
                sent_at=at(10, 10),
                text="Track my order",
                meta={"reply_to": OUR_MESSAGE, "interactive": "button_reply", "id": "track-order"},
            )
        ]
    )


def test_interactive__list_reply() -> None:
    assert parse_fixture("interactive__list_reply") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(12),
                type="interactive",
                sent_at=at(10, 11),
                text="Size L",
                meta={
                    "reply_to": OUR_MESSAGE,
                    "interactive": "list_reply",
                    "id": "size-l",
                    "description": "Chest 104-110 cm",
                },
            )
        ]
    )


def test_button() -> None:
    assert parse_fixture("button") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(13),
                type="interactive",
                sent_at=at(10, 12),
                text="Stop promotions",
                meta={
                    "reply_to": OUR_MESSAGE,
                    "interactive": "button",
                    "payload": "STOP_PROMOTIONS",
                },
            )
        ]
    )


def test_unsupported() -> None:
    assert parse_fixture("unsupported") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(14),
                type="unsupported",
                sent_at=at(10, 13),
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
            )
        ]
    )


def test_edit() -> None:
    assert parse_fixture("edit") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(15),
                type="text",
                sent_at=at(10, 14),
                text="Hi, has my order #1002 shipped?",
                meta={"edit_of": wamid(1), "edited_at": "2026-01-01T10:14:00+00:00"},
            )
        ]
    )


def test_revoke() -> None:
    assert parse_fixture("revoke") == ParseResult(ignored=1)


def status(name: Any, minute: int, **more: Any) -> StatusUpdate:
    wid = more.pop("wid", "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI1RjQ0Qzg2000001NkFBAA==")
    return StatusUpdate(
        name, at(10, minute), provider_message_id=wid, recipient="15551234567", **more
    )


def test_status__sent() -> None:
    assert parse_fixture("status__sent") == ParseResult(statuses=[status("sent", 15)])


def test_status__delivered() -> None:
    assert parse_fixture("status__delivered") == ParseResult(statuses=[status("delivered", 16)])


def test_status__read() -> None:
    assert parse_fixture("status__read") == ParseResult(statuses=[status("read", 17)])


def test_status__failed() -> None:
    failed = status(
        "failed",
        18,
        wid="wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI1RjQ0Qzg2000003NkFBAA==",
        error_code="131047",
        error_title="Re-engagement message",
    )
    assert parse_fixture("status__failed") == ParseResult(statuses=[failed])


def test_status_we_do_not_track_is_ignored() -> None:
    value = {"statuses": [{"id": "wamid.x", "status": "deleted", "timestamp": "1767262560"}]}
    assert whatsapp.parse_messages(value, "v") == ParseResult(ignored=1)


def test_batch__two_messages() -> None:
    assert parse_fixture("batch__two_messages") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(19),
                type="text",
                sent_at=at(10, 20, 0),
                text="First message",
            ),
            Inbound(
                external_id="15557654321",
                provider_message_id=wamid(20).replace("MTU1NTEyMzQ1Njc", "MTU1NTc2NTQzMjE"),
                type="text",
                sent_at=at(10, 20, 1),
                text="\u0645\u0631\u062d\u0628\u0627\u060c "
                "\u0623\u064a\u0646 \u0637\u0644\u0628\u064a\u061f",
                display_name="\u0639\u0645\u0631 \u0627\u0644\u0641\u0627\u0631\u0648\u0642",
                phone="+15557654321",
            ),
            Inbound(
                **SHEENA,
                provider_message_id=wamid(21),
                type="reaction",
                sent_at=at(10, 20, 2),
                meta={"reaction_to": OUR_MESSAGE, "emoji": "\U0001f64f"},
            ),
            Inbound(
                **SHEENA,
                provider_message_id=wamid(22),
                type="text",
                sent_at=at(10, 20, 5),
                text="Second account",
            ),
        ],
        statuses=[
            StatusUpdate(
                name,
                at(10, 20, second),
                provider_message_id="wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI1RjQ0Qzg2000002NkFBAA==",
                recipient="15551234567",
            )
            for name, second in (("sent", 3), ("delivered", 4))
        ],
    )


def test_text__bsuid_with_phone() -> None:
    assert parse_fixture("text__bsuid_with_phone") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=wamid(17),
                type="text",
                sent_at=at(10, 18),
                text="Hello again",
                scoped_id=BSUID,
            )
        ]
    )


def test_text__bsuid_without_phone() -> None:
    assert parse_fixture("text__bsuid_without_phone") == ParseResult(
        messages=[
            Inbound(
                external_id=BSUID,
                provider_message_id=wamid(18),
                type="text",
                sent_at=at(10, 19),
                text="Hi, I use a username now",
                username="sheena.nelson",
                display_name="Sheena Nelson",
                phone=None,
                scoped_id=BSUID,
            )
        ]
    )


def test_account_update() -> None:
    assert parse_fixture("account_update") == ParseResult(unsupported=["account_update"])


# --- shapes the fixtures do not cover ---------------------------------------------------------


def batch(*messages: dict[str, Any], contacts: list[Any] | None = None) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1"},
        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "15551234567"}]
        if contacts is None
        else contacts,
        "messages": list(messages),
    }
    change = {"value": value, "field": "messages"}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


def message(**fields: Any) -> dict[str, Any]:
    base = {"from": "15551234567", "id": "wamid.X", "timestamp": "1767261600", "type": "text"}
    return base | {"text": {"body": "hi"}} | fields


def only(payload: dict[str, Any]) -> Inbound:
    [inbound] = parse_json(payload).messages
    return inbound


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"type": "order", "order": {"catalog_id": "1", "product_items": []}}, "order"),
        (
            {"type": "system", "system": {"body": "changed number", "type": "user_changed_number"}},
            "system",
        ),
        ({"type": "hologram", "hologram": {}}, "hologram"),
        (
            {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {}}},
            "interactive.nfm_reply",
        ),
    ],
)
def test_other_types_are_kept_as_unsupported_markers(fields: dict[str, Any], kind: str) -> None:
    inbound = only(batch(message(**fields)))
    assert (inbound.type, inbound.meta["kind"]) == ("unsupported", kind)


def test_a_forwarded_message_is_marked() -> None:
    inbound = only(batch(message(context={"forwarded": True})))
    assert inbound.meta == {"forwarded": True}


def test_the_sender_falls_back_to_the_only_contact() -> None:
    contacts = [{"profile": {"name": "Sheena"}, "user_id": BSUID}]
    inbound = only(batch(message(**{"from": None}), contacts=contacts))
    assert (inbound.external_id, inbound.phone, inbound.scoped_id) == (BSUID, None, BSUID)


def test_a_sender_id_that_is_not_a_phone_number_is_not_a_phone() -> None:
    inbound = only(batch(message(**{"from": "user-7"}), contacts=[]))
    assert (inbound.external_id, inbound.phone) == ("user-7", None)


def test_a_change_without_messages_or_statuses_is_empty() -> None:
    payload = batch()
    del payload["entry"][0]["changes"][0]["value"]["messages"]
    assert parse_json(payload) == ParseResult()


@pytest.mark.parametrize(
    "text",
    [
        "Thanks \U0001f64f\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467",
        "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u202eevil\u202c",
        "NUL\x00inside",
        "e\u0301\u0301\u0301 \ufeff zero\u200bwidth",
    ],
)
def test_odd_unicode_text_is_kept_exactly(text: str) -> None:
    assert only(batch(message(text={"body": text}))).text == text


# --- malformed bodies: PayloadError naming the field, never another exception ------------------

M = "entry[0].changes[0].value.messages[0]"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "body is not valid JSON"),
        (b"[]", "body must be a JSON object, got an array"),
        (b"\xc3\x28", "body is not valid JSON"),
        (b'{"entry": []}', "missing object"),
        (
            b'{"object": "page", "entry": []}',
            "object must be whatsapp_business_account, got 'page'",
        ),
        (b'{"object": "whatsapp_business_account"}', "missing entry"),
        (b'{"object": "whatsapp_business_account", "entry": {}}', "entry must be an array"),
        (b'{"object": "whatsapp_business_account", "entry": [7]}', "entry[0] must be an object"),
        (b'{"object": "whatsapp_business_account", "entry": [{}]}', "missing entry[0].changes"),
        (
            b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {}}]}]}',
            "missing entry[0].changes[0].field",
        ),
        (
            b'{"object": "whatsapp_business_account", '
            b'"entry": [{"changes": [{"field": "messages"}]}]}',
            "missing entry[0].changes[0].value",
        ),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as error:
        whatsapp.parse("whatsapp", post(body))
    assert reason in error.value.reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": None}, f"missing {M}.id"),
        ({"id": 12}, f"{M}.id must be a string, got an integer"),
        ({"timestamp": None}, f"missing {M}.timestamp"),
        ({"timestamp": "soon"}, f"{M}.timestamp: bad timestamp 'soon'"),
        ({"timestamp": 1.5}, f"{M}.timestamp must be a Unix timestamp, got a number"),
        ({"type": None}, f"missing {M}.type"),
        ({"from": 15551234567}, f"{M}.from must be a string, got an integer"),
        ({"from_user_id": ["x"]}, f"{M}.from_user_id must be a string"),
        ({"text": "hi"}, f"{M}.text must be an object, got a string"),
        ({"text": {}}, f"missing {M}.text.body"),
        ({"type": "image", "image": {"caption": "x"}}, f"missing {M}.image.id"),
        (
            {"type": "audio", "audio": {"id": "1", "voice": "yes"}},
            f"{M}.audio.voice must be a boolean",
        ),
        (
            {"type": "location", "location": {"latitude": "1", "longitude": 2}},
            f"{M}.location.latitude",
        ),
        ({"type": "contacts", "contacts": {}}, f"{M}.contacts must be an array"),
        ({"type": "contacts", "contacts": ["card"]}, f"{M}.contacts[0] must be an object"),
        ({"type": "reaction", "reaction": {"emoji": "x"}}, f"missing {M}.reaction.message_id"),
        ({"type": "interactive", "interactive": {}}, f"missing {M}.interactive.type"),
        (
            {
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "1"}},
            },
            f"missing {M}.interactive.list_reply.title",
        ),
        ({"type": "button", "button": {"payload": "P"}}, f"missing {M}.button.text"),
        ({"type": "edit", "edit": {"message": message()}}, f"missing {M}.edit.original_message_id"),
        (
            {"type": "edit", "edit": {"original_message_id": "w", "message": {"type": "edit"}}},
            f"{M}.edit.message.type cannot be edit",
        ),
        ({"type": "unsupported", "errors": "bad"}, f"{M}.errors must be an array"),
        ({"context": []}, f"{M}.context must be an object"),
    ],
)
def test_malformed_messages(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(PayloadError) as error:
        parse_json(batch(message(**fields)))
    assert reason in error.value.reason


def test_a_message_without_any_sender_id() -> None:
    with pytest.raises(PayloadError) as error:
        parse_json(batch(message(**{"from": None}), contacts=[]))
    assert error.value.reason == f"missing {M}.from and {M}.from_user_id"


@pytest.mark.parametrize(
    ("contacts", "reason"),
    [
        ("x", "entry[0].changes[0].value.contacts must be an array"),
        ([{"profile": "x"}], "contacts[0].profile must be an object"),
        ([{"profile": {"name": 5}}], "contacts[0].profile.name must be a string"),
        ([{"wa_id": 15551234567}], "contacts[0].wa_id must be a string"),
    ],
)
def test_malformed_contacts(contacts: Any, reason: str) -> None:
    with pytest.raises(PayloadError) as error:
        parse_json(batch(message(), contacts=contacts))
    assert reason in error.value.reason


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["from", "from_user_id", "id", "timestamp", "type", "text", "image", "edit", "context"]
)
TYPES = st.sampled_from(["text", "image", "audio", "location", "contacts", "reaction", "edit"])


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(FIELDS, JSON | TYPES), contacts=JSON, statuses=JSON)
def test_any_json_fails_only_with_payload_error(
    fields: dict[str, Any], contacts: Any, statuses: Any
) -> None:
    payload = batch(message(**fields), contacts=contacts)
    payload["entry"][0]["changes"][0]["value"]["statuses"] = statuses
    with contextlib.suppress(PayloadError):
        parse_json(payload)
