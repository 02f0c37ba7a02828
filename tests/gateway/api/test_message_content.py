"""What a person sent, as the API shows it: typed `content` per message type and channel, edits
with their history, and a contact's identities. Provider fixtures go through real webhooks."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest

from gateway.provision import known_kinds
from store.channels import upsert_channel
from tests import helpers as h
from tests.gateway.api.support import TIME, Api, stable
from tests.signing import load_fixture, meta_signature

SECRETS = {
    **h.SECRETS,
    "messenger": {"app_secret": "fb-app-secret", "verify_token": "fb-verify"},
    "instagram": {"app_secret": "ig-app-secret", "verify_token": "ig-verify"},
}
FIXTURE_FOLDER = {"twilio_whatsapp": "twilio_whatsapp"}


async def deliver(api: Api, kind: str, name: str, body: bytes | None = None) -> int:
    """POST the fixture `name` of `kind` to a channel of that kind; the status code."""
    key = f"{kind}-acme-key"
    await upsert_channel("acme", kind, key, SECRETS[kind], known_kinds=known_kinds())
    raw = body if body is not None else load_fixture(kind, name)
    if kind == "telegram":
        reply = await h.send_telegram(api.client, key, raw)
    elif kind.startswith("twilio"):
        reply = await h.send_twilio(
            api.client, key, parse_qsl(raw.decode(), keep_blank_values=True)
        )
    else:
        signature = meta_signature(SECRETS[kind]["app_secret"], raw)
        headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
        reply = await api.client.post(f"/webhooks/{key}", data=raw, headers=headers)
    return reply.status


async def conversation(api: Api) -> list[dict[str, Any]]:
    """The messages of the only contact, oldest first."""
    cid = await h.scalar("SELECT MIN(id) FROM contact")
    reply = await api("GET", f"/contacts/{cid}/messages")
    assert reply.status == 200, reply.body
    return [stable(m) for m in reversed(reply.body["messages"])]


def picked(message: dict[str, Any]) -> tuple[Any, ...]:
    return message["type"], message["content"], message["reply_to"]


IG_MID = (
    "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2"
    "Njg0MTcxMDMwMTI0NDI1OTk3NTk1NTc4MjQ4ODM2NzozMTM1OTk2MzQ5NTgx9999ZDZD"
)
FB_MID = "m_OurPageMessage0001Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9Ed8Cb7Aa6Zz5Yy4Xx3Ww2Vv1Uu0Tt9Ss8Rr"
CONTENT_CASES = {  # (kind, fixture): (type, content, reply_to), each as the fixture says
    ("instagram", "reaction"): (
        "reaction",
        {
            "type": "reaction",
            "emoji": "❤",
            "message_id": IG_MID,
        },
        None,
    ),
    ("messenger", "location"): (
        "location",
        {
            "type": "location",
            "latitude": 37.483307,
            "longitude": -122.148981,
            "name": "Philz Coffee",
            "address": None,
        },
        None,
    ),
    ("messenger", "postback"): (
        "interactive",
        {
            "type": "interactive",
            "kind": "postback",
            "id": "HUMAN_AGENT",
            "title": "Talk to a person",
        },
        None,
    ),
    ("messenger", "quick_reply"): (
        "interactive",
        {
            "type": "interactive",
            "kind": "quick_reply",
            "id": "TRACK_ORDER",
            "title": "Track my order",
        },
        None,
    ),
    ("messenger", "reaction__react"): (
        "reaction",
        {
            "type": "reaction",
            "emoji": "❤️",
            "message_id": FB_MID,
        },
        None,
    ),
    ("messenger", "reply"): (
        "text",
        {"type": "text", "text": "Yes, that one"},
        FB_MID,
    ),
    ("telegram", "callback_query"): (
        "interactive",
        {"type": "interactive", "kind": "callback", "id": "track:1001", "title": None},
        None,
    ),
    ("telegram", "message__contact"): (
        "contact",
        {
            "type": "contact",
            "cards": [{"name": "Grace Hopper", "phones": ["+15551234567"], "emails": []}],
        },
        None,
    ),
    ("telegram", "message__location"): (
        "location",
        {
            "type": "location",
            "latitude": 52.520008,
            "longitude": 13.404954,
            "name": None,
            "address": None,
        },
        None,
    ),
    ("telegram", "message__photo"): (
        "image",
        {
            "type": "image",
            "caption": "The box arrived broken",
            "media": [
                {"kind": "photo", "file_id": "AgACAgQAAxkBAAIBLmZ1large", "file_size": 81532}
            ],
        },
        None,
    ),
    ("telegram", "message__reply"): (
        "text",
        {"type": "text", "text": "The one from Tuesday"},
        "44",
    ),
    ("telegram", "message__venue"): (
        "location",
        {
            "type": "location",
            "latitude": 52.516275,
            "longitude": 13.377704,
            "name": "Brandenburger Tor",
            "address": "Pariser Platz, 10117 Berlin",
        },
        None,
    ),
    ("telegram", "message_reaction"): (
        "reaction",
        {"type": "reaction", "emoji": "❤", "message_id": "60"},
        None,
    ),
    ("twilio_whatsapp", "whatsapp__button"): (
        "interactive",
        {
            "type": "interactive",
            "kind": "button",
            "id": "STOP_PROMOTIONS",
            "title": "Stop promotions",
        },
        "MMecb7fd6ce55e37d2a8904e7337f4d954",
    ),
    ("twilio_whatsapp", "whatsapp__location"): (
        "location",
        {
            "type": "location",
            "latitude": 37.483307,
            "longitude": -122.148981,
            "name": "Philz Coffee",
            "address": "1 Hacker Way, Menlo Park, CA 94025",
        },
        None,
    ),
    ("whatsapp", "button"): (
        "interactive",
        {
            "type": "interactive",
            "kind": "button",
            "id": "STOP_PROMOTIONS",
            "title": "Stop promotions",
        },
        "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBIzQTg0RkY0QkJFRUE1NjlEMTQA",
    ),
    ("whatsapp", "contacts"): (
        "contact",
        {
            "type": "contact",
            "cards": [
                {
                    "name": "Grace Hopper",
                    "phones": ["+1 (555) 765-4321"],
                    "emails": ["grace@example.com"],
                }
            ],
        },
        None,
    ),
    ("whatsapp", "interactive__button_reply"): (
        "interactive",
        {
            "type": "interactive",
            "kind": "button_reply",
            "id": "track-order",
            "title": "Track my order",
        },
        "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBIzQTg0RkY0QkJFRUE1NjlEMTQA",
    ),
    ("whatsapp", "interactive__list_reply"): (
        "interactive",
        {"type": "interactive", "kind": "list_reply", "id": "size-l", "title": "Size L"},
        "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBIzQTg0RkY0QkJFRUE1NjlEMTQA",
    ),
    ("whatsapp", "location"): (
        "location",
        {
            "type": "location",
            "latitude": 37.483307,
            "longitude": -122.148981,
            "name": "Philz Coffee",
            "address": "1 Hacker Way, Menlo Park, CA 94025",
        },
        None,
    ),
    ("whatsapp", "reaction"): (
        "reaction",
        {
            "type": "reaction",
            "emoji": "👍",
            "message_id": "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBIzQTg0RkY0QkJFRUE1NjlEMTQA",
        },
        None,
    ),
}


@pytest.mark.parametrize(("kind", "name"), sorted(CONTENT_CASES))
async def test_content_of_each_type(api: Api, kind: str, name: str) -> None:
    assert await deliver(api, kind, name) == 200
    [message] = await conversation(api)
    assert picked(message) == CONTENT_CASES[kind, name]


# (kind, original's fixture, edit's fixture, original text, edited text, edit time)
EDITS = {
    "telegram": ("message__text", "edited_message__text", "2026-01-01T09:17:00Z"),
    "whatsapp": ("text", "edit", "2026-01-01T10:14:00Z"),
    "messenger": ("text", "message_edit", "2026-01-01T10:13:00.250000Z"),
}


def texts(kind: str, original: str, edit: str) -> tuple[str, str]:
    """The text of each fixture, read the way each provider writes it."""
    first, second = (orjson.loads(load_fixture(kind, name)) for name in (original, edit))
    if kind == "telegram":
        return first["message"]["text"], second["edited_message"]["text"]
    if kind == "whatsapp":
        [a, b] = (f["entry"][0]["changes"][0]["value"]["messages"][0] for f in (first, second))
        return a["text"]["body"], b["edit"]["message"]["text"]["body"]
    [a, b] = (f["entry"][0]["messaging"][0] for f in (first, second))
    return a["message"]["text"], b["message_edit"]["text"]


@pytest.mark.parametrize("kind", sorted(EDITS))
async def test_an_edit_replaces_the_text_and_keeps_the_history(api: Api, kind: str) -> None:
    original, edit, edited_at = EDITS[kind]
    before, after = texts(kind, original, edit)
    assert before != after
    assert await deliver(api, kind, original) == 200
    [sent] = await conversation(api)
    for _ in range(2):  # the second delivery of the same edit changes nothing
        assert await deliver(api, kind, edit) == 200
        [message] = await api_messages(api)
        assert {k: message[k] for k in ("id", "text", "edited_at", "history")} == {
            "id": sent["id"],
            "text": after,
            "edited_at": edited_at,
            "history": [{"text": before, "written_at": message["sent_at"]}],
        }
        assert message["content"] == {"type": "text", "text": after}
    assert await h.scalar("SELECT COUNT(*) FROM message") == 1


@pytest.mark.parametrize("kind", sorted(EDITS))
async def test_an_edit_of_an_unknown_message_is_kept_as_a_message(api: Api, kind: str) -> None:
    _original, edit, _edited_at = EDITS[kind]
    _before, after = texts(kind, _original, edit)
    for _ in range(2):
        assert await deliver(api, kind, edit) == 200
    [message] = await api_messages(api)
    assert (message["text"], message["edited_at"], message["history"]) == (after, None, [])


async def api_messages(api: Api) -> list[dict[str, Any]]:
    """The only contact's messages as the API gives them (timestamps kept)."""
    cid = await h.scalar("SELECT MIN(id) FROM contact")
    reply = await api("GET", f"/contacts/{cid}/messages")
    return list(reply.body["messages"])


