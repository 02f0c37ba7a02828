"""Bird channel: both signing schemes, Channels API events and legacy MessageBird callbacks."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import bird
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookRequest,
)
from tests.signing import load_fixture

KEY = "secureSigningKey-0123456789abcdef"
SECRETS = {"signing_key": KEY}
URL = "https://gw.example.com/hooks/bird/7"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
SENDER: dict[str, Any] = {"external_id": "+31612345678", "phone": "+31612345678"}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bird, "utc_now", lambda: NOW)


# --- signing helpers: Bird's documented algorithms, written out independently ----------------


def bird_signature(key: str, timestamp: str, url: str, body: bytes) -> str:
    """messagebird-signature: base64 HMAC-SHA256 of timestamp, URL and raw body digest."""
    data = timestamp.encode() + b"\n" + url.encode() + b"\n" + hashlib.sha256(body).digest()
    return base64.b64encode(hmac.new(key.encode(), data, hashlib.sha256).digest()).decode()


def signed(body: bytes, url: str = URL, key: str = KEY, timestamp: str = TS) -> dict[str, str]:
    return {
        "messagebird-signature": bird_signature(key, timestamp, url, body),
        "messagebird-request-timestamp": timestamp,
    }


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, Any], key: str = KEY, header: dict[str, Any] | None = None) -> str:
    """An HS256 JWT the way MessageBird's legacy webhooks carry it."""
    head = b64url(orjson.dumps(header or {"alg": "HS256", "typ": "JWT"}))
    payload = b64url(orjson.dumps(claims))
    sig = hmac.new(key.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{b64url(sig)}"


def claims_for(body: bytes, url: str = URL, **changes: Any) -> dict[str, Any]:
    now = int(NOW.timestamp())
    claims: dict[str, Any] = {
        "iss": "MessageBird",
        "nbf": now - 5,
        "exp": now + 55,
        "jti": "4c1c8f5e-0a5b-4b1f-8f5e-2b9d4f1c0a11",
        "url_hash": hashlib.sha256(url.encode()).hexdigest(),
    }
    if body:
        claims["payload_hash"] = hashlib.sha256(body).hexdigest()
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def jwt_headers(token: str) -> dict[str, str]:
    return {"MessageBird-Signature-JWT": token}


def post(body: bytes, headers: dict[str, str] | None = None, url: str = URL) -> WebhookRequest:
    return WebhookRequest("POST", url, headers or {}, {}, body)


def parse_fixture(name: str) -> ParseResult:
    return bird.parse("bird_sms", post(load_fixture("bird_sms", name)))


# --- verify: current Bird signature -----------------------------------------------------------

JSON_BODY = load_fixture("bird_sms", "channels__sms_inbound.json")


def test_verify_accepts_the_bird_signature() -> None:
    bird.verify(SECRETS, post(JSON_BODY, signed(JSON_BODY)))


def test_verify_reads_headers_in_any_case() -> None:
    headers = {k.title(): v for k, v in signed(JSON_BODY).items()}
    bird.verify(SECRETS, post(JSON_BODY, headers))


def test_verify_refuses_a_request_without_signature() -> None:
    with pytest.raises(SignatureError, match="missing messagebird-signature"):
        bird.verify(SECRETS, post(JSON_BODY))


def test_verify_refuses_a_signature_without_timestamp() -> None:
    headers = signed(JSON_BODY)
    del headers["messagebird-request-timestamp"]
    with pytest.raises(SignatureError, match="missing messagebird-request-timestamp"):
        bird.verify(SECRETS, post(JSON_BODY, headers))


@pytest.mark.parametrize(
    "value", ["bm90IGEgc2lnbmF0dXJlIGF0IGFsbCwgc29ycnkgISE=", "not base64 at all!", ""]
)
def test_verify_refuses_a_wrong_signature(value: str) -> None:
    headers = {**signed(JSON_BODY), "messagebird-signature": value}
    with pytest.raises(SignatureError, match="wrong messagebird-signature"):
        bird.verify(SECRETS, post(JSON_BODY, headers))


def test_verify_refuses_a_body_signed_with_another_key() -> None:
    with pytest.raises(SignatureError, match="wrong"):
        bird.verify(SECRETS, post(JSON_BODY, signed(JSON_BODY, key="another-signing-key")))


def test_verify_refuses_a_tampered_body() -> None:
    tampered = JSON_BODY.replace(b"#1001", b"#6666")
    with pytest.raises(SignatureError, match="wrong"):
        bird.verify(SECRETS, post(tampered, signed(JSON_BODY)))


def test_verify_refuses_a_signature_for_another_url() -> None:
    headers = signed(JSON_BODY, url="https://gw.example.com/hooks/bird/8")
    with pytest.raises(SignatureError, match="wrong"):
        bird.verify(SECRETS, post(JSON_BODY, headers))


def test_verify_refuses_a_changed_timestamp() -> None:
    headers = {**signed(JSON_BODY), "messagebird-request-timestamp": str(int(TS) + 1)}
    with pytest.raises(SignatureError, match="wrong"):
        bird.verify(SECRETS, post(JSON_BODY, headers))


@pytest.mark.parametrize("offset", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=6)])
def test_verify_refuses_a_stale_timestamp(offset: timedelta) -> None:
    timestamp = str(int((NOW + offset).timestamp()))
    with pytest.raises(SignatureError, match="stale messagebird-request-timestamp"):
        bird.verify(SECRETS, post(JSON_BODY, signed(JSON_BODY, timestamp=timestamp)))


