"""Email channel: Mailgun forwards and raw MIME posts, verify() and parse()."""

from __future__ import annotations

import base64
import hashlib
import hmac
import tracemalloc
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from gateway.channels import email, email_limits
from gateway.channels.base import (
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookError,
    WebhookRequest,
)
from tests import hostile_mail
from tests.signing import load_fixture

KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
SECRETS = {"signing_key": KEY, "basic_auth": "relay:s3cret-passw0rd"}
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
FORM = "application/x-www-form-urlencoded"
BOUNDARY = "----MailgunBoundary7d9f1e2c"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
RFC822 = "message/rfc822"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email, "utc_now", lambda: NOW)
    monkeypatch.setattr(email, "TOKENS", email.TokenCache())


def post(body: bytes, content_type: str, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest(
        "POST",
        "https://gw.example.com/hooks/email/9",
        {"Content-Type": content_type, **(headers or {})},
        {},
        body,
    )


def fixture(name: str) -> bytes:
    return load_fixture("email", name)


def parse_fixture(name: str, content_type: str = RFC822) -> ParseResult:
    return email.parse("email", post(fixture(name), content_type))


def signed_form(
    fields: dict[str, str], key: str = KEY, ts: str = TS, token: str = "t" * 50
) -> bytes:
    signature = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "timestamp": ts, "token": token, "signature": signature}).encode()


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def with_field(body: bytes, name: str, value: str) -> bytes:
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    return urlencode({**fields, name: value}).encode()


# --- verify: Mailgun signature ----------------------------------------------------------------


def test_verify_accepts_the_mailgun_forward_as_signed() -> None:
    email.verify(SECRETS, post(fixture("mailgun__forward.txt"), FORM))


def test_verify_accepts_the_multipart_forward_as_signed() -> None:
    email.verify(SECRETS, post(fixture("mailgun__forward_multipart.form"), MULTIPART))


def test_verify_accepts_a_timestamp_within_five_minutes() -> None:
    ts = str(int((NOW - timedelta(minutes=4, seconds=59)).timestamp()))
    email.verify(SECRETS, post(signed_form({"from": "a@b.example"}, ts=ts), FORM))


@pytest.mark.parametrize("missing", ["timestamp", "token", "signature"])
def test_verify_refuses_a_form_without_a_signature_field(missing: str) -> None:
    fields = dict(parse_qsl(fixture("mailgun__forward.txt").decode(), keep_blank_values=True))
    del fields[missing]
    with pytest.raises(SignatureError, match="missing timestamp, token or signature"):
        email.verify(SECRETS, post(urlencode(fields).encode(), FORM))


def test_verify_refuses_a_wrong_signature() -> None:
    body = with_field(fixture("mailgun__forward.txt"), "signature", "0" * 64)
    with pytest.raises(SignatureError, match="wrong signature"):
        email.verify(SECRETS, post(body, FORM))


def test_verify_refuses_a_form_signed_with_another_key() -> None:
    body = signed_form({"from": "a@b.example"}, key="key-ffffffffffffffffffffffffffffffff")
    with pytest.raises(SignatureError, match="wrong signature"):
        email.verify(SECRETS, post(body, FORM))


@pytest.mark.parametrize(("name", "value"), [("token", "x" * 50), ("timestamp", str(int(TS) + 1))])
def test_verify_refuses_a_tampered_token_or_timestamp(name: str, value: str) -> None:
    body = with_field(fixture("mailgun__forward.txt"), name, value)
    with pytest.raises(SignatureError, match="wrong signature"):
        email.verify(SECRETS, post(body, FORM))


@pytest.mark.parametrize("offset", [timedelta(minutes=5, seconds=1), -timedelta(minutes=6)])
def test_verify_refuses_a_stale_timestamp(offset: timedelta) -> None:
    ts = str(int((NOW - offset).timestamp()))
    with pytest.raises(SignatureError, match="stale timestamp"):
        email.verify(SECRETS, post(signed_form({"from": "a@b.example"}, ts=ts), FORM))


