"""Web chat channel: the identity check, parse() of every request we document, the CORS
allow-list and the token buckets. Through the app: tests/gateway/test_webhooks_webchat.py."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import webchat
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookRequest,
)
from gateway.ratelimit import TokenBuckets
from tests.signing import FIXTURES, load_fixture

HMAC_SECRET = "wc-hmac-secret-4b7e9f1c2d"  # the fixtures' identifier_hash is made with it
SECRETS = {"hmac_secret": HMAC_SECRET, "allowed_origins": "https://shop.example.com"}
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
JSON = "application/json"
VISITOR = "5f0e4c1a-2b7d-4c55-9a61-0c8f3e2d1b7a"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webchat, "utc_now", lambda: NOW)


def post(body: bytes, content_type: str = JSON) -> WebhookRequest:
    headers = {"Content-Type": content_type} if content_type else {}
    return WebhookRequest("POST", "https://gw.example.com/webhooks/wc-acme-key", headers, {}, body)


def doc(**changes: Any) -> dict[str, Any]:
    """A valid anonymous message request with top-level fields replaced (None removes one)."""
    base: dict[str, Any] = {"visitor_id": VISITOR, "message": {"id": "m-1", "text": "hola"}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def body(**changes: Any) -> bytes:
    return orjson.dumps(doc(**changes))


def sign(identifier: str, secret: str = HMAC_SECRET) -> str:
    """identifier_hash as the business's server computes it (Chatwoot's HMAC-SHA256 hex)."""
    return hmac.new(secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


def parse_fixture(name: str) -> ParseResult:
    request = post(load_fixture("webchat", name))
    webchat.verify(SECRETS, request)
    return webchat.parse("webchat", request)


# --- verify: the optional identity check ------------------------------------------------------


def test_the_fixture_hash_is_hmac_sha256_of_the_identifier_with_the_secret() -> None:
    fixture = orjson.loads(load_fixture("webchat", "message__identified"))
    assert fixture["visitor"]["identifier_hash"] == sign("user-1042")
    assert webchat.identifier_hash(HMAC_SECRET, "user-1042") == sign("user-1042")


def test_verify_accepts_a_request_without_identity_claim() -> None:
    webchat.verify(SECRETS, post(body()))


def test_an_empty_hash_is_an_anonymous_visitor() -> None:
    request = post(body(visitor={"identifier": "user-9", "identifier_hash": ""}))
    webchat.verify(SECRETS, request)
    [message] = webchat.parse("webchat", request).messages
    assert (message.identifier, message.scoped_id) == (None, None)
    assert message.meta == {"visitor": {"identifier": "user-9", "verified": False}}


def test_verify_accepts_a_valid_hash_in_upper_case_hex() -> None:
    visitor = {"identifier": "user-9", "identifier_hash": sign("user-9").upper()}
    webchat.verify(SECRETS, post(body(visitor=visitor)))


@pytest.mark.parametrize(
    "visitor",
    [
        {"identifier": "user-9", "identifier_hash": sign("user-8")},  # another user's hash
        {"identifier": "user-9", "identifier_hash": sign("user-9", "other-secret")},
        {"identifier": "user-9 ", "identifier_hash": sign("user-9")},  # hashed exactly
        {"identifier": "user-9", "identifier_hash": "0" * 64},
        {"identifier": "user-9", "identifier_hash": "not hex"},
    ],
)
def test_verify_refuses_a_wrong_identifier_hash(visitor: dict[str, str]) -> None:
    with pytest.raises(SignatureError, match=r"wrong visitor\.identifier_hash"):
        webchat.verify(SECRETS, post(body(visitor=visitor)))


def test_a_hash_without_identifier_is_a_bad_request() -> None:
    with pytest.raises(PayloadError, match=r"needs visitor\.identifier"):
        webchat.verify(SECRETS, post(body(visitor={"identifier_hash": sign("")})))


def test_a_channel_without_hmac_secret_refuses_identity_claims() -> None:
    visitor = {"identifier": "user-9", "identifier_hash": sign("user-9")}
    with pytest.raises(SignatureError, match="no hmac_secret"):
        webchat.verify({"allowed_origins": "*"}, post(body(visitor=visitor)))


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "reason"),
    [
        (b"{", JSON, 400, "not valid JSON"),
        (b"[]", JSON, 400, "must be a JSON object, got an array"),
        (b'{"visitor": "ana"}', JSON, 400, "visitor must be an object, got a string"),
        (b'{"visitor": {"identifier_hash": 5}}', JSON, 400, "identifier_hash must be a string"),
        (b"{}", "text/plain", 415, "Content-Type must be application/json"),
        (b"{}", "", 415, "Content-Type must be application/json"),
    ],
)
def test_verify_names_what_is_malformed(
    raw: bytes, content_type: str, status: int, reason: str
) -> None:
    with pytest.raises(PayloadError, match=reason) as caught:
        webchat.verify(SECRETS, post(raw, content_type))
    assert caught.value.status == status


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_any_bytes_fail_verify_only_with_payload_error(raw: bytes) -> None:
    with contextlib.suppress(PayloadError):
        webchat.verify(SECRETS, post(raw))


# --- one test per fixture ---------------------------------------------------------------------


def test_message__text() -> None:
    assert parse_fixture("message__text") == ParseResult(
        messages=[
            Inbound(
                external_id=VISITOR,
                provider_message_id=f"{VISITOR}:8d1f3a52-6c0b-4e8e-9f27-41b6a0c3d915",
                type="text",
                sent_at=NOW,
                text="Hi! Has order #1001 shipped yet? \U0001f4e6",
                meta={"page_url": "https://shop.example.com/orders/1001"},
            )
        ]
    )


def test_message__identified() -> None:
    visitor = "c2b3f7de-8a41-4b0f-b6f5-7d3e9a1c4e20"
    assert parse_fixture("message__identified") == ParseResult(
        messages=[
            Inbound(
                external_id=visitor,
                provider_message_id=f"{visitor}:m-000001",
                type="text",
                sent_at=NOW,
                text="Hola, quiero cambiar la dirección de envío.",
                display_name="José Pérez",
                phone="099 123 4567",  # normalised with the workspace's region on ingest
                email="jose.perez@example.com",
                identifier="user-1042",
                scoped_id="id:user-1042",
                meta={
                    "visitor": {
                        "name": "José Pérez",
                        "email": "jose.perez@example.com",
                        "phone": "099 123 4567",
                        "identifier": "user-1042",
                        "verified": True,
                    },
                    "page_url": "https://shop.example.com/account",
                },
            )
        ]
    )


def test_message__unverified_details() -> None:
    visitor = "9a7d2c41-5e3b-4f60-8c1d-2b9e6f0a7c33"
    assert parse_fixture("message__unverified_details") == ParseResult(
        messages=[
            Inbound(
                external_id=visitor,
                provider_message_id=f"{visitor}:m-000001",
                type="text",
                sent_at=NOW,
                text="Can someone call me back?",
                display_name="Ana",  # names join nothing: they fill an empty name only
                meta={
                    "visitor": {
                        "name": "Ana",
                        "email": "ana@example.com",
                        "phone": "+593 99 765 4321",
                        "identifier": "user-7",
                        "verified": False,
                    }
                },
            )
        ]
    )


def test_typing() -> None:
    visit = webchat.parse_visit(post(load_fixture("webchat", "typing")))
    assert visit == webchat.Visit(VISITOR, "typing", ParseResult(ignored=1))


def test_fixtures_cover_every_event() -> None:
    names = {path.stem.split("__")[0] for path in (FIXTURES / "webchat").glob("*.json")}
    assert names == set(webchat.EVENTS)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"visitor_id": None}, "missing visitor_id"),
        ({"visitor_id": 12345678901234567}, "visitor_id must be a string, got an integer"),
        ({"visitor_id": "short"}, "visitor_id must be 16-64 characters"),
        ({"visitor_id": "x" * 65}, "visitor_id must be 16-64 characters"),
        ({"visitor_id": "a" * 15 + "\u00e9"}, "visitor_id must be 16-64 characters"),
        ({"event": "page_view"}, "unknown event 'page_view'; known: message, typing"),
        ({"event": 1}, "event must be a string, got an integer"),
        ({"message": None}, "missing message"),
        ({"message": "hola"}, "message must be an object, got a string"),
        ({"message": {"text": "hola"}}, "missing message.id"),
        ({"message": {"id": 7, "text": "hola"}}, "message.id must be a string, got an integer"),
        ({"message": {"id": "a b", "text": "hola"}}, "message.id must be 1-64 characters"),
        ({"message": {"id": "m", "text": ["hola"]}}, "message.text must be a string, got an array"),
        ({"message": {"id": "m", "text": " \n "}}, "message.text is empty"),
        ({"message": {"id": "m", "text": "x" * 5001}}, "message.text must be at most 5000"),
        ({"visitor": {"name": True}}, "visitor.name must be a string, got a boolean"),
        ({"visitor": {"name": "a\x00b"}}, "visitor.name must be printable"),
        ({"visitor": {"email": "ana"}}, "visitor.email is not an email address"),
        ({"visitor": {"email": "a@" + "b" * 320 + ".com"}}, "visitor.email must be printable"),
        ({"visitor": {"phone": "call me"}}, "visitor.phone is not a phone number"),
        ({"visitor": {"identifier": "u" * 121}}, "visitor.identifier must be printable and at"),
        ({"visitor": {"identifier": "u", "identifier_hash": "zz"}}, "64 hex digits"),
        ({"page_url": 3}, "page_url must be a string, got an integer"),
    ],
)
def test_bad_input_names_the_field(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(PayloadError, match=reason.replace("(", r"\(")):
        webchat.parse("webchat", post(body(**changes)))


def test_text_at_the_limit_and_odd_unicode_are_kept() -> None:
    text = "\u202e\u200d\U0001f469\u200d\U0001f4bb" + "é" * 4995
    [message] = webchat.parse("webchat", post(body(message={"id": "m", "text": text}))).messages
    assert message.text == text


def test_a_lone_surrogate_is_malformed_json() -> None:
    raw = b'{"visitor_id": "%s", "message": {"id": "m", "text": "\\ud800"}}' % VISITOR.encode()
    with pytest.raises(PayloadError, match="not valid JSON"):
        webchat.parse("webchat", post(raw))


def test_unknown_fields_are_ignored_for_newer_widgets() -> None:
    result = webchat.parse(
        "webchat", post(body(locale="es", message={"id": "m", "text": "x", "extra": 1}))
    )
    assert [m.text for m in result.messages] == ["x"]


@settings(max_examples=200, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    field=st.sampled_from(["visitor_id", "event", "message", "visitor", "page_url"]),
)
def test_any_value_in_any_field_fails_only_with_payload_error(value: Any, field: str) -> None:
    with contextlib.suppress(PayloadError):
        webchat.parse("webchat", post(json.dumps(doc(**{field: value})).encode()))


# --- CORS allow-list --------------------------------------------------------------------------

ALLOWED = (
    "https://shop.example.com, https://*.example.org:8443 http://localhost:3000/ https://x.a.net"
)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.com", True),
        ("https://SHOP.example.com:443", True),  # default port and case do not matter
        ("http://shop.example.com", False),  # another scheme is another origin
        ("https://shop.example.com.evil.net", False),
        ("https://evilshop.example.com", False),
        ("https://a.b.example.org:8443", True),
        ("https://example.org:8443", False),  # *. means a subdomain
        ("https://a.example.org", False),  # another port
        ("http://localhost:3000", True),
        ("https://x.a.net", True),
        ("https://y.a.net", False),  # a literal host, not a wildcard
        ("null", False),  # sandboxed frames and file:// pages
        ("", False),
        ("https://shop.example.com/path", False),  # not an origin
    ],
)
def test_origin_allow_list(origin: str, allowed: bool) -> None:
    assert webchat.origin_allowed({"allowed_origins": ALLOWED}, origin) is allowed


def test_a_star_allows_any_origin_and_nothing_allows_none() -> None:
    assert webchat.origin_allowed({"allowed_origins": "*"}, "null")
    assert not webchat.origin_allowed({"allowed_origins": ""}, "https://shop.example.com")
    assert not webchat.origin_allowed({}, "https://shop.example.com")


# --- token buckets ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_its_burst_then_says_when_to_retry() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=30, burst=3, clock=clock)
    assert [buckets.take("v") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("v") == pytest.approx(2.0)  # 30 a minute = one every 2 s
    assert buckets.take("other") == 0.0  # buckets are per key
    clock.now += 1.0
    assert buckets.take("v") == pytest.approx(1.0)  # a refused request takes nothing
    clock.now += 1.0
    assert buckets.take("v") == 0.0
    clock.now += 3600
    assert [buckets.take("v") for _ in range(4)][-1] > 0  # refilled to the burst, not beyond


def test_memory_is_bounded_and_the_least_recently_used_bucket_goes_first() -> None:
    buckets = TokenBuckets(per_minute=1, burst=1, max_keys=3, clock=Clock())
    for key in ("a", "b", "c"):
        buckets.take(key)
    assert buckets.take("a") > 0  # a is used again: b is now the oldest
    buckets.take("d")
    assert len(buckets) == 3
    assert buckets.take("b") == 0.0  # evicted, so it starts full
    assert buckets.take("a") > 0


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    buckets = TokenBuckets(per_minute=0, burst=1, clock=Clock())
    assert {buckets.take("v") for _ in range(100)} == {0.0}
    assert len(buckets) == 0