@pytest.mark.parametrize("offset", [timedelta(minutes=-5), timedelta(minutes=4, seconds=59)])
def test_verify_accepts_a_timestamp_inside_the_window(offset: timedelta) -> None:
    timestamp = str(int((NOW + offset).timestamp()))
    bird.verify(SECRETS, post(JSON_BODY, signed(JSON_BODY, timestamp=timestamp)))


@pytest.mark.parametrize("timestamp", ["2026-01-01T12:00:00Z", "-1", "9" * 40, "\uff11\uff12"])
def test_verify_refuses_a_timestamp_that_is_not_unix_seconds(timestamp: str) -> None:
    with pytest.raises(SignatureError, match="bad messagebird-request-timestamp"):
        bird.verify(SECRETS, post(JSON_BODY, signed(JSON_BODY, timestamp=timestamp)))


def test_verify_refuses_every_request_when_no_signing_key_is_configured() -> None:
    with pytest.raises(SignatureError, match="no signing_key configured"):
        bird.verify({}, post(JSON_BODY, signed(JSON_BODY)))


def test_the_ack_is_a_plain_200() -> None:
    assert (bird.ACK.status, bird.ACK.body) == (200, b"ok")


# --- verify: legacy MessageBird JWT -----------------------------------------------------------

FORM_BODY = load_fixture("bird_sms", "legacy__sms_inbound.txt")


def test_verify_accepts_the_legacy_jwt() -> None:
    bird.verify(SECRETS, post(FORM_BODY, jwt_headers(jwt(claims_for(FORM_BODY)))))


def test_verify_accepts_the_legacy_jwt_for_a_get_without_body() -> None:
    query_url = URL + "?" + FORM_BODY.decode()
    token = jwt(claims_for(b"", url=query_url))
    bird.verify(SECRETS, post(b"", jwt_headers(token), url=query_url))


def test_verify_refuses_a_jwt_signed_with_another_key() -> None:
    token = jwt(claims_for(FORM_BODY), key="another-signing-key")
    with pytest.raises(SignatureError, match="wrong MessageBird-Signature-JWT"):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


def test_verify_refuses_a_jwt_with_a_tampered_signature() -> None:
    head, payload, sig = jwt(claims_for(FORM_BODY)).split(".")
    token = f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    with pytest.raises(SignatureError, match="wrong MessageBird-Signature-JWT"):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