def test_verify_refuses_a_signed_timestamp_that_is_not_a_number() -> None:
    with pytest.raises(SignatureError, match="bad timestamp"):
        email.verify(SECRETS, post(signed_form({}, ts="12e9"), FORM))


def verified(body: bytes) -> WebhookRequest:
    request = post(body, FORM)
    email.verify(SECRETS, request)
    return request


@pytest.mark.parametrize("status", [200, 406])
def test_admit_refuses_a_token_spent_by_a_stored_or_refused_mail(status: int) -> None:
    first = verified(fixture("mailgun__forward.txt"))
    email.admit(first)
    email.settle(first, status)
    again = verified(fixture("mailgun__forward.txt"))
    with pytest.raises(SignatureError, match="replayed token"):
        email.admit(again)


@pytest.mark.parametrize("status", [400, 401, 413, 422, 500, 503])
def test_a_token_is_not_spent_by_a_mail_that_may_be_retried(status: int) -> None:
    first = verified(fixture("mailgun__forward.txt"))
    email.settle(first, status)
    assert email.TOKENS.seen == {}
    email.admit(verified(fixture("mailgun__forward.txt")))


def test_raw_mime_has_no_token_to_admit_or_spend() -> None:
    request = post(fixture("raw__plain.eml"), RFC822, basic(SECRETS["basic_auth"]))
    email.verify(SECRETS, request)
    email.admit(request)
    email.settle(request, 200)
    assert (request.memo, email.TOKENS.seen) == ({}, {})


def test_verify_does_not_remember_tokens_of_refused_requests() -> None:
    body = fixture("mailgun__forward.txt")
    with pytest.raises(SignatureError):
        email.verify(SECRETS, post(with_field(body, "signature", "0" * 64), FORM))
    email.verify(SECRETS, post(body, FORM))


def test_token_cache_is_bounded_and_forgets_tokens_past_the_window() -> None:
    cache = email.TokenCache(size=2)
    assert cache.add("a", NOW) and cache.add("b", NOW) and cache.add("c", NOW)
    assert list(cache.seen) == ["b", "c"]
    assert not cache.add("c", NOW)
    assert cache.add("b", NOW + timedelta(minutes=6))
    assert list(cache.seen) == ["b"]


def test_verify_refuses_every_form_when_no_signing_key_is_configured() -> None:
    with pytest.raises(SignatureError, match="no signing_key configured"):
        email.verify({}, post(fixture("mailgun__forward.txt"), FORM))


def test_verify_refuses_a_form_that_is_not_utf8() -> None:
    with pytest.raises(SignatureError, match="cannot check signature"):
        email.verify(SECRETS, post(b"from=%FF", FORM))


def test_verify_refuses_an_unknown_content_type() -> None:
    with pytest.raises(SignatureError, match="unsupported Content-Type application/json"):
        email.verify(SECRETS, post(b"{}", "application/json"))


# --- verify: raw MIME with Basic auth ---------------------------------------------------------


@pytest.mark.parametrize("content_type", [RFC822, "text/plain; charset=utf-8"])
def test_verify_accepts_raw_mime_with_the_right_basic_auth(content_type: str) -> None:
    email.verify(
        SECRETS, post(fixture("raw__plain.eml"), content_type, basic(SECRETS["basic_auth"]))
    )


def test_verify_reads_the_authorization_header_case_insensitively() -> None:
    headers = {"authorization": basic(SECRETS["basic_auth"])["Authorization"]}
    email.verify(SECRETS, post(fixture("raw__plain.eml"), RFC822, headers))


@pytest.mark.parametrize("credentials", ["relay:wrong", "other:s3cret-passw0rd", "relay:", ""])
def test_verify_refuses_wrong_basic_auth(credentials: str) -> None:
    with pytest.raises(SignatureError, match=r"(wrong|missing) Basic Authorization"):
        email.verify(SECRETS, post(fixture("raw__plain.eml"), RFC822, basic(credentials)))


