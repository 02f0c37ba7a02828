"""Twilio SMS/MMS and WhatsApp webhooks through real HTTP: every captured form, the URL-covering
signature (also behind a proxy), bad forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.channels import twilio
from gateway.settings import load_settings
from tests import helpers as h
from tests.gateway.test_webhooks_common import (
    EMPTY,
    NOTHING,
    TWIML,
    acme,
    answer,
    at,
    counts,
    status_metrics,
    stored,
)
from tests.gateway.test_webhooks_common import deliver_fixture as post
from tests.gateway.test_webhooks_common import inbound_metrics as metrics
from tests.signing import FIXTURES, load_fixture, twilio_signature

PHONE = "+15551234567"
PUBLIC_URL = "https://gw.example.com"
NOW = at(12, 0)  # Twilio sends no timestamp: messages are stamped "now", frozen below
SIGNATURE = "X-Twilio-Signature"
SMS_IDENTITY = {
    "channel": "twilio_sms",
    "external_id": PHONE,
    "scoped_id": None,
    "username": None,
    "display_name": None,
    "phone": PHONE,
}
SMS_CONTACT = {"name": None, "phone": PHONE, "email": None, "source": "inbound"}
WA_IDENTITY = SMS_IDENTITY | {"channel": "twilio_whatsapp", "display_name": "Sheena Nelson"}
WA_CONTACT = SMS_CONTACT | {"name": "Sheena Nelson"}


def message(sid: str, type_: str, **fields: Any) -> dict[str, Any]:
    """A stored inbound message row from +1 555 123 4567; text, media, meta default to None."""
    return {
        "direction": "in",
        "provider_message_id": sid,
        "type": type_,
        "text": fields.get("text"),
        "media": fields.get("media"),
        "meta": fields.get("meta"),
        "sent_at": NOW,
        "sender": PHONE,
    }


def media_url(message_sid: str, media_sid: str) -> str:
    """Where Twilio keeps one attachment of a message."""
    account = "https://api.twilio.com/2010-04-01/Accounts/AC0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    return f"{account}/Messages/{message_sid}/Media/{media_sid}"


MMS = "MMc0cd195f7b9dadaf4f1ec2b407a96ab1"
WA_IMAGE = "MM288f4dc3e7c6aa775993790bf3ebf147"
STORED = {
    ("twilio_sms", "sms__text"): message(
        "SM6aa5ce6714beaf03b567d7cb0c81c348", "text", text="Hi! Where is order #1001? 📦"
    ),
    ("twilio_sms", "sms__mms_two_images"): message(
        MMS,
        "image",
        text="Both sides of the box",
        media=[
            {
                "kind": "image",
                "url": media_url(MMS, "ME523c415dcab059af8fdf877d5cb7a95f"),
                "mime_type": "image/jpeg",
            },
            {
                "kind": "image",
                "url": media_url(MMS, "ME829a316c5bb6e6267ac4560234b0c0ed"),
                "mime_type": "image/png",
            },
        ],
    ),
    ("twilio_whatsapp", "whatsapp__text"): message(
        "SMe6c1a86b3a9f2e59d9143e6f1fb736aa", "text", text="Hi, has my order shipped?"
    ),
    ("twilio_whatsapp", "whatsapp__image"): message(
        WA_IMAGE,
        "image",
        text="The box arrived broken",
        media=[
            {
                "kind": "image",
                "url": media_url(WA_IMAGE, "ME1006ff12c465532f8c574aeaa4461b16"),
                "mime_type": "image/jpeg",
            }
        ],
    ),
    ("twilio_whatsapp", "whatsapp__location"): message(
        "SMd6f318d08594f6dc27f8952a396c7fa9",
        "location",
        meta={
            "latitude": 37.483307,
            "longitude": -122.148981,
            "address": "1 Hacker Way, Menlo Park, CA 94025",
            "label": "Philz Coffee",
        },
    ),
    ("twilio_whatsapp", "whatsapp__button"): message(
        "SM9ff08e6fd09d981d64b410a7228e1b80",
        "interactive",
        text="Stop promotions",
        meta={
            "interactive": "button",
            "payload": "STOP_PROMOTIONS",
            "reply_to": "MMecb7fd6ce55e37d2a8904e7337f4d954",
        },
    ),
}
SENDER = {
    "twilio_sms": (SMS_IDENTITY, SMS_CONTACT),
    "twilio_whatsapp": (WA_IDENTITY, WA_CONTACT),
}
# Statuses of messages we sent: here for messages we do not know; applied in
# tests/gateway/api/test_statuses.py.
STATUSES = {
    ("twilio_sms", "status__sent"): "sent",
    ("twilio_sms", "status__delivered"): "delivered",
    ("twilio_sms", "status__undelivered"): "failed",
    ("twilio_whatsapp", "status__delivered"): "delivered",
    ("twilio_whatsapp", "status__read"): "read",
    ("twilio_whatsapp", "status__failed"): "failed",
}
# Fixtures stored by their own tests: test_phone_variants.py, test_channel_details.py
OWN_TESTS = [
    ("twilio_whatsapp", "whatsapp__text_argentina"),
    ("twilio_whatsapp", "whatsapp__text__bsuid"),
]


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twilio, "utc_now", lambda: NOW)


def sign(url: str, body: bytes, token: str = h.TWILIO_TOKEN) -> dict[str, str]:
    """Headers of a form Twilio posted to `url`, signed with `token`."""
    params = parse_qsl(body.decode(), keep_blank_values=True)
    return {
        SIGNATURE: twilio_signature(token, url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_every_twilio_fixture_has_an_expected_result() -> None:
    names = sorted((p.parent.name, p.stem) for p in FIXTURES.glob("twilio_*/*"))
    assert names == sorted([*STORED, *STATUSES, *OWN_TESTS])


@pytest.mark.parametrize(("kind", "name"), STORED, ids=[name for _, name in STORED])
async def test_inbound_message_is_stored(client: TestClient, kind: str, name: str) -> None:
    ch = await acme(kind)
    resp = await post(client, ch, name)
    assert (resp.content_type, *await answer(resp)) == ("text/xml", *TWIML)
    identity, contact = SENDER[kind]
    assert await stored() == {
        "messages": [STORED[kind, name]],
        "identities": [identity],
        "contacts": [contact],
        "held": 0,
    }


@pytest.mark.parametrize(("kind", "name"), STATUSES, ids=[f"{k}-{n}" for k, n in STATUSES])
async def test_status_callback_of_a_message_we_do_not_know_is_acknowledged_and_counted(
    client: TestClient, kind: str, name: str
) -> None:
    ch = await acme(kind)
    resp = await post(client, ch, name)
    assert (resp.content_type, *await answer(resp)) == ("text/xml", *TWIML)
    assert await stored() == EMPTY
    assert await metrics(client) == []
    assert await status_metrics(client) == [
        f'contactgate_status_total{{channel="{kind}",outcome="unknown_message",'
        f'status="{STATUSES[kind, name]}"}} 1.0'
    ]


# --- signature --------------------------------------------------------------------------------

TEXT_FORM = load_fixture("twilio_sms", "sms__text")
NOT_UTF8 = "cannot check X-Twilio-Signature: body is not valid UTF-8 form data: invalid start byte"


def signature_cases(url: str) -> dict[str, tuple[bytes, dict[str, str], str]]:
    """Bodies and headers that are not a form Twilio signed for `url`, with the expected detail."""
    wrong = "wrong X-Twilio-Signature"
    return {
        "missing": (TEXT_FORM, {}, "missing X-Twilio-Signature"),
        "empty": (TEXT_FORM, {SIGNATURE: ""}, wrong),
        "wrong-value": (TEXT_FORM, {SIGNATURE: "c2lnbmF0dXJl"}, wrong),
        "another-token": (TEXT_FORM, sign(url, TEXT_FORM, "another-auth-token"), wrong),
        "tampered-body": (TEXT_FORM.replace(b"1001", b"1009"), sign(url, TEXT_FORM), wrong),
        "other-path": (TEXT_FORM, sign(url + "-other", TEXT_FORM), wrong),
        # Not UTF-8: there are no parameters to check a signature over.
        "raw-byte": (TEXT_FORM.replace(b"Body=Hi", b"Body=\xffHi"), {SIGNATURE: "c2ln"}, NOT_UTF8),
        "percent-byte": (
            TEXT_FORM.replace(b"Body=Hi", b"Body=%FFHi"),
            {SIGNATURE: "c2ln"},
            NOT_UTF8,
        ),
    }


async def test_unsigned_or_badly_signed_forms_are_401s_and_store_nothing(
    client: TestClient,
) -> None:
    sms = await acme("twilio_sms")
    path = f"/webhooks/{sms.key}"
    cases = signature_cases(str(client.make_url(path)))
    answers = {
        case: await answer(await client.post(path, data=body, headers=headers))
        for case, (body, headers, _) in cases.items()
    }
    assert answers == {
        case: (401, {"error": "rejected", "detail": detail})
        for case, (_, _, detail) in cases.items()
    }
    assert await counts() == NOTHING


@pytest.fixture
async def proxied(aiohttp_client: Any, db_url: str) -> TestClient:
    """The gateway behind a proxy: providers call https://gw.example.com."""
    settings = load_settings(
        database_url=db_url, public_url=PUBLIC_URL, channel_cache_seconds=0, log_level="WARNING"
    )
    return await aiohttp_client(create_app(settings))


