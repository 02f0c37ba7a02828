"""Messenger, Instagram, Bird and Vonage through the app into the database, on both backends.

The parsers are tested fixture by fixture in test_channel_<module>.py; these tests prove each
kind is wired end to end: signed exactly as its provider signs, stored once, refused unsigned.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.channels import vonage
from gateway.provision import known_kinds
from store.setup import upsert_channel
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


@pytest.mark.parametrize("kind", sorted(SECRETS))
async def test_forged_delivery_is_refused_and_nothing_is_stored(
    client: TestClient, kind: str
) -> None:
    key = await _channel(kind)
    response = await _send(client, kind, key, forge=True)
    assert response.status == 401
    assert (await response.json())["error"] == "rejected"
    assert await h.scalar("SELECT count(*) AS n FROM message") == 0
    assert await h.scalar("SELECT count(*) AS n FROM contact") == 0