def test_verify_refuses_jwt_claims_swapped_under_a_valid_signature() -> None:
    head, _, sig = jwt(claims_for(FORM_BODY)).split(".")
    forged = b64url(orjson.dumps(claims_for(b"Body=forged")))
    with pytest.raises(SignatureError, match="wrong MessageBird-Signature-JWT"):
        bird.verify(SECRETS, post(b"Body=forged", jwt_headers(f"{head}.{forged}.{sig}")))


def test_verify_refuses_an_expired_jwt() -> None:
    now = int(NOW.timestamp())
    token = jwt(claims_for(FORM_BODY, nbf=now - 180, exp=now - 61))
    with pytest.raises(SignatureError, match="has expired"):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


def test_verify_allows_one_minute_of_clock_skew() -> None:
    now = int(NOW.timestamp())
    token = jwt(claims_for(FORM_BODY, nbf=now + 59, exp=now - 59))
    bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


def test_verify_refuses_a_jwt_that_is_not_valid_yet() -> None:
    now = int(NOW.timestamp())
    token = jwt(claims_for(FORM_BODY, nbf=now + 61, exp=now + 120))
    with pytest.raises(SignatureError, match="not valid yet"):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "Mallory"}, "not issued by MessageBird"),
        ({"iss": None}, "not issued by MessageBird"),
        ({"nbf": None}, "no valid nbf"),
        ({"exp": "soon"}, "no valid exp"),
        ({"exp": True}, "no valid exp"),
        ({"exp": 1e30}, "no valid exp"),
        ({"url_hash": None}, "no url_hash"),
        ({"payload_hash": None}, "no payload_hash"),
    ],
)
def test_verify_refuses_a_jwt_with_bad_claims(changes: dict[str, Any], reason: str) -> None:
    token = jwt(claims_for(FORM_BODY, **changes))
    with pytest.raises(SignatureError, match=reason):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


def test_verify_refuses_a_jwt_with_the_wrong_url_hash() -> None:
    token = jwt(claims_for(FORM_BODY, url="https://gw.example.com/hooks/bird/8"))
    with pytest.raises(SignatureError, match="url_hash does not match"):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


def test_verify_refuses_a_jwt_with_the_wrong_payload_hash() -> None:
    token = jwt(claims_for(FORM_BODY))
    tampered = FORM_BODY.replace(b"Sunday", b"Monday")
    with pytest.raises(SignatureError, match="payload_hash does not match"):
        bird.verify(SECRETS, post(tampered, jwt_headers(token)))


def test_verify_refuses_a_payload_hash_when_the_body_is_empty() -> None:
    token = jwt(claims_for(FORM_BODY))
    with pytest.raises(SignatureError, match="payload_hash is set but the body is empty"):
        bird.verify(SECRETS, post(b"", jwt_headers(token)))


@pytest.mark.parametrize("alg", ["none", "HS512", "RS256", None])
def test_verify_refuses_any_jwt_algorithm_but_hs256(alg: str | None) -> None:
    head = b64url(orjson.dumps({"alg": alg, "typ": "JWT"}))
    payload = b64url(orjson.dumps(claims_for(FORM_BODY)))
    for token in (f"{head}.{payload}.", jwt(claims_for(FORM_BODY), header={"alg": alg})):
        with pytest.raises(SignatureError, match="must be signed with HS256"):
            bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.AAAA",
        b64url(b"[1]") + ".e30.AAAA",
        b64url(b"not json") + ".e30.AAAA",
    ],
)
def test_verify_refuses_a_malformed_jwt(token: str) -> None:
    with pytest.raises(SignatureError, match="malformed MessageBird-Signature-JWT"):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