@pytest.mark.parametrize(
    "base", [PUBLIC_URL, "https://gw.example.com:443"], ids=["public", "public-with-port"]
)
async def test_behind_a_proxy_the_signature_covers_the_public_url(
    proxied: TestClient, base: str
) -> None:
    sms = await acme("twilio_sms")
    path = f"/webhooks/{sms.key}"
    resp = await proxied.post(path, data=TEXT_FORM, headers=sign(f"{base}{path}", TEXT_FORM))
    assert await answer(resp) == TWIML
    assert await counts() == {"contact": 1, "identity": 1, "message": 1, "held_message": 0}


async def test_behind_a_proxy_a_signature_over_the_internal_url_is_rejected(
    proxied: TestClient,
) -> None:
    sms = await acme("twilio_sms")
    path = f"/webhooks/{sms.key}"
    internal = str(proxied.make_url(path))
    resp = await proxied.post(path, data=TEXT_FORM, headers=sign(internal, TEXT_FORM))
    assert await answer(resp) == (401, {"error": "rejected", "detail": "wrong X-Twilio-Signature"})
    assert await counts() == NOTHING


# --- bad forms --------------------------------------------------------------------------------


def _form(**changes: str | None) -> list[tuple[str, str]]:
    params = dict(parse_qsl(TEXT_FORM.decode(), keep_blank_values=True))
    params.update(changes)
    return [(name, value) for name, value in params.items() if value is not None]