@pytest.mark.parametrize("header", [None, "Bearer abc", "Basic", "Basic !!!not-base64"])
def test_verify_refuses_missing_or_malformed_basic_auth(header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    with pytest.raises(SignatureError, match="Basic Authorization"):
        email.verify(SECRETS, post(fixture("raw__plain.eml"), RFC822, headers))


def test_verify_refuses_raw_mime_when_basic_auth_is_not_configured() -> None:
    request = post(fixture("raw__plain.eml"), RFC822, basic(SECRETS["basic_auth"]))
    with pytest.raises(SignatureError, match="need basic_auth configured"):
        email.verify({"signing_key": KEY}, request)


def test_the_ack_is_ok_and_mail_may_be_25_mib() -> None:
    assert (email.ACK.status, email.ACK.body) == (200, b"ok")
    assert email.MAX_BODY == 25 * 1024 * 1024


# --- one test per fixture ---------------------------------------------------------------------


def test_mailgun__forward() -> None:
    assert parse_fixture("mailgun__forward.txt", FORM) == ParseResult(
        messages=[
            Inbound(
                external_id="sheena@example.org",
                provider_message_id="CAB4xZq=7kd9@mail.example.org",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 58, 30, tzinfo=UTC),
                text="It still has not arrived \u2014 can you check? \U0001f4e6",
                display_name="Sheena Park",
                email="sheena@example.org",
                meta={
                    "subject": "Re: Where is order #1001?",
                    "to": "support@help.example.com",
                    "in_reply_to": "ticket-1001@help.example.com",
                    "references": ["ticket-1001@help.example.com"],
                },
            )
        ]
    )


def test_mailgun__forward_multipart() -> None:
    assert parse_fixture("mailgun__forward_multipart.form", MULTIPART) == ParseResult(
        messages=[
            Inbound(
                external_id="jose@example.es",
                provider_message_id="20260101105900.4821@example.es",
                type="text",
                sent_at=datetime(2026, 1, 1, 10, 59, tzinfo=UTC),
                text="La factura adjunta est\u00e1 mal; \u00bfpueden corregirla?",
                media=[
                    {
                        "kind": "document",
                        "file_name": "factura-1001.pdf",
                        "mime_type": "application/pdf",
                        "size": 45,
                    },
                    {
                        "kind": "image",
                        "file_name": "caja.png",
                        "mime_type": "image/png",
                        "size": 20,
                    },
                ],
                display_name="Jos\u00e9 Mart\u00ednez",
                email="jose@example.es",
                meta={"subject": "Factura rota", "to": "support@help.example.com"},
            )
        ]
    )


def test_raw__plain() -> None:
    assert parse_fixture("raw__plain.eml") == ParseResult(
        messages=[
            Inbound(
                external_id="renee.lefevre@example.fr",
                provider_message_id="a1b2c3d4.5e6f@mail.example.fr",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 57, tzinfo=UTC),
                text="Bonjour, le colis n'est toujours pas arriv\u00e9. "
                "Pouvez-vous v\u00e9rifier ?\nMerci, Ren\u00e9e",
                display_name="Ren\u00e9e Lef\u00e8vre",
                email="renee.lefevre@example.fr",
                meta={
                    "subject": "Re: Commande #1001 \u2013 o\u00f9 est-elle ?",
                    "to": "Support <support@help.example.com>",
                    "in_reply_to": "ticket-1001@help.example.com",
                    "references": ["ticket-0999@help.example.com", "ticket-1001@help.example.com"],
                },
            )
        ]
    )


def test_raw__html_only() -> None:
    assert parse_fixture("raw__html_only.eml") == ParseResult(
        messages=[
            Inbound(
                external_id="tom@example.ie",
                provider_message_id="html-only-77@example.ie",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 45, 10, tzinfo=UTC),
                text="Hi team,\n\nI'd like a refund for order #1002 & the shipping fee "
                "\u20ac4.99.\n\nThanks \u2014 Tom",
                display_name="Tom O'Brien",
                email="tom@example.ie",
                meta={"subject": "Refund please", "to": "support@help.example.com"},
            )
        ]
    )


