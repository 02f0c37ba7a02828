"""Twilio channel: verify() and parse() against form bodies as Twilio posts them."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import twilio
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    StatusUpdate,
    WebhookRequest,
)
from tests.signing import load_fixture, twilio_signature

SECRETS = {"auth_token": "12345678901234567890123456789012"}
URL = "https://gw.example.com/hooks/twilio/5?channel=sms"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "AC0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SHEENA: dict[str, Any] = {"external_id": "+15551234567", "phone": "+15551234567"}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(twilio, "utc_now", lambda: NOW)


def post(body: bytes, headers: dict[str, str] | None = None, url: str = URL) -> WebhookRequest:
    return WebhookRequest("POST", url, headers or {}, {}, body)


def signed(body: bytes, url: str = URL, token: str = SECRETS["auth_token"]) -> dict[str, str]:
    params = parse_qsl(body.decode(), keep_blank_values=True)
    return {"X-Twilio-Signature": twilio_signature(token, url, params)}


def parse_fixture(kind: str, name: str) -> ParseResult:
    return twilio.parse(kind, post(load_fixture(kind, f"{name}.txt")))


def parse_form(kind: str, pairs: list[tuple[str, str]]) -> ParseResult:
    return twilio.parse(kind, post(urlencode(pairs).encode()))


def media_url(message_sid: str, media_sid: str) -> str:
    return f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{message_sid}/Media/{media_sid}"


# --- verify -----------------------------------------------------------------------------------


def test_verify_accepts_twilio_signature() -> None:
    body = load_fixture("twilio_sms", "sms__text.txt")
    twilio.verify(SECRETS, post(body, signed(body)))


def test_verify_refuses_a_request_without_signature() -> None:
    with pytest.raises(SignatureError, match="missing X-Twilio-Signature"):
        twilio.verify(SECRETS, post(b"Body=hi"))


def test_verify_refuses_a_wrong_signature() -> None:
    headers = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="}
    with pytest.raises(SignatureError, match="wrong X-Twilio-Signature"):
        twilio.verify(SECRETS, post(b"Body=hi", headers))


def test_verify_refuses_a_body_signed_with_another_auth_token() -> None:
    body = load_fixture("twilio_whatsapp", "whatsapp__text.txt")
    headers = signed(body, token="ffffffffffffffffffffffffffffffff")
    with pytest.raises(SignatureError, match="wrong"):
        twilio.verify(SECRETS, post(body, headers))


def test_verify_refuses_a_tampered_body() -> None:
    body = load_fixture("twilio_sms", "sms__text.txt")
    tampered = body.replace(b"%231001", b"%236666")
    with pytest.raises(SignatureError, match="wrong"):
        twilio.verify(SECRETS, post(tampered, signed(body)))


@pytest.mark.parametrize(
    "called",
    [
        "https://gw.example.com/hooks/twilio/6?channel=sms",
        "https://gw.example.com/hooks/twilio/5?channel=whatsapp",
        "https://gw.example.com/hooks/twilio/5",
        "http://gw.example.com/hooks/twilio/5?channel=sms",
        "https://evil.example.com/hooks/twilio/5?channel=sms",
    ],
)
def test_verify_refuses_a_signature_for_another_url(called: str) -> None:
    body = load_fixture("twilio_sms", "sms__text.txt")
    with pytest.raises(SignatureError, match="wrong"):
        twilio.verify(SECRETS, post(body, signed(body), url=called))


@pytest.mark.parametrize(
    ("signed_url", "called"),
    [
        ("https://gw.example.com:443/hooks/twilio/5?channel=sms", URL),
        (URL, "https://gw.example.com:443/hooks/twilio/5?channel=sms"),
        ("http://gw.example.com:80/t", "http://gw.example.com/t"),
        ("https://gw.example.com/t", "https://gw.example.com:8443/t"),
    ],
)
def test_verify_accepts_the_url_with_or_without_its_port(signed_url: str, called: str) -> None:
    body = load_fixture("twilio_sms", "sms__text.txt")
    twilio.verify(SECRETS, post(body, signed(body, url=signed_url), url=called))


def test_verify_refuses_a_signature_for_another_port() -> None:
    body = b"Body=hi"
    headers = signed(body, url="https://gw.example.com:8443/t")
    with pytest.raises(SignatureError, match="wrong"):
        twilio.verify(SECRETS, post(body, headers, url="https://gw.example.com/t"))


def test_verify_signs_every_value_of_a_repeated_name_in_sorted_order() -> None:
    body = b"Tag=zeta&Body=hi&Tag=alpha"
    params = [("Body", "hi"), ("Tag", "alpha"), ("Tag", "zeta")]
    headers = {"X-Twilio-Signature": twilio_signature(SECRETS["auth_token"], URL, params)}
    twilio.verify(SECRETS, post(body, headers))
    in_body_order = URL + "BodyhiTagzetaTagalpha"
    assert headers["X-Twilio-Signature"] != twilio_signature(
        SECRETS["auth_token"], in_body_order, []
    )


def test_verify_refuses_a_body_that_is_not_utf8() -> None:
    headers = {"X-Twilio-Signature": "c2ln"}
    with pytest.raises(SignatureError, match="cannot check X-Twilio-Signature"):
        twilio.verify(SECRETS, post(b"Body=%FF%FE", headers))


def test_verify_refuses_every_request_when_no_auth_token_is_configured() -> None:
    body = b"Body=hi"
    with pytest.raises(SignatureError, match="no auth_token configured"):
        twilio.verify({}, post(body, signed(body)))


def test_the_ack_is_empty_twiml() -> None:
    assert (twilio.ACK.status, twilio.ACK.content_type) == (200, "text/xml")
    assert twilio.ACK.body == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


# --- one test per fixture ---------------------------------------------------------------------


def test_sms__text() -> None:
    assert parse_fixture("twilio_sms", "sms__text") == ParseResult(
        messages=[
            Inbound(
                external_id="+15551234567",
                provider_message_id="SM6aa5ce6714beaf03b567d7cb0c81c348",
                type="text",
                sent_at=NOW,
                text="Hi! Where is order #1001? \U0001f4e6",
                phone="+15551234567",
            )
        ],
        ignored=0,
    )


def test_sms__mms_two_images() -> None:
    sid = "MMc0cd195f7b9dadaf4f1ec2b407a96ab1"
    assert parse_fixture("twilio_sms", "sms__mms_two_images") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=sid,
                type="image",
                sent_at=NOW,
                text="Both sides of the box",
                media=[
                    {
                        "kind": "image",
                        "url": media_url(sid, "ME523c415dcab059af8fdf877d5cb7a95f"),
                        "mime_type": "image/jpeg",
                    },
                    {
                        "kind": "image",
                        "url": media_url(sid, "ME829a316c5bb6e6267ac4560234b0c0ed"),
                        "mime_type": "image/png",
                    },
                ],
            )
        ]
    )


SMS_SID = "SM41941327c1634bdbc89a504b4613e466"
WA_SID = "SM3f2e8a9b0c1d4e5f60718293a4b5c6d7"


def status(name: Any, sid: str = SMS_SID, **more: Any) -> ParseResult:
    update = StatusUpdate(name, NOW, provider_message_id=sid, recipient="+15551234567", **more)
    return ParseResult(statuses=[update])


def test_status__sent() -> None:
    assert parse_fixture("twilio_sms", "status__sent") == status("sent")


def test_status__delivered() -> None:
    assert parse_fixture("twilio_sms", "status__delivered") == status("delivered")


def test_status__undelivered() -> None:
    assert parse_fixture("twilio_sms", "status__undelivered") == status(
        "failed", error_code="30003", error_title="Unreachable destination handset"
    )


def test_whatsapp_status__delivered() -> None:
    assert parse_fixture("twilio_whatsapp", "status__delivered") == status("delivered", WA_SID)


def test_whatsapp_status__read() -> None:
    assert parse_fixture("twilio_whatsapp", "status__read") == status("read", WA_SID)


def test_whatsapp_status__failed() -> None:
    title = "Failed to send freeform message because you are outside the allowed window"
    assert parse_fixture("twilio_whatsapp", "status__failed") == status(
        "failed", WA_SID, error_code="63016", error_title=title
    )


def test_whatsapp__text() -> None:
    assert parse_fixture("twilio_whatsapp", "whatsapp__text") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id="SMe6c1a86b3a9f2e59d9143e6f1fb736aa",
                type="text",
                sent_at=NOW,
                text="Hi, has my order shipped?",
                display_name="Sheena Nelson",
            )
        ]
    )


def test_whatsapp__image() -> None:
    sid = "MM288f4dc3e7c6aa775993790bf3ebf147"
    assert parse_fixture("twilio_whatsapp", "whatsapp__image") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id=sid,
                type="image",
                sent_at=NOW,
                text="The box arrived broken",
                media=[
                    {
                        "kind": "image",
                        "url": media_url(sid, "ME1006ff12c465532f8c574aeaa4461b16"),
                        "mime_type": "image/jpeg",
                    }
                ],
                display_name="Sheena Nelson",
            )
        ]
    )


def test_whatsapp__location() -> None:
    assert parse_fixture("twilio_whatsapp", "whatsapp__location") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id="SMd6f318d08594f6dc27f8952a396c7fa9",
                type="location",
                sent_at=NOW,
                display_name="Sheena Nelson",
                meta={
                    "latitude": 37.483307,
                    "longitude": -122.148981,
                    "address": "1 Hacker Way, Menlo Park, CA 94025",
                    "label": "Philz Coffee",
                },
            )
        ]
    )


def test_whatsapp__button() -> None:
    assert parse_fixture("twilio_whatsapp", "whatsapp__button") == ParseResult(
        messages=[
            Inbound(
                **SHEENA,
                provider_message_id="SM9ff08e6fd09d981d64b410a7228e1b80",
                type="interactive",
                sent_at=NOW,
                text="Stop promotions",
                display_name="Sheena Nelson",
                meta={
                    "interactive": "button",
                    "payload": "STOP_PROMOTIONS",
                    "reply_to": "MMecb7fd6ce55e37d2a8904e7337f4d954",
                },
            )
        ]
    )


# --- shapes the fixtures do not cover ---------------------------------------------------------

SMS = [("MessageSid", "SM1"), ("From", "+15551234567"), ("To", "+15550783881")]


def only(kind: str, pairs: list[tuple[str, str]]) -> Inbound:
    [inbound] = parse_form(kind, pairs).messages
    return inbound


def test_older_requests_name_the_sid_smssid() -> None:
    pairs = [("SmsSid", "SM2"), ("From", "+15551234567"), ("Body", "hi")]
    assert only("twilio_sms", pairs).provider_message_id == "SM2"


def test_a_received_message_status_is_an_inbound_message() -> None:
    pairs = [*SMS, ("Body", "hi"), ("MessageStatus", "received")]
    assert only("twilio_sms", pairs).text == "hi"


@pytest.mark.parametrize(
    ("given", "ours"),
    [("queued", "queued"), ("sending", "queued"), ("sent", "sent"), ("failed", "failed"),
     ("undelivered", "failed"), ("read", "read")],
)  # fmt: skip
def test_status_callbacks_are_statuses(given: str, ours: str) -> None:
    pairs = [*SMS, ("SmsStatus", given), ("ErrorCode", "30008"), ("ErrorMessage", "Unknown")]
    failed = {"error_code": "30008", "error_title": "Unknown"} if ours == "failed" else {}
    update = StatusUpdate(ours, NOW, provider_message_id="SM1", recipient="+15550783881", **failed)
    assert parse_form("twilio_whatsapp", pairs) == ParseResult(statuses=[update])


def test_status_callback_we_do_not_track_is_ignored() -> None:
    pairs = [*SMS, ("MessageStatus", "partially_delivered")]
    assert parse_form("twilio_sms", pairs) == ParseResult(ignored=1)


@pytest.mark.parametrize(
    ("mime_type", "kind"),
    [
        ("audio/ogg", "audio"),
        ("video/mp4", "video"),
        ("application/pdf", "document"),
        ("text/vcard", "document"),
        ("", "document"),
    ],
)
def test_media_kind_follows_the_mime_type(mime_type: str, kind: str) -> None:
    pairs = [
        *SMS,
        ("NumMedia", "1"),
        ("MediaUrl0", "https://m/0"),
        ("MediaContentType0", mime_type),
    ]
    inbound = only("twilio_sms", pairs)
    assert (inbound.type, inbound.text, inbound.media) == (
        kind,
        None,
        [{"kind": kind, "url": "https://m/0", "mime_type": mime_type or None}],
    )


@pytest.mark.parametrize("sender", ["12345", "ACMEBANK", "whatsapp:+15551234567"])
def test_a_sender_that_is_not_e164_has_no_phone(sender: str) -> None:
    pairs = [("MessageSid", "SM1"), ("From", sender), ("Body", "hi")]
    inbound = only("twilio_sms", pairs)
    assert (inbound.external_id, inbound.phone) == (sender, None)


def test_an_empty_sms_is_empty_text() -> None:
    assert only("twilio_sms", [*SMS, ("Body", "")]).text == ""


@pytest.mark.parametrize(
    "text",
    [
        "Thanks \U0001f64f\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467",
        "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u202eevil\u202c",
        "NUL\x00inside",
        "a+b=c&d %41",
        "\r\nline two\n",
    ],
)
def test_odd_unicode_text_is_kept_exactly(text: str) -> None:
    assert only("twilio_whatsapp", [*SMS, ("Body", text)]).text == text


# --- malformed bodies: PayloadError naming the field, never another exception ------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"Body=%FF&From=%2B1&MessageSid=SM1", "body is not valid UTF-8 form data"),
        (b"Body=\xff&From=%2B1&MessageSid=SM1", "body is not valid UTF-8 form data"),
        (b"From=%2B15551234567&Body=hi", "missing MessageSid"),
        (b"MessageSid=SM1&Body=hi", "missing From"),
        (b"MessageSid=SM1&From=", "missing From"),
        (b"MessageSid=SM1&From=%2B15551234567", "missing Body"),
        (b"MessageSid=SM1&From=%2B15551234567&NumMedia=two", "NumMedia must be a count, got 'two'"),
        (b"MessageSid=SM1&From=%2B15551234567&NumMedia=-1", "NumMedia must be a count, got -1"),
        (b"MessageSid=SM1&From=%2B15551234567&NumMedia=" + b"9" * 5000, "NumMedia must be a count"),
        (b"MessageSid=SM1&From=%2B15551234567&NumMedia=2&MediaUrl0=u", "missing MediaUrl1"),
        (b"MessageSid=SM1&From=%2B15551234567&Latitude=1", "missing Longitude"),
        (
            b"MessageSid=SM1&From=%2B15551234567&Latitude=north&Longitude=1",
            "Latitude must be a number",
        ),
        (
            b"MessageSid=SM1&From=%2B15551234567&Latitude=nan&Longitude=1",
            "Latitude must be a finite",
        ),
        (
            b"MessageSid=SM1&From=%2B15551234567&Latitude=1&Longitude=inf",
            "Longitude must be a finite",
        ),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as error:
        twilio.parse("twilio_whatsapp", post(body))
    assert reason in error.value.reason


NAMES = st.sampled_from(
    [
        "MessageSid",
        "SmsSid",
        "From",
        "Body",
        "NumMedia",
        "MediaUrl0",
        "MediaContentType0",
        "Latitude",
        "Longitude",
        "ButtonText",
        "SmsStatus",
        "MessageStatus",
    ]
)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(NAMES, st.text()), max_size=12), kind=st.sampled_from(twilio.KINDS))
def test_any_form_fails_only_with_payload_error(pairs: list[tuple[str, str]], kind: str) -> None:
    with contextlib.suppress(PayloadError):
        parse_form(kind, pairs)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_fail_only_with_payload_error(body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        twilio.parse("twilio_sms", post(body))