MALFORMED = {
    "empty": ([], "missing From"),
    "no-from": (_form(From=None), "missing From"),
    "empty-from": (_form(From=""), "missing From"),
    "no-sid": (_form(MessageSid=None, SmsSid=None, SmsMessageSid=None), "missing MessageSid"),
    "no-body": (_form(Body=None), "missing Body"),
    "num-media-word": (_form(NumMedia="two"), "NumMedia must be a count, got 'two'"),
    "num-media-negative": (_form(NumMedia="-1"), "NumMedia must be a count, got -1"),
    "media-without-url": (_form(NumMedia="1"), "missing MediaUrl0"),
    "half-location": (_form(Latitude="37.48"), "missing Longitude"),
    "nan-latitude": (
        _form(Latitude="nan", Longitude="1"),
        "Latitude must be a finite number, got 'nan'",
    ),
    "latitude-word": (
        _form(Latitude="north", Longitude="1"),
        "Latitude must be a number, got 'north'",
    ),
}


async def test_malformed_forms_are_400s_naming_the_field_and_store_nothing(
    client: TestClient,
) -> None:
    sms = await acme("twilio_sms")
    answers = {
        case: await answer(await h.send_twilio(client, sms.key, params))
        for case, (params, _) in MALFORMED.items()
    }
    assert answers == {
        case: (400, {"error": "rejected", "detail": detail})
        for case, (_, detail) in MALFORMED.items()
    }
    assert await counts() == NOTHING


async def test_form_with_an_encoded_body_is_stored_decoded(client: TestClient) -> None:
    sms = await acme("twilio_sms")
    body = "a&b=c+d%e 😀"
    assert await answer(await h.send_twilio(client, sms.key, _form(Body=body))) == TWIML
    assert [m["text"] for m in (await stored())["messages"]] == [body]