async def test_a_contact_lists_its_identities(api: Api) -> None:
    assert await deliver(api, "whatsapp", "text__bsuid_with_phone") == 200
    assert await deliver(api, "twilio_whatsapp", "whatsapp__location") == 200  # same phone
    cid = await h.scalar("SELECT MIN(id) FROM contact")
    reply = await api("GET", f"/contacts/{cid}")
    assert reply.status == 200
    whatsapp, _twilio = reply.body["identities"]
    assert whatsapp["last_seen"] == "2026-01-01T10:18:00Z"  # the message's own time
    person = {"username": None, "display_name": "Sheena Nelson", "phone": "+15551234567",
              "email": None, "first_seen": TIME, "last_seen": TIME,
              "opted_out_at": None}  # fmt: skip
    assert stable(reply.body["identities"]) == [
        {"channel_kind": "whatsapp", "channel_key": "whatsapp-acme-key",
         "external_id": "15551234567", "scoped_id": "US.13491208655302741918", **person},
        {"channel_kind": "twilio_whatsapp", "channel_key": "twilio_whatsapp-acme-key",
         "external_id": "+15551234567", "scoped_id": None, **person},
    ]  # fmt: skip
    assert reply.body["channels"] == ["whatsapp", "twilio_whatsapp"]


async def test_an_identity_that_sent_nothing_has_no_last_seen(api: Api) -> None:
    assert await deliver(api, "telegram", "message__text") == 200
    await h.rows("DELETE FROM message")
    reply = await api("GET", "/contacts/username:ada_l")
    assert stable(reply.body["identities"]) == [
        {"channel_kind": "telegram", "channel_key": "telegram-acme-key",
         "external_id": "111222333", "scoped_id": None, "username": "ada_l",
         "display_name": "Ada Lovelace", "phone": None, "email": None,
         "first_seen": TIME, "last_seen": None, "opted_out_at": None},
    ]  # fmt: skip


async def test_a_mail_shows_its_subject_and_thread(api: Api) -> None:
    secrets = {"signing_key": "mailgun-signing-key", "basic_auth": "mailer:s3cret"}
    await upsert_channel("acme", "email", "email-acme-key", secrets, known_kinds=known_kinds())
    auth = base64.b64encode(secrets["basic_auth"].encode()).decode()
    headers = {"Content-Type": "message/rfc822", "Authorization": f"Basic {auth}"}
    raw = load_fixture("email", "raw__plain")
    reply = await api.client.post("/webhooks/email-acme-key", data=raw, headers=headers)
    assert reply.status == 200
    [message] = await conversation(api)
    assert picked(message) == (
        "text",
        {
            "type": "email",
            "subject": "Re: Commande #1001 \u2013 où est-elle ?",
            "text": "Bonjour, le colis n'est toujours pas arrivé. Pouvez-vous vérifier ?"
            "\nMerci, Renée",
            "to": "Support <support@help.example.com>",
            "in_reply_to": "ticket-1001@help.example.com",
            "references": ["ticket-0999@help.example.com", "ticket-1001@help.example.com"],
            "media": [],
        },
        "ticket-1001@help.example.com",
    )
