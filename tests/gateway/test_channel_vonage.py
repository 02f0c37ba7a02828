"""Vonage channel: the signed-parameter `sig` and inbound SMS as form, JSON or query."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import vonage
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookRequest,
)
from store.types import Part
from tests.signing import load_fixture

SECRET = "v0nageSignatureSecret0123456789abcdef"
SECRETS = {"signature_secret": SECRET}
URL = "https://gw.example.com/hooks/vonage/3"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SENDER: dict[str, Any] = {"external_id": "+447700900001", "phone": "+447700900001"}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vonage, "utc_now", lambda: NOW)


# --- signing helpers: Vonage's documented algorithm, written out independently ---------------


def vonage_sig(secret: str, params: dict[str, str], method: str = "sha256") -> str:
    """`sig`: over "&k=v" of sorted params but sig ("&"/"=" in values -> "_")."""
    base = ""
    for key in sorted(params):
        if key != "sig":
            base += "&" + key + "=" + params[key].replace("&", "_").replace("=", "_")
    if method == "md5hash":
        return hashlib.md5((base + secret).encode()).hexdigest()
    return hmac.new(secret.encode(), base.encode(), method).hexdigest()


def sign_form(
    body: bytes, secret: str = SECRET, method: str = "sha256", upper: bool = False
) -> bytes:
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    sig = vonage_sig(secret, params, method)
    return body + b"&" + urlencode({"sig": sig.upper() if upper else sig}).encode()


def sign_json(body: bytes, secret: str = SECRET) -> bytes:
    params = orjson.loads(body)
    return orjson.dumps({**params, "sig": vonage_sig(secret, params)})


def post(body: bytes, query: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest("POST" if body else "GET", URL, {}, query or {}, body)


def fresh(body: bytes, at: datetime = NOW) -> bytes:
    """The fixture with its signed timestamp moved to `at`."""
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    params["timestamp"] = str(int(at.timestamp()))
    return urlencode(params).encode()


def parse_fixture(name: str) -> ParseResult:
    return vonage.parse("vonage_sms", post(load_fixture("vonage_sms", name)))


TEXT = load_fixture("vonage_sms", "sms__text.txt")
UNICODE = load_fixture("vonage_sms", "sms__unicode.json")


# --- verify -----------------------------------------------------------------------------------


def test_the_signature_matches_vonages_published_md5hash_vector() -> None:
    # From Vonage's Python SDK tests: secret "secret", these params -> this md5hash sig.
    params = {"a": "1", "b": "2", "timestamp": "1461605396"}
    assert vonage.signature("secret", params, "md5hash") == "6af838ef94998832dbfc29020b564830"


def test_verify_accepts_a_signed_form_post() -> None:
    vonage.verify(SECRETS, post(sign_form(TEXT)))


def test_verify_accepts_a_signed_json_post() -> None:
    vonage.verify(SECRETS, post(sign_json(UNICODE)))


def test_verify_accepts_a_signed_get_query() -> None:
    params = dict(parse_qsl(sign_form(TEXT).decode(), keep_blank_values=True))
    vonage.verify(SECRETS, post(b"", query=params))


@pytest.mark.parametrize("method", vonage.METHODS)
def test_verify_accepts_every_signature_method(method: str) -> None:
    body = sign_form(TEXT, method=method)
    vonage.verify({**SECRETS, "signature_method": method}, post(body))


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256", "sha512"])
def test_verify_accepts_upper_case_hex_as_the_php_sdk_sends(method: str) -> None:
    body = sign_form(TEXT, method=method, upper=True)
    vonage.verify({**SECRETS, "signature_method": method.upper()}, post(body))


def test_verify_refuses_a_signature_made_with_another_method() -> None:
    body = sign_form(TEXT, method="md5hash")
    with pytest.raises(SignatureError, match="wrong sig"):
        vonage.verify(SECRETS, post(body))


def test_verify_refuses_an_unknown_signature_method() -> None:
    with pytest.raises(SignatureError, match="unknown signature_method 'sha3'"):
        vonage.verify({**SECRETS, "signature_method": "sha3"}, post(sign_form(TEXT)))


def test_values_with_ampersand_and_equals_are_signed_with_underscores() -> None:
    body = fresh(b"msisdn=1&text=" + b"a%26b%3Dc")
    assert vonage.signature(SECRET, {"text": "a&b=c"}) == vonage.signature(
        SECRET, {"text": "a_b_c"}
    )
    vonage.verify(SECRETS, post(sign_form(body)))


def test_verify_refuses_a_request_without_sig() -> None:
    with pytest.raises(SignatureError, match="missing sig"):
        vonage.verify(SECRETS, post(TEXT))


@pytest.mark.parametrize("sig", ["0" * 64, "not hex", "\u00e9" * 64])
def test_verify_refuses_a_wrong_sig(sig: str) -> None:
    body = TEXT + b"&" + urlencode({"sig": sig}).encode()
    with pytest.raises(SignatureError, match="wrong sig"):
        vonage.verify(SECRETS, post(body))


def test_verify_refuses_a_body_signed_with_another_secret() -> None:
    with pytest.raises(SignatureError, match="wrong sig"):
        vonage.verify(SECRETS, post(sign_form(TEXT, secret="another-secret")))


def test_verify_refuses_a_tampered_body() -> None:
    tampered = sign_form(TEXT).replace(b"%231001", b"%236666")
    with pytest.raises(SignatureError, match="wrong sig"):
        vonage.verify(SECRETS, post(tampered))


def test_verify_refuses_an_added_parameter() -> None:
    with pytest.raises(SignatureError, match="wrong sig"):
        vonage.verify(SECRETS, post(sign_form(TEXT) + b"&concat=true"))


def test_verify_refuses_a_tampered_json_body() -> None:
    signed = orjson.loads(sign_json(UNICODE))
    signed["msisdn"] = "447700900666"
    with pytest.raises(SignatureError, match="wrong sig"):
        vonage.verify(SECRETS, post(orjson.dumps(signed)))


@pytest.mark.parametrize("offset", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=6)])
def test_verify_refuses_a_stale_timestamp(offset: timedelta) -> None:
    body = sign_form(fresh(TEXT, NOW + offset))
    with pytest.raises(SignatureError, match="stale timestamp"):
        vonage.verify(SECRETS, post(body))


def test_verify_refuses_a_signed_request_without_timestamp() -> None:
    params = dict(parse_qsl(TEXT.decode()))
    del params["timestamp"]
    with pytest.raises(SignatureError, match="missing timestamp"):
        vonage.verify(SECRETS, post(sign_form(urlencode(params).encode())))


@pytest.mark.parametrize("stamp", ["2026-01-01 12:00:00", "-5", "9" * 30])
def test_verify_refuses_a_timestamp_that_is_not_unix_seconds(stamp: str) -> None:
    params = {**dict(parse_qsl(TEXT.decode())), "timestamp": stamp}
    with pytest.raises(SignatureError, match="bad timestamp"):
        vonage.verify(SECRETS, post(sign_form(urlencode(params).encode())))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"text=%FF&sig=1", "body is not valid UTF-8 form data"),
        (b"sig=1&sig=2", "repeated parameter sig"),
        (b"{nope", "body is not valid JSON"),
        (b'{"sig": ["a"]}', "sig must be a string"),
    ],
)
def test_verify_refuses_a_body_it_cannot_read(body: bytes, reason: str) -> None:
    with pytest.raises(SignatureError, match=f"cannot check sig: {reason}"):
        vonage.verify(SECRETS, post(body))


def test_verify_refuses_every_request_when_no_signature_secret_is_configured() -> None:
    with pytest.raises(SignatureError, match="no signature_secret configured"):
        vonage.verify({}, post(sign_form(TEXT)))


def test_the_ack_is_a_plain_200() -> None:
    assert (vonage.ACK.status, vonage.ACK.body) == (200, b"ok")


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=120))
def test_any_bytes_fail_verify_only_with_signature_error(body: bytes) -> None:
    with pytest.raises(SignatureError):
        vonage.verify(SECRETS, post(body))


# --- one test per fixture ---------------------------------------------------------------------


def test_sms__text() -> None:
    assert parse_fixture("sms__text.txt") == ParseResult(
        messages=[
            Inbound(
                external_id="+447700900001",
                provider_message_id="0A0000000123ABCD1",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 59, 30, tzinfo=UTC),
                text="Hi! Where is order #1001?",
                phone="+447700900001",
                meta={"to": "447700900000"},
            )
        ],
        ignored=0,
    )


def test_sms__unicode() -> None:
    assert parse_fixture("sms__unicode.json") == ParseResult(
        messages=[
            Inbound(
                **SENDER,
                provider_message_id="0A0000000123ABCD2",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 59, 40, tzinfo=UTC),
                text="Merci beaucoup \U0001f64f \u00e7a marche",
                meta={"to": "447700900000"},
            )
        ]
    )


def test_sms__concat_part1() -> None:
    assert parse_fixture("sms__concat_part1.txt") == ParseResult(
        messages=[
            Inbound(
                **SENDER,
                provider_message_id="0A0000000123ABCD3",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 59, 50, tzinfo=UTC),
                text=(
                    "The parcel arrived but the box was crushed on one side and the mug inside"
                    " is chipped. I have photos if you need them. Can you send a replacement or"
                    " should I return "
                ),
                meta={"to": "447700900000"},
                part=Part("108", 1, 2),
            )
        ]
    )


def test_sms__concat_part2() -> None:
    assert parse_fixture("sms__concat_part2.txt") == ParseResult(
        messages=[
            Inbound(
                **SENDER,
                provider_message_id="0A0000000123ABCD4",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 59, 51, tzinfo=UTC),
                text="it first? Order #1001.",
                meta={"to": "447700900000"},
                part=Part("108", 2, 2),
            )
        ]
    )


CONCAT3 = "447700900002", "0B000000004567EF", datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def concat3_part(number: int, text: str) -> ParseResult:
    sender, ids, sent = CONCAT3
    return ParseResult(
        messages=[
            Inbound(
                external_id="+" + sender,
                phone="+" + sender,
                provider_message_id=f"{ids}{number}",
                type="text",
                sent_at=sent + timedelta(seconds=number),
                text=text,
                meta={"to": "447700900000"},
                part=Part("62", number, 3),
            )
        ]
    )


def test_sms__concat3_part1() -> None:
    assert parse_fixture("sms__concat3_part1.txt") == concat3_part(
        1,
        "Hello, I ordered the blue ceramic mug set (order #1002) on the 28th and the tracking"
        " page has said 'out for delivery' for three days now. Nobody came, no",
    )


def test_sms__concat3_part2() -> None:
    assert parse_fixture("sms__concat3_part2.txt") == concat3_part(
        2,
        " card was left, and the courier number only plays a recording. Could you check with"
        " the courier where the parcel really is, and if it is lost, send a new",
    )


def test_sms__concat3_part3() -> None:
    assert parse_fixture("sms__concat3_part3.txt") == concat3_part(
        3, " set to the same address? I am home every afternoon after 3pm. Thanks, Ana"
    )


def test_sms__binary() -> None:
    assert parse_fixture("sms__binary.txt") == ParseResult(
        messages=[
            Inbound(
                **SENDER,
                provider_message_id="0A0000000123ABCD5",
                type="unsupported",
                sent_at=datetime(2026, 1, 1, 11, 59, 55, tzinfo=UTC),
                meta={"kind": "binary", "udh": "050003CC0201", "to": "447700900000"},
            )
        ]
    )


def test_dlr__delivered() -> None:
    assert parse_fixture("dlr__delivered.txt") == ParseResult(ignored=1)


# --- shapes the fixtures do not cover ---------------------------------------------------------

BASE = [("msisdn", "447700900001"), ("messageId", "M1"), ("type", "text"), ("text", "hi")]


def only(pairs: list[tuple[str, str]]) -> Inbound:
    [inbound] = vonage.parse("vonage_sms", post(urlencode(pairs).encode())).messages
    return inbound


def test_a_get_query_is_parsed() -> None:
    [inbound] = vonage.parse("vonage_sms", post(b"", query=dict(BASE))).messages
    assert (inbound.external_id, inbound.text, inbound.sent_at) == ("+447700900001", "hi", NOW)


def test_without_message_timestamp_the_unix_timestamp_is_used() -> None:
    inbound = only([*BASE, ("timestamp", "1767268770")])
    assert inbound.sent_at == datetime(2026, 1, 1, 11, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize("sender", ["AcmeShop", "+447700900001", "0044"])
def test_a_sender_that_is_not_digits_keeps_its_form(sender: str) -> None:
    inbound = only([("msisdn", sender), *BASE[1:]])
    assert inbound.external_id == sender
    assert inbound.phone == (sender if sender.startswith("+") else None)


def test_an_empty_sms_is_empty_text() -> None:
    assert only([*BASE[:3], ("text", "")]).text == ""


def test_json_numbers_and_booleans_are_read_as_their_text() -> None:
    body = orjson.dumps(
        {
            **dict(BASE),
            "concat": True,
            "concat-ref": 7,
            "concat-part": 1,
            "concat-total": 3,
        }
    )
    [inbound] = vonage.parse("vonage_sms", post(body)).messages
    assert (inbound.meta, inbound.part) == ({}, Part("7", 1, 3))


def test_a_multipart_sms_of_one_part_is_a_plain_message() -> None:
    concat = [("concat", "true"), ("concat-ref", "9"), ("concat-part", "1"), ("concat-total", "1")]
    inbound = only([*BASE, *concat])
    assert (inbound.provider_message_id, inbound.text, inbound.part) == ("M1", "hi", None)


def test_without_concat_true_the_concat_fields_are_not_read() -> None:
    assert (
        only([*BASE, ("concat-ref", "9"), ("concat-part", "1"), ("concat-total", "2")]).part is None
    )


def test_a_receipt_is_not_mistaken_for_a_message_when_type_is_present() -> None:
    assert only([*BASE, ("status", "x")]).text == "hi"


@pytest.mark.parametrize(
    "text",
    [
        "Thanks \U0001f64f\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467",
        "a+b=c&d %41",
        "\r\nline two\n",
    ],
)
def test_odd_text_is_kept_exactly(text: str) -> None:
    assert only([*BASE[:3], ("text", text)]).text == text


# --- malformed bodies: PayloadError naming the field, never another exception ------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"msisdn=%FF&messageId=1&type=text&text=x", "body is not valid UTF-8 form data"),
        (b"msisdn=1&msisdn=2&messageId=1&type=text&text=x", "repeated parameter msisdn"),
        (b"[1, 2]", "body must be a JSON object, got an array"),
        (b'{"msisdn": {"a": 1}}', "msisdn must be a string"),
        (b'{"msisdn": null}', "msisdn must be a string"),
        (b"{", "body is not valid JSON"),
        (b"messageId=1&type=text&text=x", "missing msisdn"),
        (b"msisdn=1&type=text&text=x", "missing messageId"),
        (b"msisdn=1&messageId=1&text=x", "missing type"),
        (b"msisdn=1&messageId=1&type=text", "missing text"),
        (b"msisdn=1&messageId=1&type=text&text=x&message-timestamp=now", "message-timestamp"),
        (b"msisdn=1&messageId=1&type=text&text=x&timestamp=soon", "timestamp must be a Unix"),
        (b"msisdn=1&messageId=1&type=text&text=x&concat=true", "missing concat-ref"),
        (
            b"msisdn=1&messageId=1&type=text&text=x&concat=true&concat-ref=1&concat-part=1",
            "missing concat-total",
        ),
        (
            b"msisdn=1&messageId=1&type=text&text=x&concat=true&concat-ref=1"
            b"&concat-part=0&concat-total=2",
            "concat-part must be a positive count",
        ),
        (
            b"msisdn=1&messageId=1&type=text&text=x&concat=true&concat-ref=1"
            b"&concat-part=3&concat-total=2",
            "concat-part 3 is beyond concat-total 2",
        ),
        (
            b"msisdn=1&messageId=1&type=text&text=x&concat=true&concat-ref=1"
            b"&concat-part=1&concat-total=" + b"9" * 400,
            "concat-total must be a positive count",
        ),
        (
            b"msisdn=1&messageId=1&type=text&text=x&concat=true&concat-ref="
            + b"7" * 65
            + b"&concat-part=1&concat-total=2",
            "concat-ref must be printable and at most 64 characters",
        ),
    ],
)
def test_malformed_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as error:
        vonage.parse("vonage_sms", post(body))
    assert reason in error.value.reason


NAMES = st.sampled_from(
    [
        "msisdn",
        "to",
        "messageId",
        "type",
        "text",
        "udh",
        "message-timestamp",
        "timestamp",
        "concat",
        "concat-ref",
        "concat-part",
        "concat-total",
        "status",
    ]
)


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(NAMES, st.text(max_size=12), max_size=12))
def test_any_form_fails_only_with_payload_error(params: dict[str, str]) -> None:
    with contextlib.suppress(PayloadError):
        vonage.parse("vonage_sms", post(urlencode(params).encode()))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_any_bytes_fail_only_with_payload_error(body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        vonage.parse("vonage_sms", post(body))