def test_verify_refuses_a_jwt_whose_claims_are_not_json() -> None:
    head = b64url(orjson.dumps({"alg": "HS256"}))
    payload = b64url(b"not json")
    sig = hmac.new(KEY.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{head}.{payload}.{b64url(sig)}"
    with pytest.raises(SignatureError, match="malformed MessageBird-Signature-JWT claims"):
        bird.verify(SECRETS, post(FORM_BODY, jwt_headers(token)))


@settings(max_examples=200, deadline=None)
@given(token=st.text(max_size=80), body=st.binary(max_size=60))
def test_any_jwt_header_fails_only_with_signature_error(token: str, body: bytes) -> None:
    with pytest.raises(SignatureError):
        bird.verify(SECRETS, post(body, jwt_headers(token)))


# --- one test per fixture ---------------------------------------------------------------------


def test_channels__sms_inbound() -> None:
    assert parse_fixture("channels__sms_inbound.json") == ParseResult(
        messages=[
            Inbound(
                external_id="+31612345678",
                provider_message_id="96a0b5fa-a986-453d-be5c-3117f989f025",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 59, 30, 736000, tzinfo=UTC),
                text="Hi! Where is order #1001? \U0001f4e6",
                phone="+31612345678",
            )
        ],
        ignored=0,
    )


def test_channels__sms_outbound_delivered() -> None:
    assert parse_fixture("channels__sms_outbound_delivered.json") == ParseResult(ignored=1)


def test_legacy__sms_inbound() -> None:
    assert parse_fixture("legacy__sms_inbound.txt") == ParseResult(
        messages=[
            Inbound(
                **SENDER,
                provider_message_id="e8077d803532c0b5937c639b60216938",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 59, 30, tzinfo=UTC),
                text="Is the shop open on Sunday?",
                meta={"to": "3197010260000"},
            )
        ]
    )


def test_legacy__status_delivered() -> None:
    assert parse_fixture("legacy__status_delivered.txt") == ParseResult(ignored=1)


# --- shapes the fixtures do not cover ---------------------------------------------------------


def event(name: str = "sms.inbound", **payload: Any) -> bytes:
    base: dict[str, Any] = {
        "id": "m1",
        "sender": {"contact": {"identifierValue": "+31612345678"}},
        "body": {"type": "text", "text": {"text": "hi"}},
        "direction": "incoming",
    }
    base.update(payload)
    return orjson.dumps({"service": "channels", "event": name, "payload": base})


def only(body: bytes) -> Inbound:
    [inbound] = bird.parse("bird_sms", post(body)).messages
    return inbound


def test_a_legacy_forward_as_a_get_query_is_parsed() -> None:
    query = {"originator": "31612345678", "id": "abc", "body": "hi", "recipient": "3197010260000"}
    request = WebhookRequest("GET", URL, {}, query, b"")
    [inbound] = bird.parse("bird_sms", request).messages
    assert (inbound.external_id, inbound.text, inbound.sent_at) == ("+31612345678", "hi", NOW)


