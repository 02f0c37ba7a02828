"""Meta's signature and GET handshake through real HTTP, the same for every Meta channel kind
(WhatsApp Cloud, Messenger, Instagram), on both backends: refusals are 401 / 403 / 400 naming
the reason and store nothing; the handshake echoes hub.challenge as text."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from gateway.provision import known_kinds
from store.channels import upsert_channel
from tests import helpers as h
from tests.gateway.test_webhooks_common import NOTHING, answer, counts
from tests.signing import load_fixture, meta_signature

SIGNATURE = "X-Hub-Signature-256"
MALFORMED_SIGNATURE = "malformed X-Hub-Signature-256: expected sha256=<hex digest>"
SECRETS = {  # WhatsApp's are the tests' usual ones (tests/helpers.py)
    "whatsapp": h.SECRETS["whatsapp"],
    "messenger": {"app_secret": "fb-app-secret", "verify_token": "fb-verify"},
    "instagram": {"app_secret": "ig-app-secret", "verify_token": "ig-verify"},
}
TAMPER = {"whatsapp": (b"#1001", b"#1009"), "messenger": (b"#1001", b"#1009")}
meta_kinds = pytest.mark.parametrize("kind", sorted(SECRETS))


async def _channel(kind: str) -> str:
    """Workspace acme with one channel of this Meta kind; its webhook path."""
    await h.workspace()
    info = await upsert_channel(
        "acme", kind, f"{kind}-acme-key", SECRETS[kind], known_kinds=known_kinds()
    )
    return f"/webhooks/{info.key}"


def signed(kind: str, body: bytes, secret: str | None = None) -> dict[str, str]:
    """Headers of a request Meta signed (with the channel's app secret unless `secret`)."""
    signature = meta_signature(secret or SECRETS[kind]["app_secret"], body)
    return {SIGNATURE: signature, "Content-Type": "application/json"}


def signature_cases(kind: str) -> dict[str, tuple[bytes, dict[str, str], str]]:
    """Case -> (body, headers, the refusal's detail)."""
    text = load_fixture(kind, "text")
    good_digest = meta_signature(SECRETS[kind]["app_secret"], text).removeprefix("sha256=")
    tampered = text.replace(*TAMPER.get(kind, (b"Canada", b"Mexico")))
    assert tampered != text
    return {
        "missing": (text, {}, "missing X-Hub-Signature-256"),
        "wrong-value": (text, {SIGNATURE: "sha256=" + "0" * 64}, "wrong X-Hub-Signature-256"),
        "another-secret": (
            text,
            signed(kind, text, "another-app-secret"),
            "wrong X-Hub-Signature-256",
        ),
        "tampered-body": (tampered, signed(kind, text), "wrong X-Hub-Signature-256"),
        "no-prefix": (text, {SIGNATURE: good_digest}, MALFORMED_SIGNATURE),
        "sha1-prefix": (text, {SIGNATURE: "sha1=" + good_digest}, MALFORMED_SIGNATURE),
        "empty-digest": (text, {SIGNATURE: "sha256="}, MALFORMED_SIGNATURE),
    }


@meta_kinds
async def test_unsigned_or_badly_signed_notifications_are_401s_and_store_nothing(
    client: TestClient, kind: str
) -> None:
    path = await _channel(kind)
    cases = signature_cases(kind)
    answers = {
        case: await answer(await client.post(path, data=body, headers=headers))
        for case, (body, headers, _) in cases.items()
    }
    assert answers == {
        case: (401, {"error": "rejected", "detail": detail})
        for case, (_, _, detail) in cases.items()
    }
    assert await counts() == NOTHING


@meta_kinds
async def test_handshake_with_the_verify_token_echoes_the_challenge(
    client: TestClient, kind: str
) -> None:
    path = await _channel(kind)
    token = SECRETS[kind]["verify_token"]
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "11582"}
    resp = await client.get(path, params=query)
    assert (resp.status, resp.content_type, await resp.text()) == (200, "text/plain", "11582")


def handshake_cases(token: str) -> dict[str, tuple[dict[str, str], str]]:
    """Case -> (query without hub.challenge, the refusal's detail)."""
    return {
        "wrong-token": (
            {"hub.mode": "subscribe", "hub.verify_token": "guess"},
            "wrong hub.verify_token",
        ),
        "no-token": ({"hub.mode": "subscribe"}, "wrong hub.verify_token"),
        "wrong-mode": (
            {"hub.mode": "unsubscribe", "hub.verify_token": token},
            "hub.mode must be subscribe",
        ),
        "no-mode": ({"hub.verify_token": token}, "hub.mode must be subscribe"),
    }


@meta_kinds
async def test_handshakes_without_the_verify_token_are_403s(client: TestClient, kind: str) -> None:
    path = await _channel(kind)
    cases = handshake_cases(SECRETS[kind]["verify_token"])
    answers = {
        case: await answer(await client.get(path, params=query | {"hub.challenge": "11582"}))
        for case, (query, _) in cases.items()
    }
    assert answers == {
        case: (403, {"error": "forbidden", "detail": detail}) for case, (_, detail) in cases.items()
    }


@meta_kinds
async def test_handshake_with_the_right_token_but_no_challenge_is_a_400(
    client: TestClient, kind: str
) -> None:
    path = await _channel(kind)
    query = {"hub.mode": "subscribe", "hub.verify_token": SECRETS[kind]["verify_token"]}
    response = await client.get(path, params=query)
    assert await answer(response) == (400, {"error": "rejected", "detail": "missing hub.challenge"})