def test_raw__multipart_attachment() -> None:
    assert parse_fixture("raw__multipart_attachment.eml") == ParseResult(
        messages=[
            Inbound(
                external_id="mei.chen@example.com",
                provider_message_id="CAF=mei.8842@mail.example.com",
                type="text",
                sent_at=datetime(2026, 1, 1, 11, 30, tzinfo=UTC),
                text="The box arrived crushed, see the photo.",
                media=[
                    {
                        "kind": "image",
                        "file_name": "box.jpg",
                        "mime_type": "image/jpeg",
                        "size": 27,
                    },
                    {
                        "kind": "document",
                        "file_name": "receipt.pdf",
                        "mime_type": "application/pdf",
                        "size": 19,
                    },
                ],
                display_name="Mei Chen",
                email="mei.chen@example.com",
                meta={"subject": "Damaged box (photos attached)", "to": "support@help.example.com"},
            )
        ]
    )


def test_raw__auto_reply() -> None:
    assert parse_fixture("raw__auto_reply.eml") == ParseResult(ignored=1)


def test_raw__bounce_dsn() -> None:
    assert parse_fixture("raw__bounce_dsn.eml") == ParseResult(ignored=1)


def test_raw__no_message_id() -> None:
    raw = fixture("raw__no_message_id.eml")
    assert parse_fixture("raw__no_message_id.eml", "text/plain") == ParseResult(
        messages=[
            Inbound(
                external_id="kai@example.de",
                provider_message_id="sha256:" + hashlib.sha256(raw).hexdigest(),
                type="text",
                sent_at=NOW,
                text="Stra\u00dfe \u201eAm Ring\u201c 5 \u2013 bitte \u20ac erstatten.",
                email="kai@example.de",
                meta={"subject": "Gr\u00fc\u00dfe aus K\u00f6ln", "to": "support@help.example.com"},
            )
        ]
    )


# --- parse: edge cases ------------------------------------------------------------------------

PLAIN = (
    b"From: Ann <ann@example.com>\nMessage-ID: <m1@example.com>\n"
    b"Date: Thu, 01 Jan 2026 12:00:00 +0000\n"
)


def raw_result(headers: bytes, body: bytes = b"hello\n") -> ParseResult:
    return email.parse("email", post(headers + b"\n" + body, RFC822))


@pytest.mark.parametrize(
    "header",
    [
        b"Auto-Submitted: auto-generated\n",
        b"X-Autoreply: yes\n",
        b"X-Autorespond: Out of office\n",
        b"Precedence: bulk\n",
        b"Precedence: junk\n",
        b"Precedence: auto_reply\n",
        b"Return-Path: <>\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n",
    ],
)
def test_automatic_mail_is_ignored(header: bytes) -> None:
    assert raw_result(PLAIN + header) == ParseResult(ignored=1)


@pytest.mark.parametrize("sender", [b"MAILER-DAEMON@mx.example.net", b"postmaster@example.net"])
def test_mail_from_a_mail_system_is_ignored(sender: bytes) -> None:
    assert raw_result(b"From: " + sender + b"\nMessage-ID: <x@y>\n") == ParseResult(ignored=1)


def test_auto_submitted_no_is_a_person_writing() -> None:
    assert len(raw_result(PLAIN + b"Auto-Submitted: no\n").messages) == 1


def test_mailgun_forward_of_an_auto_reply_is_ignored() -> None:
    headers = '[["Auto-Submitted", "auto-replied"]]'
    body = signed_form({"from": "a@b.example", "body-plain": "away", "message-headers": headers})
    assert email.parse("email", post(body, FORM)) == ParseResult(ignored=1)


def test_mailgun_forward_from_the_mailer_daemon_is_ignored() -> None:
    body = signed_form(
        {"from": "a@b.example", "sender": "MAILER-DAEMON@mx.example", "body-plain": "x"}
    )
    assert email.parse("email", post(body, FORM)) == ParseResult(ignored=1)


@pytest.mark.parametrize("author", [b"", b"From: undisclosed-recipients:;\n", b"From: Ann\n"])
def test_mail_without_a_from_address_is_refused_with_406(author: bytes) -> None:
    with pytest.raises(email.MailRefused, match="without a From address") as caught:
        raw_result(author + b"Message-ID: <m@x>\n")
    assert isinstance(caught.value, WebhookError) and caught.value.status == 406