def test_the_oldest_legacy_forward_names_fields_mid_message_and_receive_datetime() -> None:
    body = b"mid=77&originator=31612345678&message=hello&receive_datetime=20260101115930"
    inbound = only(body)
    assert (inbound.provider_message_id, inbound.text, inbound.sent_at) == (
        "77",
        "hello",
        datetime(2026, 1, 1, 11, 59, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize("sender", ["AcmeShop", "+31612345678", "0612345678"])
def test_a_legacy_sender_keeps_its_form_and_has_a_phone_only_when_e164(sender: str) -> None:
    inbound = only(urlencode({"originator": sender, "id": "1", "body": "x"}).encode())
    assert inbound.external_id == sender
    assert inbound.phone == (sender if sender == "+31612345678" else None)


def test_a_channels_message_without_created_at_is_stamped_now() -> None:
    assert only(event()).sent_at == NOW


def test_an_alphanumeric_channels_sender_has_no_phone() -> None:
    inbound = only(event(sender={"contact": {"identifierValue": "AcmeShop"}}))
    assert (inbound.external_id, inbound.phone) == ("AcmeShop", None)


def test_an_outgoing_payload_under_sms_inbound_is_ignored() -> None:
    assert bird.parse("bird_sms", post(event(direction="outgoing"))) == ParseResult(ignored=1)


@pytest.mark.parametrize("name", ["sms.interaction", "sms.outbound"])
def test_status_events_are_ignored(name: str) -> None:
    assert bird.parse("bird_sms", post(event(name))) == ParseResult(ignored=1)


def test_other_events_are_unsupported() -> None:
    assert bird.parse("bird_sms", post(event("whatsapp.inbound"))) == ParseResult(
        unsupported=["whatsapp.inbound"]
    )
    other = orjson.dumps({"service": "conversations", "event": "conversation.created"})
    assert bird.parse("bird_sms", post(other)) == ParseResult(
        unsupported=["conversations:conversation.created"]
    )


def test_an_mms_image_carries_its_media() -> None:
    body = {"type": "image", "image": {"text": "box", "images": [{"mediaUrl": "https://m/1"}]}}
    inbound = only(event(body=body))
    assert (inbound.type, inbound.text, inbound.media) == (
        "image",
        "box",
        [{"kind": "image", "url": "https://m/1", "mime_type": None}],
    )


def test_a_file_is_a_document() -> None:
    files = [{"mediaUrl": "https://m/2", "contentType": "application/pdf"}]
    inbound = only(event(body={"type": "file", "file": {"files": files}}))
    assert (inbound.type, inbound.media) == (
        "document",
        [{"kind": "document", "url": "https://m/2", "mime_type": "application/pdf"}],
    )


def test_an_unknown_body_type_is_kept_as_unsupported() -> None:
    inbound = only(event(body={"type": "location", "location": {}}))
    assert (inbound.type, inbound.text, inbound.meta) == ("unsupported", None, {"kind": "location"})


# --- malformed bodies: PayloadError naming the field, never another exception ------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "body is not valid JSON"),
        (b"[1]", "body must be a JSON object, got an array"),
        (b'{"service": "channels"}', "missing event"),
        (b'{"event": "sms.inbound"}', "missing payload"),
        (b'{"event": "sms.inbound", "payload": []}', "payload must be an object"),
        (event(sender=None), "missing payload.sender"),
        (event(sender={"contact": {}}), "missing payload.sender.contact.identifierValue"),
        (event(sender={"contact": {"identifierValue": ""}}), "identifierValue"),
        (event(id=None), "missing payload.id"),
        (event(id=[1]), "payload.id must be an integer or a string"),
        (event(body={"type": "text"}), "missing payload.body.text"),
        (event(body={"type": "text", "text": {"text": 5}}), "payload.body.text.text must be"),
        (event(body={"type": "image", "image": {}}), "missing payload.body.image.images"),
        (event(createdAt="yesterday"), "payload.createdAt must be an ISO 8601 time"),
        (b"id=1&body=hi", "missing originator"),
        (b"originator=31612345678&body=hi", "missing id"),
        (b"originator=31612345678&id=1", "missing body"),
        (b"originator=%FF&id=1&body=hi", "body is not valid UTF-8 form data"),
        (b"originator=1&id=1&body=x&createdDatetime=nope", "createdDatetime must be an ISO"),
        (b"originator=1&id=1&body=x&receive_datetime=2026", "receive_datetime must be"),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as error:
        bird.parse("bird_sms", post(body))
    assert reason in error.value.reason


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
KEYS = st.sampled_from(["id", "sender", "body", "createdAt", "direction"])


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(KEYS, JSON_VALUES, max_size=4))
def test_any_channels_payload_fails_only_with_payload_error(changes: dict[str, Any]) -> None:
    with contextlib.suppress(PayloadError):
        bird.parse("bird_sms", post(event(**changes)))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_fail_only_with_payload_error(body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        bird.parse("bird_sms", post(body))
