"""Messenger, Instagram, Bird and Vonage through the app into the database, on both backends.

The parsers are tested fixture by fixture in test_channel_<module>.py; these tests prove each
kind is wired end to end: signed exactly as its provider signs, stored once, refused unsigned.
"""

from __future__ import annotations

import base64
import email
import email.utils
import hashlib
import hmac
import time
import uuid
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.channels import vonage
from gateway.provision import known_kinds
from store.channels import upsert_channel
from store.models import Contact, Workspace
from tests import helpers as h
from tests.gateway.test_channel_bird import bird_signature
from tests.signing import load_fixture, meta_signature

SECRETS = {
    "messenger": {"app_secret": "fb-app-secret", "verify_token": "fb-verify"},
    "instagram": {"app_secret": "ig-app-secret", "verify_token": "ig-verify"},
    "bird_sms": {"signing_key": "bird-signing-key"},
    "vonage_sms": {"signature_secret": "vonage-secret", "signature_method": "sha256"},
}
EXPECTED = {  # kind -> (ack body, identity external_id, message text)
    "messenger": (b"EVENT_RECEIVED", "6732519843385021", None),
    "instagram": (b"EVENT_RECEIVED", None, None),
    "bird_sms": (b"ok", "+31612345678", "Hi! Where is order #1001? \U0001f4e6"),
    "vonage_sms": (b"ok", "+447700900001", "Hi! Where is order #1001?"),
}


async def _channel(kind: str) -> str:
    await h.workspace()
    info = await upsert_channel(
        "acme", kind, f"{kind}-acme-key", SECRETS[kind], known_kinds=known_kinds()
    )
    return info.key


async def _send(client: TestClient, kind: str, key: str, *, forge: bool = False) -> ClientResponse:
    path = f"/webhooks/{key}"
    secret = "not-the-secret" if forge else None
    if kind in ("messenger", "instagram"):
        body = load_fixture(kind, "text")
        signature = meta_signature(secret or SECRETS[kind]["app_secret"], body)
        return await client.post(path, data=body, headers={"X-Hub-Signature-256": signature})
    if kind == "bird_sms":
        body = load_fixture(kind, "channels__sms_inbound")
        stamp = str(int(time.time()))
        url = str(client.make_url(path))
        signature = bird_signature(secret or SECRETS[kind]["signing_key"], stamp, url, body)
        return await client.post(
            path,
            data=body,
            headers={"messagebird-signature": signature, "messagebird-request-timestamp": stamp},
        )
    params = dict(parse_qsl(load_fixture(kind, "sms__text").decode()))
    params["timestamp"] = str(int(time.time()))
    params["sig"] = vonage.signature(secret or SECRETS[kind]["signature_secret"], params, "sha256")
    return await client.post(
        path, data=urlencode(params), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


@pytest.mark.parametrize("kind", sorted(SECRETS))
async def test_signed_delivery_is_stored_once(client: TestClient, kind: str) -> None:
    key = await _channel(kind)
    ack, external_id, text = EXPECTED[kind]
    for _ in range(2):  # the second delivery is a duplicate
        response = await _send(client, kind, key)
        assert (response.status, await response.read()) == (200, ack)
    messages = await h.rows("SELECT type, text FROM message")
    identities = await h.rows("SELECT external_id FROM identity")
    assert len(messages) == 1 and len(identities) == 1
    if external_id is not None:
        assert identities[0]["external_id"] == external_id
    if text is not None:
        assert messages[0] == {"type": "text", "text": text}
    assert await h.scalar("SELECT used FROM plan_period") == 1


@pytest.mark.parametrize("kind", ["bird_sms", "vonage_sms"])  # Meta's: test_webhooks_meta_hub.py
async def test_forged_delivery_is_refused_and_nothing_is_stored(
    client: TestClient, kind: str
) -> None:
    key = await _channel(kind)
    response = await _send(client, kind, key, forge=True)
    assert response.status == 401
    assert (await response.json())["error"] == "rejected"
    assert await h.scalar("SELECT count(*) AS n FROM message") == 0
    assert await h.scalar("SELECT count(*) AS n FROM contact") == 0


EMAIL_SECRETS = {"signing_key": "mailgun-signing-key", "basic_auth": "mailer:s3cret"}


async def _email_channel() -> str:
    await h.workspace()
    info = await upsert_channel(
        "acme", "email", "email-acme-key", EMAIL_SECRETS, known_kinds=known_kinds()
    )
    return info.key


def _mailgun_form(token: str) -> str:
    params = dict(parse_qsl(load_fixture("email", "mailgun__forward").decode()))
    stamp = str(int(time.time()))
    digest = hmac.new(
        EMAIL_SECRETS["signing_key"].encode(), (stamp + token).encode(), hashlib.sha256
    ).hexdigest()
    params.update(timestamp=stamp, token=token, signature=digest)
    return urlencode(params)


async def test_mailgun_forward_is_stored_once_and_a_replay_is_refused(client: TestClient) -> None:
    key = await _email_channel()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    one, two = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2  # the token cache is per process
    first = await client.post(f"/webhooks/{key}", data=_mailgun_form(one), headers=form)
    again = await client.post(f"/webhooks/{key}", data=_mailgun_form(two), headers=form)
    replay = await client.post(f"/webhooks/{key}", data=_mailgun_form(two), headers=form)
    assert (first.status, again.status, replay.status) == (200, 200, 401)
    assert await h.scalar("SELECT count(*) AS n FROM message") == 1  # Message-ID dedupe
    [identity] = await h.rows("SELECT external_id, email FROM identity")
    assert identity["external_id"] == identity["email"]
    assert "@" in identity["email"] and identity["email"] == identity["email"].lower()


async def test_raw_mime_joins_the_contact_with_that_email(client: TestClient) -> None:
    key = await _email_channel()
    raw = load_fixture("email", "raw__plain")
    sender = email.utils.parseaddr(email.message_from_bytes(raw)["From"])[1].lower()
    await Contact.create(
        workspace=await Workspace.get(slug="acme"), email=sender, name="Known", source="manual"
    )
    auth = base64.b64encode(EMAIL_SECRETS["basic_auth"].encode()).decode()
    headers = {"Content-Type": "message/rfc822", "Authorization": f"Basic {auth}"}
    response = await client.post(f"/webhooks/{key}", data=raw, headers=headers)
    wrong = await client.post(
        f"/webhooks/{key}",
        data=raw,
        headers={**headers, "Authorization": "Basic " + base64.b64encode(b"mailer:nope").decode()},
    )
    assert (response.status, wrong.status) == (200, 401)
    assert await h.rows("SELECT name, email FROM contact") == [{"name": "Known", "email": sender}]
    assert await h.scalar("SELECT count(*) AS n FROM identity") == 1