def test_a_from_address_too_long_for_a_contact_id_is_refused_with_406() -> None:
    with pytest.raises(email.MailRefused, match="longer than 128"):
        raw_result(b"From: " + b"a" * 120 + b"@example.com\n")


def test_a_mailgun_forward_without_from_is_refused_with_406() -> None:
    with pytest.raises(email.MailRefused) as caught:
        email.parse("email", post(signed_form({"body-plain": "hi"}), FORM))
    assert caught.value.status == 406


MIXED = PLAIN + b'Content-Type: multipart/mixed; boundary="b"\n'


def test_a_message_with_only_an_attachment_takes_its_kind() -> None:
    body = (
        b"--b\nContent-Type: audio/ogg\n"
        b'Content-Disposition: attachment; filename="v.ogg"\n'
        b"Content-Transfer-Encoding: base64\n\nT2dnUw==\n--b--\n"
    )
    [message] = raw_result(MIXED, body).messages
    assert (message.type, message.text) == ("audio", None)
    assert message.media == [
        {"kind": "audio", "file_name": "v.ogg", "mime_type": "audio/ogg", "size": 4}
    ]


def test_a_forwarded_message_is_one_attachment() -> None:
    inner = b"From: x@y.example\nSubject: old\n\nold text\n"
    body = (
        b"--b\nContent-Type: text/plain\n\nSee below.\n"
        b"--b\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        + inner
        + b"--b--\n"
    )
    [message] = raw_result(MIXED, body).messages
    assert message.text == "See below."
    [attachment] = message.media
    assert attachment["kind"] == "document" and attachment["mime_type"] == "message/rfc822"
    assert attachment["size"] > 0


def test_mailgun_forward_falls_back_to_body_plain_then_html() -> None:
    fields = {"from": "a@b.example", "body-plain": "plain body"}
    assert email.parse("email", post(signed_form(fields), FORM)).messages[0].text == "plain body"
    fields = {"from": "a@b.example", "body-html": "<p>A&amp;B</p><p>C</p>"}
    assert email.parse("email", post(signed_form(fields), FORM)).messages[0].text == "A&B\n\nC"


def test_mailgun_forward_without_headers_is_stamped_with_its_timestamp_and_hashed() -> None:
    ts = str(int(NOW.timestamp()) - 60)
    body = signed_form({"from": "a@b.example", "body-plain": "x"}, ts=ts)
    retried = signed_form({"from": "a@b.example", "body-plain": "x"}, ts=TS, token="r" * 50)
    [first] = email.parse("email", post(body, FORM)).messages
    [again] = email.parse("email", post(retried, FORM)).messages
    assert first.sent_at == NOW - timedelta(minutes=1)
    assert first.provider_message_id == again.provider_message_id
    assert first.provider_message_id.startswith("sha256:")


def test_mailgun_raw_mime_form_is_parsed_as_mime() -> None:
    body = signed_form({"body-mime": fixture("raw__plain.eml").decode("latin-1")})
    [message] = email.parse("email", post(body, FORM)).messages
    assert message.provider_message_id == "a1b2c3d4.5e6f@mail.example.fr"


def test_a_long_or_odd_message_id_is_hashed_and_references_are_truncated() -> None:
    refs = b" ".join(b"<r%d@x>" % n for n in range(30))
    [message] = raw_result(
        b"From: a@b.example\nMessage-ID: <" + b"i" * 300 + b">\nReferences: " + refs + b"\n"
    ).messages
    assert message.provider_message_id.startswith("sha256:")
    assert message.meta["references"] == [f"r{n}@x" for n in range(20, 30)]


def test_an_unknown_charset_and_a_bad_date_do_not_fail() -> None:
    headers = (
        b"From: a@b.example\nDate: yesterday-ish\nContent-Type: text/plain; charset=x-klingon\n"
    )
    [message] = raw_result(headers, b"qapla'\n").messages
    assert (message.text, message.sent_at) == ("qapla'", NOW)


def test_a_date_without_a_zone_is_taken_as_utc() -> None:
    [message] = raw_result(b"From: a@b.example\nDate: Thu, 01 Jan 2026 09:00:00 -0000\n").messages
    assert message.sent_at == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


