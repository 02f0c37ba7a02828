"""Hostile mail through the gateway, on both backends.

Mail over a limit is refused before it is parsed, with its reason, and nothing is stored: a raw
post gets 413 or 422, Mailgun gets 406 (refused for good: its token is spent, so it does not
retry). A storage failure (503) leaves the token unspent, so Mailgun's retry is stored.
"""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.channels import email, email_mime
from gateway.provision import known_kinds
from store import db
from store.channels import upsert_channel
from store.inbound import write_batch
from store.types import Item
from tests import helpers as h
from tests import hostile_mail as mail
from tests.signing import load_fixture
from tests.worker_hooks import die, freeze_clock

SECRETS = {"signing_key": "mailgun-signing-key", "basic_auth": "mailer:s3cret"}
KEY = "email-acme-key"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
RAW = {
    "Content-Type": "message/rfc822",
    "Authorization": "Basic " + base64.b64encode(SECRETS["basic_auth"].encode()).decode(),
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HOSTILE = {  # name -> (mail, status, reason)
    "multipart_500_deep": (
        mail.nested_multipart(500),
        422,
        "mail nests MIME parts more than 20 levels deep",
    ),
    "message_500_deep": (
        mail.nested_messages(500),
        422,
        "mail nests MIME parts more than 20 levels deep",
    ),
    "rfc2231_boundaries_500_deep": (
        mail.nested_rfc2231(500),
        422,
        "mail nests MIME parts more than 20 levels deep",
    ),
    "parts_5000": (mail.many_parts(5000), 422, "mail has more than 500 MIME parts"),
    "header_lines_200000": (
        mail.many_headers(200_000),
        413,
        "a header block is larger than 262144 bytes",
    ),
    "header_fields_1001": (
        mail.many_headers(1001),
        422,
        "a header block has more than 1000 fields",
    ),
    "header_of_100_kib": (
        mail.huge_header(100 * 1024),
        413,
        "a header field is larger than 65536 bytes",
    ),
}
AT_THE_LIMITS = {
    "multipart_20_deep": mail.nested_multipart(20, "multipart_20_deep"),
    "message_19_deep": mail.nested_messages(19, "message_19_deep"),
    "parts_500": mail.many_parts(500, "parts_500"),
    "header_fields_1000": mail.many_headers(1000, "header_fields_1000"),
    "header_of_60_kib": mail.huge_header(60 * 1024, "header_of_60_kib"),
}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    monkeypatch.setattr(email, "utc_now", lambda: NOW)
    monkeypatch.setattr(email, "TOKENS", email.TokenCache())
    pool = client.app[keys.PARSERS]
    pool.initializer, pool.initargs = freeze_clock, (NOW,)


async def _channel() -> None:
    await h.workspace()
    await upsert_channel("acme", "email", KEY, SECRETS, known_kinds=known_kinds())


def _mailgun(fields: dict[str, str], token: str = "tok" * 17) -> bytes:
    return mail.mailgun_form(SECRETS["signing_key"], int(NOW.timestamp()), token, fields)


async def _stored() -> int:
    return await h.scalar("SELECT count(*) AS n FROM message")


async def _refusal(response: ClientResponse) -> tuple[int, dict[str, str]]:
    return response.status, await response.json()


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_raw_mail_is_refused_with_its_reason(client: TestClient, name: str) -> None:
    raw, status, reason = HOSTILE[name]
    await _channel()
    response = await client.post(f"/webhooks/{KEY}", data=raw, headers=RAW)
    assert await _refusal(response) == (status, {"error": "rejected", "detail": reason})
    assert (await _stored(), await h.scalar("SELECT count(*) AS n FROM contact")) == (0, 0)


@pytest.mark.parametrize("name", sorted(AT_THE_LIMITS))
async def test_mail_at_the_limits_is_stored(client: TestClient, name: str) -> None:
    await _channel()
    response = await client.post(f"/webhooks/{KEY}", data=AT_THE_LIMITS[name], headers=RAW)
    assert (response.status, await response.read()) == (200, b"ok")
    assert await h.rows("SELECT provider_message_id, type FROM message") == [
        {"provider_message_id": f"{name}@hostile.example", "type": "text"}
    ]


@pytest.mark.parametrize("name", ["multipart_500_deep", "header_fields_1001"])
async def test_hostile_mailgun_mime_is_refused_for_good(client: TestClient, name: str) -> None:
    raw, _status, reason = HOSTILE[name]
    await _channel()
    form = _mailgun({"recipient": "support@help.example.com", "body-mime": raw.decode()})
    first = await client.post(f"/webhooks/{KEY}", data=form, headers=FORM)
    again = await client.post(f"/webhooks/{KEY}", data=form, headers=FORM)
    refused = (406, {"error": "rejected", "detail": reason})
    assert (await _refusal(first), await _refusal(again)) == (refused, refused)
    assert await _stored() == 0
    assert list(email.TOKENS.seen) == ["tok" * 17]


async def test_a_mailgun_forward_with_too_many_headers_is_refused_for_good(
    client: TestClient,
) -> None:
    await _channel()
    headers = orjson.dumps([["X-Junk", str(i)] for i in range(1001)]).decode()
    fields = {"from": "ana@example.com", "body-plain": "hi", "message-headers": headers}
    response = await client.post(f"/webhooks/{KEY}", data=_mailgun(fields), headers=FORM)
    detail = "message-headers has more than 1000 fields"
    assert await _refusal(response) == (406, {"error": "rejected", "detail": detail})
    assert await _stored() == 0


async def test_a_mailgun_attachment_nested_500_deep_is_refused_for_good(
    client: TestClient,
) -> None:
    await _channel()
    signed = mail.mailgun_signed(SECRETS["signing_key"], int(NOW.timestamp()), "tok" * 17)
    fields = {"from": "ana@example.com", "body-plain": "see the forwarded mail"}
    files = {"fwd.eml": ("message/rfc822", mail.nested_messages(500))}
    body, content_type = mail.mailgun_multipart(signed, fields, files)
    headers = {"Content-Type": content_type}
    response = await client.post(f"/webhooks/{KEY}", data=body, headers=headers)
    detail = "mail nests MIME parts more than 20 levels deep"
    assert await _refusal(response) == (406, {"error": "rejected", "detail": detail})
    assert await _stored() == 0


async def test_a_mailgun_attachment_nested_10_deep_is_stored(client: TestClient) -> None:
    await _channel()
    signed = mail.mailgun_signed(SECRETS["signing_key"], int(NOW.timestamp()), "tok" * 17)
    fields = {"from": "ana@example.com", "body-plain": "see the forwarded mail"}
    files = {"fwd.eml": ("message/rfc822", mail.nested_messages(10))}
    body, content_type = mail.mailgun_multipart(signed, fields, files)
    response = await client.post(
        f"/webhooks/{KEY}", data=body, headers={"Content-Type": content_type}
    )
    assert (response.status, await response.read()) == (200, b"ok")
    [row] = await h.rows("SELECT text, media FROM message")
    media = orjson.loads(row["media"]) if isinstance(row["media"], str) else row["media"]
    assert (row["text"], [m["file_name"] for m in media]) == ("see the forwarded mail", ["fwd.eml"])


async def test_a_storage_failure_leaves_the_token_for_mailguns_retry(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _channel()
    calls: list[int] = []

    async def fails_once(tx: db.RawTx, items: list[Item]) -> list[str]:
        calls.append(len(items))
        if len(calls) == 1:
            raise RuntimeError("disk I/O error")
        return await write_batch(tx, items)  # type: ignore[return-value]

    monkeypatch.setattr("store.inbound.writer.write_batch", fails_once)
    form = _mailgun({"body-mime": load_fixture("email", "raw__plain").decode()})
    first = await client.post(f"/webhooks/{KEY}", data=form, headers=FORM)
    retry = await client.post(f"/webhooks/{KEY}", data=form, headers=FORM)
    replay = await client.post(f"/webhooks/{KEY}", data=form, headers=FORM)
    status, answer = await _refusal(first)
    # The detail may name the cause after it ("database write failed (other)").
    assert (status, answer["error"], answer["detail"][:21]) == (
        503,
        "unavailable",
        "database write failed",
    )
    assert (retry.status, await retry.read()) == (200, b"ok")
    assert await _refusal(replay) == (401, {"error": "rejected", "detail": "replayed token"})
    assert await _stored() == 1


async def test_mail_is_parsed_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _channel()
    parsed_in: list[int] = []
    real = email_mime.BytesParser.parsebytes

    def recording(self: email_mime.BytesParser, text: bytes, headersonly: bool = False) -> object:
        parsed_in.append(threading.get_ident())
        return real(self, text, headersonly)

    monkeypatch.setattr(email_mime.BytesParser, "parsebytes", recording)
    raw = load_fixture("email", "raw__plain")
    response = await client.post(f"/webhooks/{KEY}", data=raw, headers=RAW)
    assert response.status == 200
    assert len(parsed_in) == 1 and parsed_in[0] != threading.get_ident()


async def test_a_large_mail_is_parsed_in_the_worker_process(client: TestClient) -> None:
    await _channel()
    raw = mail.attachment(300_000, "large")
    response = await client.post(f"/webhooks/{KEY}", data=raw, headers=RAW)
    assert (response.status, await response.read()) == (200, b"ok")
    assert await h.rows("SELECT provider_message_id, type, text FROM message") == [
        {
            "provider_message_id": "large@hostile.example",
            "type": "text",
            "text": "the invoice, attached",
        }
    ]
    assert client.app[keys.PARSERS].runs == 1


async def test_a_dead_worker_process_is_a_503_and_is_replaced(client: TestClient) -> None:
    await _channel()
    pool = client.app[keys.PARSERS]
    pool.initializer, pool.initargs = die, ()
    raw = mail.attachment(300_000, "large")
    first = await client.post(f"/webhooks/{KEY}", data=raw, headers=RAW)
    pool.initializer = None
    retry = await client.post(f"/webhooks/{KEY}", data=raw, headers=RAW)
    detail = "the parser process stopped; send it again"
    assert await _refusal(first) == (503, {"error": "rejected", "detail": detail})
    assert (retry.status, await retry.read()) == (200, b"ok")
    assert await _stored() == 1


async def test_a_large_mailgun_mime_spends_its_token_from_the_worker_process(
    client: TestClient,
) -> None:
    await _channel()
    stored = _mailgun({"body-mime": mail.attachment(300_000, "large").decode()}, "a" * 50)
    refused = _mailgun({"body-mime": mail.many_headers(30_000, "junk").decode()}, "b" * 50)
    first = await client.post(f"/webhooks/{KEY}", data=stored, headers=FORM)
    replay = await client.post(f"/webhooks/{KEY}", data=stored, headers=FORM)
    junk = await client.post(f"/webhooks/{KEY}", data=refused, headers=FORM)
    assert (first.status, await first.read()) == (200, b"ok")
    assert await _refusal(replay) == (401, {"error": "rejected", "detail": "replayed token"})
    detail = "a header block is larger than 262144 bytes"
    assert await _refusal(junk) == (406, {"error": "rejected", "detail": detail})
    assert (client.app[keys.PARSERS].runs, list(email.TOKENS.seen)) == (3, ["a" * 50, "b" * 50])
    assert await _stored() == 1
