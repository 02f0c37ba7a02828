"""Channel details that used to be lost, through real HTTP on both databases: business-scoped
ids (Twilio's ExternalUserId, the Cloud API's user_id) found by search and references, Telegram's
language, own contact card and group messages, Instagram shares and stories, mail line endings,
and the reason of a refused webhook in its log line."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from gateway.channels import telegram
from gateway.provision import known_kinds
from store import contacts, query, refs
from store.channels import upsert_channel
from tests import helpers as h
from tests.gateway.test_webhooks_common import (
    OK,
    TWIML,
    acme,
    answer,
    at,
    identities,
    messages,
)
from tests.gateway.test_webhooks_common import deliver_fixture as post
from tests.signing import load_fixture, meta_signature, telegram_headers

BSUID = "US.13491208655302741918"
ADA = "111222333"
IG_SECRETS = {"app_secret": "ig-app-secret", "verify_token": "ig-verify"}
MAIL_SECRETS = {"signing_key": "mailgun-signing-key", "basic_auth": "mailer:s3cret"}


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram, "utc_now", lambda: at(12, 0))


async def _contacts() -> list[dict[str, Any]]:
    return await h.rows("SELECT name, phone, language FROM contact ORDER BY id")


async def _found(q: str) -> list[str | None]:
    page = await query.list_contacts(await h.owner(), q=q)
    return [c.name for c in page.contacts]


# --- business-scoped ids ------------------------------------------------------------------------


async def test_twilio_external_user_id_is_learnt_onto_the_phone_identity_and_found(
    client: TestClient,
) -> None:
    wa = await acme("twilio_whatsapp")
    for name in ("whatsapp__text", "whatsapp__text__bsuid"):
        assert await answer(await post(client, wa, name)) == TWIML
    assert [(i["external_id"], i["scoped_id"]) for i in await identities()] == [
        ("+15551234567", BSUID)
    ]
    assert [m["sender"] for m in await messages()] == ["+15551234567", "+15551234567"]
    assert await _found(BSUID) == ["Sheena Nelson"]
    found = await refs.contact(await h.owner(), refs.parse(f"username:{BSUID}"))
    assert found.name == "Sheena Nelson"


async def test_twilio_external_user_id_on_a_first_message_is_kept_and_found(
    client: TestClient,
) -> None:
    wa = await acme("twilio_whatsapp")
    assert await answer(await post(client, wa, "whatsapp__text__bsuid")) == TWIML
    assert [(i["external_id"], i["scoped_id"]) for i in await identities()] == [
        ("+15551234567", BSUID)
    ]
    assert (await _found(BSUID), await _found("us.1349120865")) == (
        ["Sheena Nelson"],
        ["Sheena Nelson"],
    )


async def test_a_cloud_api_scoped_id_finds_the_contact(client: TestClient) -> None:
    wa = await acme("whatsapp")
    for name in ("text", "text__bsuid_with_phone"):  # learnt on the second message
        assert await answer(await post(client, wa, name)) == OK
    assert await _found(BSUID) == ["Sheena Nelson"]
    assert await _found("US.0000000") == []


# --- Telegram -----------------------------------------------------------------------------------


async def test_telegram_language_code_fills_an_empty_language_only(client: TestClient) -> None:
    tg = await acme("telegram")
    assert await answer(await post(client, tg, "message__text")) == OK
    assert await _contacts() == [{"name": "Ada Lovelace", "phone": None, "language": "en"}]
    await contacts.patch(await h.owner(), (await _ids())[0], {"language": "es"})
    assert await answer(await post(client, tg, "message__sticker")) == OK
    assert [c["language"] for c in await _contacts()] == ["es"]


async def _ids() -> list[int]:
    return [int(r["id"]) for r in await h.rows("SELECT id FROM contact ORDER BY id")]


async def test_a_telegram_card_of_the_sender_vouches_their_phone(client: TestClient) -> None:
    tg = await acme("telegram")
    for name in ("message__text", "message__contact__own"):
        assert await answer(await post(client, tg, name)) == OK
    assert [(i["external_id"], i["phone"]) for i in await identities()] == [(ADA, "+15551234567")]
    assert await _contacts() == [
        {"name": "Ada Lovelace", "phone": "+15551234567", "language": "en"}
    ]


async def test_a_telegram_card_of_the_sender_joins_the_contact_with_that_phone(
    client: TestClient,
) -> None:
    tg = await acme("telegram")
    made, _ = await contacts.upsert(await h.owner(), {"name": "Ada L.", "phone": "+15551234567"})
    assert await answer(await post(client, tg, "message__contact__own")) == OK
    assert await _ids() == [made.id]
    assert [m["type"] for m in await messages()] == ["contact"]


async def test_someone_elses_telegram_card_vouches_nothing(client: TestClient) -> None:
    tg = await acme("telegram")
    assert await answer(await post(client, tg, "message__contact")) == OK
    assert [(i["external_id"], i["phone"]) for i in await identities()] == [(ADA, None)]
    assert await _contacts() == [{"name": "Ada Lovelace", "phone": None, "language": "en"}]
    [stored] = await messages()
    assert (stored["type"], stored["meta"]["card"]["user_id"]) == ("contact", 444555666)


async def test_a_telegram_group_message_is_kept_with_its_group(client: TestClient) -> None:
    tg = await acme("telegram")
    assert await answer(await post(client, tg, "group_message")) == OK
    [stored] = await messages()
    assert (stored["sender"], stored["text"], stored["meta"]) == (
        ADA,
        "Anyone else waiting for a refund?",
        {
            "message_id": 1207,
            "chat_id": -1001234567890,
            "chat_type": "supergroup",
            "chat_title": "Acme customers",
        },
    )


# --- Instagram ----------------------------------------------------------------------------------


async def _instagram() -> None:
    await upsert_channel(
        "acme", "instagram", "instagram-acme-key", IG_SECRETS, known_kinds=known_kinds()
    )


def _lookaside(n: int) -> str:
    return (
        f"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1790{n:011d}"
        f"&signature=AbzPlaceholderSignature{n}"
    )


INSTAGRAM = {  # fixture -> (type, text, media, meta)
    "share": ("share", None, [{"kind": "share", "source": "share", "url": _lookaside(24)}], {}),
    "ig_reel": (
        "share",
        None,
        [
            {
                "kind": "share",
                "source": "ig_reel",
                "url": _lookaside(25),
                "title": "How we pack your order",
                "reel_video_id": "17999887766554433",
            }
        ],
        {},
    ),
    "story_mention": (
        "story_mention",
        None,
        [{"kind": "story_mention", "url": _lookaside(23)}],
        {},
    ),
    "story_reply": (
        "story_reply",
        "Love this one!",
        None,
        {"reply_to_story": {"id": "17890455425012346", "url": _lookaside(26)}},
    ),
}


@pytest.mark.parametrize("name", sorted(INSTAGRAM))
async def test_instagram_shares_and_stories_are_messages_of_their_own_type(
    client: TestClient, name: str
) -> None:
    await h.workspace()
    await _instagram()
    body = load_fixture("instagram", f"{name}.json")
    headers = {
        "X-Hub-Signature-256": meta_signature(IG_SECRETS["app_secret"], body),
        "Content-Type": "application/json",
    }
    response = await client.post("/webhooks/instagram-acme-key", data=body, headers=headers)
    assert (response.status, await response.text()) == (200, "EVENT_RECEIVED")
    [stored] = await messages()
    type_, text, media, meta = INSTAGRAM[name]
    assert (stored["type"], stored["text"], stored["media"], stored["meta"]) == (
        type_,
        text,
        media,
        {"recipient": "17841405822304914", **meta},
    )


# --- mail ---------------------------------------------------------------------------------------


async def test_raw_mime_text_has_the_line_endings_of_mailguns_parsed_form(
    client: TestClient,
) -> None:
    await h.workspace()
    await upsert_channel("acme", "email", "email-acme-key", MAIL_SECRETS, known_kinds=known_kinds())
    credentials = base64.b64encode(MAIL_SECRETS["basic_auth"].encode()).decode()
    headers = {"Content-Type": "message/rfc822", "Authorization": f"Basic {credentials}"}
    body = load_fixture("email", "raw__crlf.eml")
    assert b"\r\n" in body
    response = await client.post("/webhooks/email-acme-key", data=body, headers=headers)
    assert response.status == 200
    [stored] = await messages()
    assert stored["text"] == "Hello,\nmy order #1002 has not arrived.\n\nThanks,\nTom"


# --- refusals -----------------------------------------------------------------------------------


async def test_a_refused_webhook_logs_why_and_no_secret(client: TestClient) -> None:
    tg = await acme("telegram")
    await _instagram()
    body = load_fixture("instagram", "share.json")
    with capture_logs() as lines:
        refused = await client.post(
            f"/webhooks/{tg.key}",
            data=load_fixture("telegram", "message__text.json"),
            headers=telegram_headers("wrong-secret-value"),
        )
        forged = await client.post(
            "/webhooks/instagram-acme-key",
            data=body,
            headers={"X-Hub-Signature-256": meta_signature("not-the-app-secret", body)},
        )
    assert (refused.status, forged.status) == (401, 401)
    webhook = [line for line in lines if line.get("event") == "webhook"]
    assert [(line["log_level"], line["status"], line["reason"]) for line in webhook] == [
        ("warning", 401, "wrong X-Telegram-Bot-Api-Secret-Token"),
        ("warning", 401, "wrong X-Hub-Signature-256"),
    ]
    logged = repr(lines)
    assert "wrong-secret-value" not in logged and IG_SECRETS["app_secret"] not in logged
    assert h.SECRETS["telegram"]["secret_token"] not in logged