# --- parse: malformed input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"from=%FF", FORM, "not valid UTF-8"),
        (b"from=a%40b.example&message-headers=%7Bnot", FORM, "message-headers is not valid JSON"),
        (b"from=a%40b.example&message-headers=%7B%7D", FORM, "list of \\[name, value\\] pairs"),
        (b"from=a%40b.example&message-headers=%5B%5B1%2C2%5D%5D", FORM, "pairs"),
        (b"--x\r\n", "multipart/form-data", "without a boundary"),
        (b"garbage without parts", "multipart/form-data; boundary=x", "malformed multipart"),
        (
            b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
            "without a name",
        ),
        (
            b'--x\r\nContent-Disposition: form-data; name="from"\r\n\r\n\xff\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
            "not valid UTF-8",
        ),
        (b"{}", "application/json", "unsupported Content-Type"),
    ],
)
def test_malformed_input_is_a_payload_error(body: bytes, content_type: str, error: str) -> None:
    with pytest.raises(PayloadError, match=error):
        email.parse("email", post(body, content_type))


# --- limits: what counts as depth, parts and fields ------------------------------------------


def siblings(count: int, newline: bytes = b"\r\n") -> bytes:
    """A mixed mail of `count` alternative parts side by side (depth 2, 3 parts each)."""
    alternative = (
        b'--outer\nContent-Type: multipart/alternative; boundary="alt%d"\n\n'
        b"--alt%d\nContent-Type: text/plain\n\nhi\n"
        b"--alt%d\nContent-Type: text/html\n\n<p>hi</p>\n--alt%d--\n"
    )
    parts = b"".join(alternative % (i, i, i, i) for i in range(count))
    head = b'From: a@b.example\nContent-Type: multipart/mixed; boundary="outer"\n\n'
    return (head + parts + b"--outer--\n").replace(b"\n", newline)


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_parts_side_by_side_are_not_depth(newline: bytes) -> None:
    email_limits.check(siblings(166, newline))  # 166 x 3 = 498 parts, 2 levels
    with pytest.raises(email_limits.MailTooComplex, match="more than 500 MIME parts"):
        email_limits.check(siblings(167, newline))


def test_a_digest_of_forwarded_mails_is_not_depth() -> None:
    forwarded = b"--d\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\n\r\nhi\r\n"
    head = b'From: a@b.example\r\nContent-Type: multipart/digest; boundary="d"\r\n\r\n'
    email_limits.check(head + forwarded * 100 + b"--d--\r\n")


def test_an_outer_delimiter_ends_the_levels_inside_the_part_before_it() -> None:
    inner = b'--o\r\nContent-Type: multipart/mixed; boundary="i%d"\r\n\r\n--i%d\r\n\r\nx\r\n'
    # The inner parts are never closed: each ends with the next outer delimiter.
    body = b"".join(inner % (n, n) for n in range(100)) + b"--o--\r\n"
    email_limits.check(b'Content-Type: multipart/mixed; boundary="o"\r\n\r\n' + body)


def test_folded_lines_are_one_field() -> None:
    fields = b"".join(b"X-Long: a\r\n b\r\n\tc\r\n" for _ in range(999))
    email_limits.check(b"From: a@b.example\r\n" + fields + b"\r\nhello\r\n")


def test_a_boundary_named_only_in_the_body_is_text() -> None:
    text = b"From: a@b.example\r\n\r\nwrite boundary=x then\r\n" + b"--x\r\n" * 1000
    email_limits.check(text)


def test_parsing_builds_no_header_objects() -> None:
    raw = b"From: a@b.example\r\n" + b"".join(b"X-H: %d\r\n" % i for i in range(998)) + b"\r\nhi"
    tracemalloc.start()
    try:
        email.parse_raw(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # with 1,000 header objects of policy=default: 4.3 MB


def test_nesting_the_scan_misses_is_refused_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_limits, "check", lambda raw: None)
    with pytest.raises(email_limits.MailTooComplex, match="too deep to parse"):
        email.parse_raw(hostile_mail.nested_multipart(500))
